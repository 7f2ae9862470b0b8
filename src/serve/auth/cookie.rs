//! The session cookie: `HttpOnly` (scripts cannot read it), `SameSite=Strict`
//! (other sites' pages cannot make the browser send it), `Path=/`, a
//! `Max-Age` of the session's lifetime, and `Secure` when the server is
//! reached over https. A `Secure` cookie takes the `__Host-` prefix, which
//! browsers accept only from a secure origin without a `Domain`, so a
//! neighbouring subdomain cannot plant one.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};

use super::SessionId;

/// The cookie's name over https.
pub const SECURE_NAME: &str = "__Host-runwell_session";
/// The cookie's name over plain http (loopback, or behind a proxy that
/// terminates TLS without saying so).
pub const PLAIN_NAME: &str = "runwell_session";

fn name(secure: bool) -> &'static str {
    if secure { SECURE_NAME } else { PLAIN_NAME }
}

/// `Set-Cookie` for a new session.
pub fn set(id: &SessionId, ttl: Duration, secure: bool) -> HeaderValue {
    let secure_attribute = if secure { "; Secure" } else { "" };
    let value = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure_attribute}",
        name(secure),
        id.expose(),
        ttl.as_secs()
    );
    // Hex ids and fixed attributes are always a valid header value.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Set-Cookie` values that make the browser drop either cookie.
pub fn clear() -> [HeaderValue; 2] {
    [
        HeaderValue::from_static("__Host-runwell_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure"),
        HeaderValue::from_static("runwell_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    ]
}

/// The session id a request's `Cookie` headers carry, preferring the
/// `__Host-` cookie when both are there.
pub fn read(headers: &HeaderMap) -> Option<&str> {
    let mut plain = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            let Some((name, id)) = pair.trim().split_once('=') else { continue };
            let id = id.trim().trim_matches('"');
            if id.is_empty() {
                continue;
            }
            match name.trim() {
                SECURE_NAME => return Some(id),
                PLAIN_NAME => plain = plain.or(Some(id)),
                _ => {}
            }
        }
    }
    plain
}
