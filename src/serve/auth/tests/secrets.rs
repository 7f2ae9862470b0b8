//! Secrets are compared in constant time and never shown.

use super::*;

/// `Probe::<T>::PARTIAL_EQ` is true exactly when `T: PartialEq`: the
/// inherent constant applies when its bound holds, the trait's otherwise.
struct Probe<T: ?Sized>(PhantomData<T>);
trait Fallback {
    const PARTIAL_EQ: bool = false;
}
impl<T: ?Sized> Fallback for Probe<T> {}
impl<T: ?Sized + PartialEq> Probe<T> {
    const PARTIAL_EQ: bool = true;
}

#[test]
fn secrets_are_compared_in_constant_time_only() {
    // No `==` on digests or CSRF tokens can creep in: it would not compile.
    // Checked while compiling: the probe sees `PartialEq` where there is one.
    const { assert!(Probe::<String>::PARTIAL_EQ) };
    const { assert!(!Probe::<TokenDigest>::PARTIAL_EQ) };
    const { assert!(!Probe::<CsrfToken>::PARTIAL_EQ) };
    const { assert!(!Probe::<SessionId>::PARTIAL_EQ) };

    let tokens = Tokens::from_config(&config("").tokens);
    assert_eq!(tokens.verify(OPERATOR).map(|c| c.name), Some("otto".into()));
    assert_eq!(tokens.verify(&format!("  {OPERATOR}\n")).map(|c| c.name), Some("otto".into()), "pasted with a newline");
    let mut near = OPERATOR.to_string();
    near.pop();
    assert!(tokens.verify(&near).is_none());
    assert!(tokens.verify(&format!("{near}1")).is_none());
    assert!(tokens.verify("").is_none() && tokens.verify("   ").is_none());
    assert!(Tokens::default().verify(OPERATOR).is_none());
}

#[tokio::test]
async fn no_token_session_id_or_csrf_token_shows_in_debug_output_or_answers() {
    let access = Access::new(&config(""));
    let login = send(&access, login_request().body(Body::from(format!("token={ADMIN}"))).unwrap()).await;
    let cookie = login.header(header::SET_COOKIE).split(';').next().unwrap().to_string();
    let session_id = cookie.split_once('=').unwrap().1.to_string();
    let session = access.sessions().find(&session_id).unwrap();
    let csrf = session.csrf.expose().to_string();
    let new = access.sessions().login(&Tokens::from_config(&config("").tokens), VIEWER).unwrap();
    let form: LoginForm = serde_urlencoded_form(&format!("token={ADMIN}&next=%2F"));

    let outputs = [
        format!("{access:?}"),
        format!("{:?}", access.sessions()),
        format!("{session:?}"),
        format!("{new:?}"),
        format!("{form:?}"),
        format!("{:?}", config("")),
        format!("{:?}", Tokens::from_config(&config("").tokens)),
        login.body.clone(),
        format!("{login:?}", login = login.headers.get(header::LOCATION)),
    ];
    let secrets = [VIEWER, OPERATOR, ADMIN, &session_id, &csrf, new.id.expose(), new.csrf.expose()];
    for output in &outputs {
        for secret in &secrets {
            assert!(!output.contains(secret), "{output}");
        }
        for digest in [sha256_hex(VIEWER), sha256_hex(ADMIN)] {
            assert!(!output.contains(&digest), "{output}");
        }
    }
    assert!(format!("{new:?}").contains("SessionId(********)") && format!("{new:?}").contains("CsrfToken(********)"));
    assert_eq!(format!("{form:?}"), "LoginForm { token: \"********\", next: Some(\"/\") }");

    // Every rejection's body, too.
    for request in [
        build(Method::GET, "/api/status").header(header::AUTHORIZATION, format!("Bearer {ADMIN}x")),
        build(Method::POST, "/api/reload").header(header::AUTHORIZATION, format!("Bearer {VIEWER}")),
        request_with_cookie(Method::POST, "/api/reload", &cookie).header("x-csrf-token", format!("{csrf}0")),
        login_request().header("sec-fetch-site", "cross-site"),
    ] {
        let answer = send(&access, request.body(Body::from(format!("token={OPERATOR}x"))).unwrap()).await;
        assert!(answer.status.is_client_error());
        for secret in &secrets {
            assert!(!answer.body.contains(secret), "{}", answer.body);
        }
    }
}

fn serde_urlencoded_form<T: serde::de::DeserializeOwned>(body: &str) -> T {
    axum::extract::Query::<T>::try_from_uri(&format!("/?{body}").parse().unwrap()).unwrap().0
}
