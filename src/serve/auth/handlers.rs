//! The login and logout endpoints, for the dashboard's login form: `POST
//! /login` with a `token` (and an optional local `next` path) opens a
//! session and redirects (303) with the cookie set; `POST /logout` ends it.
//! The form page itself is the dashboard's.

use std::fmt;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Form, FromRef, FromRequest, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

use super::extract::same_origin;
use super::{Access, AuthError, cookie};

/// The login form. The token is wiped from memory when the form is dropped
/// and prints as `********`.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(deserialize_with = "secret")]
    token: Zeroizing<String>,
    #[serde(default)]
    next: Option<String>,
}

fn secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Zeroizing<String>, D::Error> {
    String::deserialize(deserializer).map(Zeroizing::new)
}

impl fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginForm").field("token", &"********").field("next", &self.next).finish()
    }
}

/// `POST /login` and `POST /logout`, for a server whose state gives [`Access`].
pub fn routes<S>() -> Router<S>
where
    Access: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new().route("/login", post(login)).route("/logout", post(logout))
}

/// Opens a session for a pasted token: 303 to `next` (a path on this
/// server) or `/`, with the session cookie; 401 JSON for a wrong token.
/// A post from another site's page is refused, so nobody can log a
/// browser in under their own name.
pub async fn login(
    State(access): State<Access>,
    parts: Parts,
    Form(form): Form<LoginForm>,
) -> Result<Response, AuthError> {
    if !same_origin(&parts) {
        return Err(AuthError::CrossOrigin("a page from another site may not log you in to runwell"));
    }
    let current = access.current();
    let session = access.sessions().login(&current.tokens, &form.token).inspect_err(|error| {
        // Never the token: only that a login failed, and why.
        tracing::warn!(%error, "dashboard login refused");
    })?;
    tracing::info!(caller = %session.caller.name, role = session.caller.role.as_str(), "dashboard login");
    let location = local_path(form.next.as_deref());
    let mut response = see_other(location);
    let headers = response.headers_mut();
    headers.insert(header::SET_COOKIE, cookie::set(&session.id, session.ttl, access.secure_cookies(&parts)));
    Ok(response)
}

/// Ends the request's session and clears its cookie: 303 to `/`. A live
/// session must send its CSRF token (`csrf` field or `X-CSRF-Token`).
pub async fn logout(State(access): State<Access>, parts: Parts, body: Bytes) -> Result<Response, AuthError> {
    if let Some(id) = cookie::read(&parts.headers)
        && let Some(active) = access.sessions().find(id)
    {
        let request = Request::from_parts(parts.clone(), Body::from(body));
        let field = Form::<CsrfOnly>::from_request(request, &()).await.ok().and_then(|Form(form)| form.csrf);
        let header = parts.headers.get("x-csrf-token").and_then(|value| value.to_str().ok());
        let presented = header
            .or(field.as_deref())
            .ok_or(AuthError::Csrf("logging out needs the page's CSRF token: reload the page and log out again"))?;
        if !active.csrf.matches(presented.trim()) {
            return Err(AuthError::Csrf("this CSRF token does not belong to your session: reload the page"));
        }
        access.sessions().logout(id);
        tracing::info!(caller = %active.caller.name, "dashboard logout");
    }
    let mut response = see_other("/");
    for value in cookie::clear() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: Option<String>,
}

/// `next` if it is a path on this server, else `/`: never a redirect to
/// another site (`//evil.example`, `/\evil.example`, `https://…`).
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && path.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            path
        }
        _ => "/",
    }
}

fn see_other(location: &str) -> Response {
    let location = HeaderValue::from_str(location).unwrap_or_else(|_| HeaderValue::from_static("/"));
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(header::LOCATION, location);
    // The answer carries a session cookie: no cache may keep it.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
