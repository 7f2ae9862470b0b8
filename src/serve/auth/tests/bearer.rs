//! Bearer tokens and the policy: 401 for an unknown caller, 403 naming the
//! role needed for a known one.

use super::*;

#[tokio::test]
async fn no_credentials_is_a_401_that_asks_for_a_bearer_token() {
    let access = Access::new(&config(""));
    let answer = send(&access, build(Method::GET, "/api/status").body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header(header::WWW_AUTHENTICATE), "Bearer realm=\"runwell\"");
    assert_eq!(answer.header(header::CONTENT_TYPE), "application/json");
    assert_eq!(
        answer.json(),
        json!({"error": "sign in first: send `Authorization: Bearer TOKEN`, or log in to the dashboard with your token"})
    );
}

#[tokio::test]
async fn a_wrong_token_is_a_401_that_does_not_repeat_it() {
    let access = Access::new(&config(""));
    let wrong = format!("{OPERATOR}x");
    let request =
        build(Method::GET, "/api/status").header(header::AUTHORIZATION, format!("Bearer {wrong}")).body(Body::empty());
    let answer = send(&access, request.unwrap()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header(header::WWW_AUTHENTICATE), "Bearer realm=\"runwell\", error=\"invalid_token\"");
    assert!(answer.json()["error"].as_str().unwrap().starts_with("this bearer token is not valid"));
    assert!(!answer.body.contains(&wrong) && !answer.body.contains(OPERATOR));

    let request = build(Method::GET, "/api/status").header(header::AUTHORIZATION, format!("Basic {OPERATOR}"));
    let answer = send(&access, request.body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json(), json!({"error": "the `Authorization` header must read `Bearer TOKEN`"}));
}

#[tokio::test]
async fn a_right_token_names_its_caller() {
    let access = Access::new(&config(""));
    for scheme in ["Bearer", "bearer"] {
        let request = build(Method::GET, "/api/status").header(header::AUTHORIZATION, format!("{scheme} {VIEWER}"));
        let answer = send(&access, request.body(Body::empty()).unwrap()).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.json(), json!({"name": "vera", "role": "viewer", "via": "token"}));
    }
}

#[tokio::test]
async fn a_viewer_may_not_start_a_run() {
    let access = Access::new(&config(""));
    let answer = start_as(&access, VIEWER, None, "read").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.json(),
        json!({"error": "starting a read-only procedure needs the `operator` role; `vera` has `viewer`", "needed": "operator"})
    );
    assert_eq!(answer.header(header::WWW_AUTHENTICATE), "", "a 403 asks for no other credential");
}

#[tokio::test]
async fn environments_set_who_may_run_what() {
    let access = Access::new(&config(""));
    let answer = start_as(&access, OPERATOR, Some("prod"), "destructive").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.json(),
        json!({"error": "starting a destructive procedure in `prod` needs the `admin` role; `otto` has `operator`", "needed": "admin"})
    );
    // `prod` keeps even writes for admins.
    let answer = start_as(&access, OPERATOR, Some("prod"), "write").await;
    assert_eq!(answer.json()["needed"], "admin");
    // `staging` lets operators run destructive procedures.
    let answer = start_as(&access, OPERATOR, Some("staging"), "destructive").await;
    assert_eq!((answer.status, answer.json()), (StatusCode::OK, json!({"started_by": "otto"})));
    // Without limits of its own, `dev` follows the defaults: operators
    // read and write, destructive procedures need an admin.
    assert_eq!(start_as(&access, OPERATOR, Some("dev"), "write").await.status, StatusCode::OK);
    assert_eq!(start_as(&access, OPERATOR, Some("dev"), "read").await.status, StatusCode::OK);
    assert_eq!(start_as(&access, OPERATOR, Some("dev"), "destructive").await.json()["needed"], "admin");
    assert_eq!(start_as(&access, OPERATOR, None, "destructive").await.json()["needed"], "admin");
    assert_eq!(start_as(&access, ADMIN, Some("prod"), "destructive").await.status, StatusCode::OK);
}

#[tokio::test]
async fn require_turns_away_a_lower_role_naming_the_one_needed() {
    let access = Access::new(&config(""));
    let request = |token: &str| {
        build(Method::POST, "/api/reload").header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty())
    };
    let answer = send(&access, request(OPERATOR).unwrap()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.json(),
        json!({"error": "`POST /api/reload` needs the `admin` role; `otto` has `operator`", "needed": "admin"})
    );
    let answer = send(&access, request(ADMIN).unwrap()).await;
    assert_eq!((answer.status, answer.json()), (StatusCode::OK, json!({"reloaded_by": "ada"})));
}

#[tokio::test]
async fn a_bearer_request_needs_no_csrf_token() {
    let access = Access::new(&config(""));
    let answer = start_as(&access, OPERATOR, Some("dev"), "write").await;
    assert_eq!((answer.status, answer.json()), (StatusCode::OK, json!({"started_by": "otto"})));
    let form = build(Method::POST, "/runs/form")
        .header(header::AUTHORIZATION, format!("Bearer {OPERATOR}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("procedure=drain"))
        .unwrap();
    assert_eq!(send(&access, form).await.json(), json!({"started_by": "otto", "procedure": "drain"}));
}

#[tokio::test]
async fn a_wrong_bearer_token_does_not_fall_back_to_the_cookie() {
    let access = Access::new(&config(""));
    let (cookie, _) = log_in(&access, ADMIN).await;
    let request = request_with_cookie(Method::GET, "/api/status", &cookie)
        .header(header::AUTHORIZATION, "Bearer wrong")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&access, request).await.status, StatusCode::UNAUTHORIZED);
}

#[test]
fn the_policy_table() {
    let policy = Policy::from_config(&config("").limits);
    let caller = |role| Caller { name: "c".into(), role, via: Via::Token };
    assert_eq!(policy.needed(&Action::View), Role::Viewer);
    assert_eq!(policy.needed(&Action::CheckNow), Role::Operator);
    // Answering in a run needs what starting it needs: the default limits
    // keep a destructive step's confirmation to admins.
    let answer = |safety| Action::Answer { environment: Some("prod".into()), safety };
    assert_eq!(policy.needed(&answer(Safety::Read)), Role::Operator);
    assert_eq!(policy.needed(&answer(Safety::Destructive)), Role::Admin);
    assert_eq!(
        policy.permits(&caller(Role::Operator), &answer(Safety::Destructive)).unwrap_err().to_string(),
        "answering in a run of a destructive procedure in `prod` needs the `admin` role; `c` has `operator`"
    );
    assert_eq!(policy.needed(&Action::Abort), Role::Operator);
    assert_eq!(policy.needed(&Action::Admin), Role::Admin);
    assert!(policy.permits(&caller(Role::Viewer), &Action::View).is_ok());
    assert_eq!(
        policy.permits(&caller(Role::Operator), &Action::Admin).unwrap_err().to_string(),
        "administering runwell needs the `admin` role; `c` has `operator`"
    );

    // An entry without an environment rules the others and runs without one.
    let catch_all = LimitConfig { environment: None, read: Role::Admin, write: Role::Admin, destructive: Role::Admin };
    let policy = Policy::from_config(&[catch_all]);
    let start =
        |environment: Option<&str>, safety| Action::StartRun { environment: environment.map(Into::into), safety };
    assert_eq!(policy.needed(&start(Some("dev"), Safety::Read)), Role::Admin);
    assert_eq!(policy.needed(&start(None, Safety::Read)), Role::Admin);

    // A policy built by hand still never lets a viewer start a run.
    let lax = LimitConfig { environment: None, read: Role::Viewer, write: Role::Viewer, destructive: Role::Viewer };
    assert_eq!(Policy::from_config(&[lax]).needed(&start(None, Safety::Destructive)), Role::Operator);
}

#[test]
fn role_names() {
    assert_eq!("operator".parse::<Role>(), Ok(Role::Operator));
    assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
    assert_eq!(
        "oprator".parse::<Role>().unwrap_err().to_string(),
        "unknown role `oprator` (did you mean `operator`?): roles are `viewer`, `operator` and `admin`"
    );
}
