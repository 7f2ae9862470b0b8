//! Who may do what in `runwell serve`.
//!
//! Callers prove who they are with a bearer token (`Authorization: Bearer
//! TOKEN`, for the API and scripts) or a browser session (a cookie, after
//! pasting a token into the login form: runwell has no passwords). Tokens are
//! configured as SHA-256 digests and compared in constant time
//! ([`tokens`](Tokens)); each has a [`Role`]. The [`Policy`] says which role
//! each [`Action`] needs, per environment, from the `[[limits]]` of the
//! configuration. [`Sessions`] live in memory, so a restart logs everyone out.
//!
//! The axum side ([`Access`], [`Authenticated`], [`AuthenticatedForm`],
//! [`Require`], [`routes`]) turns this into 401 (who are you?) and 403 (you may
//! not) JSON answers. Cookie-authenticated requests that change state must
//! carry the session's CSRF token (`X-CSRF-Token` header or `csrf` form
//! field); bearer requests need none, because browsers never add that header
//! on their own.
//!
//! With no `[[tokens]]` configured runwell serves this machine only
//! ([`crate::serve::config::Config::binds_safely`]), and every request from a
//! loopback peer acts as the local `admin` ([`Via::Local`]).
//!
//! Invariant: nothing here logs, prints or returns a token, a session id or
//! a CSRF token except to the one client it belongs to; every type holding
//! one prints `********` in `Debug`.

mod access;
mod cookie;
mod extract;
mod handlers;
mod policy;
mod sessions;
mod tokens;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub use access::{Access, OverTls};
pub use extract::{AuthError, Authenticated, AuthenticatedForm, Csrf, MinimumRole, Require, at_least};
pub use handlers::{LoginForm, login, logout, routes};
pub use policy::{Action, Denied, Policy};
pub use sessions::{Active, CsrfToken, LoginError, NewSession, SessionId, Sessions};
pub use tokens::{DigestError, TokenDigest, Tokens};

/// What a caller may do, ordered: `Viewer < Operator < Admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees the dashboard, checks, runs and reports.
    Viewer,
    /// Also checks now, starts runs, answers their confirmations and aborts them.
    Operator,
    /// Also administers runwell; the only role allowed destructive procedures by default.
    Admin,
}

impl Role {
    /// The names written in the configuration, from least to most.
    pub const NAMES: [&'static str; 3] = ["viewer", "operator", "admin"];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not `viewer`, `operator` or `admin`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{given}`{hint}: roles are `viewer`, `operator` and `admin`")]
pub struct UnknownRole {
    pub given: String,
    hint: String,
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Role, UnknownRole> {
        match text {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(UnknownRole {
                given: other.to_string(),
                hint: crate::runbook::diagnostic::hint(other, Role::NAMES),
            }),
        }
    }
}

/// How a caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// `Authorization: Bearer TOKEN`.
    Token,
    /// The session cookie of a dashboard login.
    Session,
    /// No tokens are configured and the request came from this machine.
    Local,
}

/// Who is asking: the token's name (journaled with every action) and role.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    pub via: Via,
}

impl Caller {
    /// The caller of a server with no tokens, on this machine.
    pub const LOCAL_NAME: &'static str = "local";

    pub(crate) fn local() -> Caller {
        Caller { name: Caller::LOCAL_NAME.to_string(), role: Role::Admin, via: Via::Local }
    }
}
