//! axum extractors: [`Authenticated`] (any caller), [`Require`] (a caller
//! with at least a role), [`AuthenticatedForm`] (a caller and a form whose
//! `csrf` field may carry the CSRF token) and [`Csrf`] (the token to render
//! into a session's pages). Their rejection, [`AuthError`], answers JSON
//! `{"error": "…"}`: 401 with `WWW-Authenticate: Bearer` when the caller is
//! unknown, 403 when a known caller may not, or forgot the CSRF token.
//!
//! Which credential counts, in order: with no tokens configured, the peer
//! address (loopback only; any credential is ignored); else the
//! `Authorization` header if there is one (a wrong bearer token is a 401,
//! never a fall-back to the cookie); else the session cookie.

use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, FormRejection};
use axum::extract::{ConnectInfo, Form, FromRef, FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::sessions::Active;
use super::{Access, Caller, CsrfToken, Denied, LoginError, Role, cookie};

const NO_CREDENTIALS: &str =
    "sign in first: send `Authorization: Bearer TOKEN`, or log in to the dashboard with your token";
const BAD_SCHEME: &str = "the `Authorization` header must read `Bearer TOKEN`";
const BAD_TOKEN: &str =
    "this bearer token is not valid: use a token whose SHA-256 is in runwell's `[[tokens]]`, or ask an admin for one";
const SESSION_GONE: &str = "your session has expired or was logged out: log in again";
const NOT_LOCAL: &str = "runwell has no `[[tokens]]` configured, so it answers requests from this machine only: \
                         ask its admin for a token";
const NOT_LOCAL_HOST: &str = "runwell has no `[[tokens]]` configured, so it answers only requests addressed to \
                              `localhost` or a loopback address";
const CSRF_MISSING: &str =
    "this request changes something but carries no CSRF token: reload the page and submit the form again";
const CSRF_WRONG: &str = "this request's CSRF token does not belong to your session: reload the page and submit again";
const CROSS_ORIGIN: &str = "a page from another site may not change runwell: use runwell's own pages";

/// Why a request was turned away. Messages never hold a credential.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No usable credential: 401.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// A bearer token that matches no configured token: 401.
    #[error("{0}")]
    InvalidToken(&'static str),
    /// A cookie-authenticated change without the session's CSRF token: 403.
    #[error("{0}")]
    Csrf(&'static str),
    /// A change requested by another site's page: 403.
    #[error("{0}")]
    CrossOrigin(&'static str),
    /// A known caller whose role is too low: 403 naming the role needed.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// A login that failed: 401, or 500 if no session could be made.
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error(transparent)]
    Form(#[from] FormRejection),
    #[error(transparent)]
    Body(#[from] BytesRejection),
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let (status, needed) = match &self {
            AuthError::Unauthenticated(_) | AuthError::InvalidToken(_) | AuthError::Login(LoginError::BadToken) => {
                (StatusCode::UNAUTHORIZED, None)
            }
            AuthError::Csrf(_) | AuthError::CrossOrigin(_) => (StatusCode::FORBIDDEN, None),
            AuthError::Denied(denied) => (StatusCode::FORBIDDEN, Some(denied.needed)),
            AuthError::Login(LoginError::Random(_)) => (StatusCode::INTERNAL_SERVER_ERROR, None),
            AuthError::Form(rejection) => (rejection.status(), None),
            AuthError::Body(rejection) => (rejection.status(), None),
        };
        let body = match needed {
            Some(role) => serde_json::json!({ "error": self.to_string(), "needed": role }),
            None => serde_json::json!({ "error": self.to_string() }),
        };
        let mut response = (status, Json(body)).into_response();
        let challenge = match self {
            AuthError::Unauthenticated(_) => Some("Bearer realm=\"runwell\""),
            AuthError::InvalidToken(_) => Some("Bearer realm=\"runwell\", error=\"invalid_token\""),
            _ => None,
        };
        if let Some(challenge) = challenge {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}

/// How a request proved who it is.
enum Proof {
    Bearer(Caller),
    Session(Active),
    Local(Caller),
}

impl Proof {
    fn caller(self) -> Caller {
        match self {
            Proof::Bearer(caller) | Proof::Local(caller) => caller,
            Proof::Session(active) => active.caller,
        }
    }
}

fn identify(access: &Access, parts: &Parts) -> Result<Proof, AuthError> {
    let current = access.current();
    if current.tokens.is_empty() {
        return local(parts).map(Proof::Local);
    }
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let presented = bearer(value).ok_or(AuthError::Unauthenticated(BAD_SCHEME))?;
        return current.tokens.verify(presented).map(Proof::Bearer).ok_or(AuthError::InvalidToken(BAD_TOKEN));
    }
    match cookie::read(&parts.headers) {
        Some(id) => access.sessions().find(id).map(Proof::Session).ok_or(AuthError::Unauthenticated(SESSION_GONE)),
        None => Err(AuthError::Unauthenticated(NO_CREDENTIALS)),
    }
}

/// The token of `Authorization: Bearer TOKEN` (scheme in any case).
fn bearer(value: &HeaderValue) -> Option<&str> {
    let (scheme, token) = value.to_str().ok()?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Without tokens: a loopback peer, addressing a loopback host (so a page
/// whose name was rebound to 127.0.0.1 gets nothing), and for changes not
/// sent by another site's page.
fn local(parts: &Parts) -> Result<Caller, AuthError> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip().to_canonical());
    if !peer.is_some_and(|ip| ip.is_loopback()) {
        return Err(AuthError::Unauthenticated(NOT_LOCAL));
    }
    let host = parts.headers.get(header::HOST).and_then(|value| value.to_str().ok());
    if let Some(host) = host
        && !is_loopback_host(host)
    {
        return Err(AuthError::Unauthenticated(NOT_LOCAL_HOST));
    }
    if changes_state(&parts.method) && !same_origin(parts) {
        return Err(AuthError::CrossOrigin(CROSS_ORIGIN));
    }
    Ok(Caller::local())
}

fn is_loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.ends_with(':') => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// No `Origin`, or the one this request is addressed to; and no
/// `Sec-Fetch-Site: cross-site`.
pub(super) fn same_origin(parts: &Parts) -> bool {
    let text = |name| parts.headers.get(name).and_then(|value: &HeaderValue| value.to_str().ok());
    if text("sec-fetch-site").is_some_and(|site| site.eq_ignore_ascii_case("cross-site")) {
        return false;
    }
    match (text(header::ORIGIN.as_str()), text(header::HOST.as_str())) {
        (None, _) => true,
        (Some(origin), Some(host)) => {
            origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host)
        }
        (Some(_), None) => false,
    }
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// The CSRF token of a cookie-authenticated change: the `X-CSRF-Token`
/// header, else the form's `csrf` field.
fn check_csrf(parts: &Parts, active: &Active, form_field: Option<&str>) -> Result<(), AuthError> {
    let header = parts.headers.get("x-csrf-token").and_then(|value| value.to_str().ok());
    let presented = header.or(form_field).ok_or(AuthError::Csrf(CSRF_MISSING))?;
    if active.csrf.matches(presented.trim()) { Ok(()) } else { Err(AuthError::Csrf(CSRF_WRONG)) }
}

/// Any known caller. Cookie-authenticated requests that change state must
/// carry `X-CSRF-Token`; a form that carries it in a `csrf` field needs
/// [`AuthenticatedForm`] instead, which reads the body.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

impl<S> FromRequestParts<S> for Authenticated
where
    Access: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthError> {
        let access = Access::from_ref(state);
        let proof = identify(&access, parts)?;
        if let Proof::Session(active) = &proof
            && changes_state(&parts.method)
        {
            check_csrf(parts, active, None)?;
        }
        Ok(Authenticated(proof.caller()))
    }
}

/// `Option<Authenticated>`: `None` for a caller with no credential or an
/// expired session (a page can offer the login form); other rejections stand.
impl<S> OptionalFromRequestParts<S> for Authenticated
where
    Access: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, AuthError> {
        match <Authenticated as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(authenticated) => Ok(Some(authenticated)),
            Err(AuthError::Unauthenticated(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

/// A known caller and a URL-encoded form `T`, for the dashboard's forms:
/// the CSRF token of a cookie-authenticated post may come in the form's
/// `csrf` field (or `X-CSRF-Token`). The body is read only once the caller
/// is known. `T` may ignore the `csrf` field.
#[derive(Debug, Clone)]
pub struct AuthenticatedForm<T>(pub Caller, pub T);

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: Option<String>,
}

impl<S, T> FromRequest<S> for AuthenticatedForm<T>
where
    Access: FromRef<S>,
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AuthError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AuthError> {
        let access = Access::from_ref(state);
        let (parts, body) = request.into_parts();
        let proof = identify(&access, &parts)?;
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state).await?;
        let form = |bytes: Bytes| Request::from_parts(parts.clone(), Body::from(bytes));
        if let Proof::Session(active) = &proof
            && changes_state(&parts.method)
        {
            let field = Form::<CsrfField>::from_request(form(bytes.clone()), state).await.ok();
            check_csrf(&parts, active, field.as_ref().and_then(|Form(field)| field.csrf.as_deref()))?;
        }
        let Form(value) = Form::<T>::from_request(form(bytes), state).await?;
        Ok(AuthenticatedForm(proof.caller(), value))
    }
}

/// A role bound for [`Require`].
pub trait MinimumRole {
    const ROLE: Role;
}

/// Role bounds: `Require<at_least::Operator>`.
pub mod at_least {
    use super::{MinimumRole, Role};

    #[derive(Debug, Clone, Copy)]
    pub struct Viewer;
    #[derive(Debug, Clone, Copy)]
    pub struct Operator;
    #[derive(Debug, Clone, Copy)]
    pub struct Admin;

    impl MinimumRole for Viewer {
        const ROLE: Role = Role::Viewer;
    }
    impl MinimumRole for Operator {
        const ROLE: Role = Role::Operator;
    }
    impl MinimumRole for Admin {
        const ROLE: Role = Role::Admin;
    }
}

/// A known caller with at least role `R` (`Require<at_least::Admin>`); a
/// lower one gets 403 JSON naming the role needed. For actions whose role
/// depends on the request (starting a run), check [`Access::permits`] in
/// the handler instead.
#[derive(Debug, Clone)]
pub struct Require<R> {
    pub caller: Caller,
    role: PhantomData<fn() -> R>,
}

impl<R> Require<R> {
    pub fn into_caller(self) -> Caller {
        self.caller
    }
}

impl<S, R> FromRequestParts<S> for Require<R>
where
    Access: FromRef<S>,
    S: Send + Sync,
    R: MinimumRole,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthError> {
        let Authenticated(caller) = <Authenticated as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if caller.role < R::ROLE {
            return Err(AuthError::Denied(Denied {
                what: format!("`{} {}`", parts.method, parts.uri.path()),
                needed: R::ROLE,
                caller: caller.name,
                role: caller.role,
            }));
        }
        Ok(Require { caller, role: PhantomData })
    }
}

/// The CSRF token of the request's session, to render into its forms;
/// `None` without a session (bearer and local callers need none).
#[derive(Debug, Clone)]
pub struct Csrf(pub Option<CsrfToken>);

impl<S> FromRequestParts<S> for Csrf
where
    Access: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let access = Access::from_ref(state);
        let token = cookie::read(&parts.headers).and_then(|id| access.sessions().find(id)).map(|active| active.csrf);
        Ok(Csrf(token))
    }
}
