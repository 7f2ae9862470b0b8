//! Browser sessions: the login form, the cookie, CSRF tokens, expiry,
//! logout and configuration reloads.

use super::*;

#[tokio::test]
async fn a_login_sets_a_strict_http_only_cookie_for_the_session_ttl() {
    let access = Access::new(&config(""));
    let answer = send(&access, login_request().body(Body::from(format!("token={OPERATOR}"))).unwrap()).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.header(header::LOCATION), "/");
    assert_eq!(answer.header(header::CACHE_CONTROL), "no-store");
    let cookie = answer.header(header::SET_COOKIE);
    let (pair, attributes) = cookie.split_once("; ").unwrap();
    let (name, id) = pair.split_once('=').unwrap();
    assert_eq!(name, "runwell_session");
    assert_eq!(id.len(), 64, "256 random bits in hex");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(attributes, "Path=/; HttpOnly; SameSite=Strict; Max-Age=43200", "no `Secure` over plain http");
    assert_eq!(access.sessions().len(), 1);

    // Two logins never share an id.
    let again = send(&access, login_request().body(Body::from(format!("token={OPERATOR}"))).unwrap()).await;
    assert_ne!(again.header(header::SET_COOKIE), cookie);
}

#[tokio::test]
async fn the_cookie_is_secure_when_the_server_is_reached_over_https() {
    let secure = |answer: &Answer| {
        let cookie = answer.header(header::SET_COOKIE).to_string();
        assert!(cookie.starts_with("__Host-runwell_session="), "{cookie}");
        assert!(cookie.ends_with("; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure"), "{cookie}");
    };
    let body = || Body::from(format!("token={ADMIN}"));

    let behind_tls_proxy = Access::new(&config(""));
    let request = login_request().header("x-forwarded-proto", "https").body(body()).unwrap();
    secure(&send(&behind_tls_proxy, request).await);

    let mut request = login_request().body(body()).unwrap();
    request.extensions_mut().insert(OverTls);
    secure(&send(&behind_tls_proxy, request).await);

    let public_https = Access::new(&config("public_url = \"https://runwell.example.com\"\n"));
    secure(&send(&public_https, login_request().body(body()).unwrap()).await);

    // The `__Host-` cookie is read back like the plain one.
    let answer = send(&public_https, login_request().body(body()).unwrap()).await;
    let cookie = answer.header(header::SET_COOKIE).split(';').next().unwrap().to_string();
    let status =
        send(&public_https, request_with_cookie(Method::GET, "/api/status", &cookie).body(Body::empty()).unwrap());
    assert_eq!(status.await.json(), json!({"name": "ada", "role": "admin", "via": "session"}));
}

#[tokio::test]
async fn a_wrong_login_sets_no_cookie_and_does_not_repeat_the_token() {
    let access = Access::new(&config(""));
    let wrong = "not-a-configured-token-123456";
    let answer = send(&access, login_request().body(Body::from(format!("token={wrong}"))).unwrap()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header(header::SET_COOKIE), "");
    assert_eq!(
        answer.json(),
        json!({"error": "that token is not valid: paste a token whose SHA-256 is in runwell's `[[tokens]]`"})
    );
    assert!(access.sessions().is_empty());
}

#[tokio::test]
async fn a_login_goes_on_to_a_local_page_only() {
    let access = Access::new(&config(""));
    for (next, location) in [
        ("%2Fruns%2F42%3Ftab%3Dlog", "/runs/42?tab=log"),
        ("%2F%2Fevil.example%2F", "/"),
        ("%2F%5Cevil.example", "/"),
        ("https%3A%2F%2Fevil.example%2F", "/"),
    ] {
        let body = Body::from(format!("token={VIEWER}&next={next}"));
        let answer = send(&access, login_request().body(body).unwrap()).await;
        assert_eq!(answer.header(header::LOCATION), location, "next={next}");
    }
}

#[tokio::test]
async fn another_site_cannot_log_a_browser_in() {
    let access = Access::new(&config(""));
    let body = || Body::from(format!("token={VIEWER}"));
    let cross_site = login_request().header("sec-fetch-site", "cross-site").body(body()).unwrap();
    let answer = send(&access, cross_site).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.header(header::SET_COOKIE), "");
    let other_origin = login_request().header(header::ORIGIN, "https://evil.example").body(body()).unwrap();
    assert_eq!(send(&access, other_origin).await.status, StatusCode::FORBIDDEN);
    let same_origin = login_request().header(header::ORIGIN, "http://runwell.test").body(body()).unwrap();
    assert_eq!(send(&access, same_origin).await.status, StatusCode::SEE_OTHER);
    assert_eq!(access.sessions().len(), 1);
}

#[tokio::test]
async fn a_session_reads_freely_but_changes_only_with_its_csrf_token() {
    let access = Access::new(&config(""));
    let (cookie, csrf) = log_in(&access, OPERATOR).await;

    let answer = send(&access, request_with_cookie(Method::GET, "/api/status", &cookie).body(Body::empty()).unwrap());
    assert_eq!(answer.await.json(), json!({"name": "otto", "role": "operator", "via": "session"}));

    let post = || run_request().header(header::COOKIE, &cookie);
    let answer = send(&access, post().body(run_body(Some("dev"), "write")).unwrap()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.json(),
        json!({"error": "this request changes something but carries no CSRF token: reload the page and submit the form again"})
    );

    let wrong = post().header("x-csrf-token", "0".repeat(64)).body(run_body(Some("dev"), "write")).unwrap();
    let answer = send(&access, wrong).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.json()["error"].as_str().unwrap().contains("does not belong to your session"));

    let right = post().header("x-csrf-token", &csrf).body(run_body(Some("dev"), "write")).unwrap();
    let answer = send(&access, right).await;
    assert_eq!((answer.status, answer.json()), (StatusCode::OK, json!({"started_by": "otto"})));

    // Another session's token does not do.
    let (_, other_csrf) = log_in(&access, OPERATOR).await;
    let crossed = post().header("x-csrf-token", &other_csrf).body(run_body(Some("dev"), "write")).unwrap();
    assert_eq!(send(&access, crossed).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_form_may_carry_the_csrf_token_in_a_field() {
    let access = Access::new(&config(""));
    let (cookie, csrf) = log_in(&access, OPERATOR).await;
    let form = |body: String| {
        request_with_cookie(Method::POST, "/runs/form", &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let answer = send(&access, form("procedure=restart".into())).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.json()["error"].as_str().unwrap().contains("carries no CSRF token"));
    let answer = send(&access, form(format!("procedure=restart&csrf={}", "f".repeat(64)))).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = send(&access, form(format!("procedure=restart&csrf={csrf}"))).await;
    assert_eq!((answer.status, answer.json()), (StatusCode::OK, json!({"started_by": "otto", "procedure": "restart"})));
}

#[tokio::test(start_paused = true)]
async fn a_session_expires_after_its_ttl() {
    let access = Access::new(&config("session_ttl = \"1h\"\n"));
    let (cookie, _) = log_in(&access, VIEWER).await;
    let status = || request_with_cookie(Method::GET, "/api/status", &cookie).body(Body::empty()).unwrap();

    tokio::time::advance(Duration::from_secs(3599)).await;
    assert_eq!(send(&access, status()).await.status, StatusCode::OK);

    tokio::time::advance(Duration::from_secs(1)).await;
    let answer = send(&access, status()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header(header::WWW_AUTHENTICATE), "Bearer realm=\"runwell\"");
    assert_eq!(answer.json(), json!({"error": "your session has expired or was logged out: log in again"}));
    assert!(access.sessions().is_empty(), "an expired session is dropped when seen");

    // A page offers the login form instead.
    let page = send(&access, request_with_cookie(Method::GET, "/page", &cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(page.json(), json!({"caller": null, "csrf": null}));
}

#[tokio::test(start_paused = true)]
async fn logins_prune_expired_sessions() {
    let access = Access::new(&config("session_ttl = \"1m\"\n"));
    log_in(&access, VIEWER).await;
    log_in(&access, VIEWER).await;
    tokio::time::advance(Duration::from_secs(61)).await;
    log_in(&access, ADMIN).await;
    assert_eq!(access.sessions().len(), 1);
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    let access = Access::new(&config(""));
    let (cookie, csrf) = log_in(&access, OPERATOR).await;
    let logout = |body: String| {
        request_with_cookie(Method::POST, "/logout", &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let status = || request_with_cookie(Method::GET, "/api/status", &cookie).body(Body::empty()).unwrap();

    // Without its CSRF token another site's page could log people out.
    assert_eq!(send(&access, logout(String::new())).await.status, StatusCode::FORBIDDEN);
    assert_eq!(send(&access, status()).await.status, StatusCode::OK);

    let answer = send(&access, logout(format!("csrf={csrf}"))).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.header(header::LOCATION), "/");
    let cleared: Vec<&str> = answer.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(
        cleared,
        [
            "__Host-runwell_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure",
            "runwell_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        ]
    );
    assert_eq!(send(&access, status()).await.status, StatusCode::UNAUTHORIZED);
    assert!(access.sessions().is_empty());

    // Logging out again, or with no session, just clears the cookie.
    assert_eq!(send(&access, logout(String::new())).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_reload_ends_the_sessions_of_removed_tokens_and_applies_new_roles() {
    let access = Access::new(&config(""));
    let (vera, _) = log_in(&access, VIEWER).await;
    let (otto, _) = log_in(&access, OPERATOR).await;
    let status = |cookie: &str| request_with_cookie(Method::GET, "/api/status", cookie).body(Body::empty()).unwrap();

    // otto is gone; vera is promoted.
    let text = format!(
        "[[tokens]]\nname = \"vera\"\nrole = \"operator\"\nsha256 = \"{}\"\n[[tokens]]\nname = \"ada\"\nrole = \"admin\"\nsha256 = \"{}\"\n",
        sha256_hex(VIEWER),
        sha256_hex(ADMIN)
    );
    access.reload(&Config::from_str(&text, Path::new("runwell.toml")).unwrap());
    assert_eq!(send(&access, status(&otto)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(send(&access, status(&vera)).await.json()["role"], "operator");
    assert_eq!(start_as(&access, OPERATOR, None, "read").await.status, StatusCode::UNAUTHORIZED);
}
