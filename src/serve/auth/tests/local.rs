//! No tokens configured: this machine only, as the local admin.

use super::*;

fn local_request(method: Method, path: &str, peer: &str) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(path).header(header::HOST, "127.0.0.1:7070");
    request = request.header(header::CONTENT_TYPE, "application/json");
    let mut request = request.body(run_body(Some("prod"), "destructive")).unwrap();
    request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    request
}

#[tokio::test]
async fn without_tokens_only_this_machine_gets_in_as_the_local_admin() {
    let access = Access::new(&Config::from_str("", Path::new("runwell.toml")).unwrap());
    assert!(access.is_open());
    let answer = send(&access, local_request(Method::GET, "/api/status", "127.0.0.1:50000")).await;
    assert_eq!(answer.json(), json!({"name": "local", "role": "admin", "via": "local"}));
    let answer = send(&access, local_request(Method::GET, "/api/status", "[::ffff:127.0.0.1]:50000")).await;
    assert_eq!(answer.status, StatusCode::OK);
    let answer = send(&access, local_request(Method::POST, "/api/runs", "[::1]:50000")).await;
    assert_eq!(answer.json(), json!({"started_by": "local"}));

    // Another machine (a documentation address; the request never leaves
    // this process) is told to get a token.
    let answer = send(&access, local_request(Method::GET, "/api/status", "192.0.2.7:50000")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.json()["error"].as_str().unwrap().starts_with("runwell has no `[[tokens]]` configured"));

    // Without the peer address (served without connect info) nobody gets in.
    let request = build(Method::GET, "/api/status").body(Body::empty()).unwrap();
    assert_eq!(send(&access, request).await.status, StatusCode::UNAUTHORIZED);

    // A name rebound to 127.0.0.1 by another site's DNS gets nothing.
    let mut rebound = local_request(Method::GET, "/api/status", "127.0.0.1:50000");
    rebound.headers_mut().insert(header::HOST, "evil.example:7070".parse().unwrap());
    assert_eq!(send(&access, rebound).await.status, StatusCode::UNAUTHORIZED);

    // Another site's page may not make this machine's browser change anything.
    let mut cross = local_request(Method::POST, "/api/runs", "127.0.0.1:50000");
    cross.headers_mut().insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    let answer = send(&access, cross).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.json(),
        json!({"error": "a page from another site may not change runwell: use runwell's own pages"})
    );
    let mut own = local_request(Method::POST, "/api/runs", "127.0.0.1:50000");
    own.headers_mut().insert(header::ORIGIN, "http://127.0.0.1:7070".parse().unwrap());
    assert_eq!(send(&access, own).await.status, StatusCode::OK);
}
