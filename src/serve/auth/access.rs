//! [`Access`]: the tokens, policy and sessions a server checks requests
//! against, shared by its handlers and swapped whole on a configuration
//! reload (sessions survive a reload unless their token was removed).
//!
//! The server plugs it into its own state with `FromRef`:
//!
//! ```text
//! impl FromRef<AppState> for Access { fn from_ref(state: &AppState) -> Access { state.access.clone() } }
//! ```
//!
//! and serves with `into_make_service_with_connect_info::<SocketAddr>()`:
//! without tokens, only requests whose peer is a loopback address get in,
//! and the peer address comes from `ConnectInfo`.

use std::sync::{Arc, PoisonError, RwLock};

use axum::http::request::Parts;

use super::{Action, Caller, Denied, Policy, Role, Sessions, Tokens};
use crate::serve::config::Config;

/// A request extension the server adds to requests that reached it over
/// TLS, so that session cookies are marked `Secure`.
#[derive(Debug, Clone, Copy)]
pub struct OverTls;

/// What requests are checked against; cheap to clone.
#[derive(Clone)]
pub struct Access {
    inner: Arc<Inner>,
}

struct Inner {
    current: RwLock<Arc<Current>>,
    sessions: Sessions,
}

pub(super) struct Current {
    pub tokens: Tokens,
    pub policy: Policy,
    /// `public_url` is https: cookies are `Secure` whatever the request.
    pub https: bool,
}

impl Access {
    pub fn new(config: &Config) -> Access {
        Access {
            inner: Arc::new(Inner {
                current: RwLock::new(Arc::new(Current::from(config))),
                sessions: Sessions::new(config.session_ttl),
            }),
        }
    }

    /// Takes the tokens, limits, `public_url` and `session_ttl` of a reloaded
    /// configuration; sessions of removed tokens end.
    pub fn reload(&self, config: &Config) {
        let current = Arc::new(Current::from(config));
        self.inner.sessions.retain(&current.tokens);
        self.inner.sessions.set_ttl(config.session_ttl);
        *self.inner.current.write().unwrap_or_else(PoisonError::into_inner) = current;
    }

    pub fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    /// The least role that may do `action`.
    pub fn needed(&self, action: &Action) -> Role {
        self.current().policy.needed(action)
    }

    /// Whether `caller` may do `action`.
    pub fn permits(&self, caller: &Caller, action: &Action) -> Result<(), Denied> {
        self.current().policy.permits(caller, action)
    }

    /// No tokens configured: loopback callers act as the local admin.
    pub fn is_open(&self) -> bool {
        self.current().tokens.is_empty()
    }

    pub(super) fn current(&self) -> Arc<Current> {
        Arc::clone(&self.inner.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether a cookie set in answer to `parts` must be `Secure`.
    pub(super) fn secure_cookies(&self, parts: &Parts) -> bool {
        let forwarded_https = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
        // Trusting a forwarded header is safe here: it can only add `Secure`.
        self.current().https
            || parts.extensions.get::<OverTls>().is_some()
            || parts.uri.scheme_str() == Some("https")
            || forwarded_https
    }
}

impl From<&Config> for Current {
    fn from(config: &Config) -> Current {
        Current {
            tokens: Tokens::from_config(&config.tokens),
            policy: Policy::from_config(&config.limits),
            https: config.public_url_is_https(),
        }
    }
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let current = self.current();
        f.debug_struct("Access")
            .field("tokens", &current.tokens)
            .field("policy", &current.policy)
            .field("sessions", &self.inner.sessions)
            .finish()
    }
}
