//! Browser sessions: a login turns a pasted token into a random 256-bit
//! session id (the cookie) and a CSRF token (for the pages' forms), both from
//! the operating system's random source through `getrandom`, which the tree
//! already builds for `rand`.
//!
//! The store keeps sessions in memory, keyed by the SHA-256 of their id, so
//! not even a dump of the store holds a usable cookie. A session lasts
//! `session_ttl` from login — no sliding renewal, so a stolen cookie dies on
//! schedule — and ends at logout or when its token leaves the configuration
//! ([`Sessions::retain`]). Time is tokio's clock, so tests can move it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use super::{Caller, Role, TokenDigest, Tokens, Via};

/// A session's id: the cookie's value. Prints as `SessionId(********)`.
#[derive(Clone)]
pub struct SessionId(String);

impl SessionId {
    /// The value for the `Set-Cookie` header; for that only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(********)")
    }
}

/// A session's CSRF token, to put in its pages' forms (`<input type=hidden
/// name=csrf>`) or `X-CSRF-Token` headers. No `PartialEq`: [`CsrfToken::matches`]
/// compares in constant time. Prints as `CsrfToken(********)`.
#[derive(Clone)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// The value to write into the session's own pages; for that only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this token, in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        // Lengths are public (always 64), so comparing them first leaks nothing.
        self.0.len() == presented.len() && bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
    }
}

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfToken(********)")
    }
}

/// What a login created: the cookie value, the CSRF token and who logged in.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub csrf: CsrfToken,
    pub caller: Caller,
    /// How long the session lasts: the cookie's `Max-Age`.
    pub ttl: Duration,
}

/// A live session, as a cookie resolves to.
#[derive(Debug, Clone)]
pub struct Active {
    pub caller: Caller,
    pub csrf: CsrfToken,
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("that token is not valid: paste a token whose SHA-256 is in runwell's `[[tokens]]`")]
    BadToken,
    #[error("cannot create a session: the system's random source failed ({0}); try again")]
    Random(getrandom::Error),
}

/// The live sessions.
pub struct Sessions {
    state: Mutex<State>,
}

struct State {
    ttl: Duration,
    by_key: HashMap<[u8; 32], Session>,
}

struct Session {
    name: String,
    role: Role,
    token: TokenDigest,
    csrf: CsrfToken,
    expires: Instant,
}

impl Sessions {
    /// An empty store whose sessions last `ttl`.
    pub fn new(ttl: Duration) -> Sessions {
        Sessions { state: Mutex::new(State { ttl, by_key: HashMap::new() }) }
    }

    /// Sessions created from now on last `ttl`; existing ones keep theirs.
    pub fn set_ttl(&self, ttl: Duration) {
        self.lock().ttl = ttl;
    }

    pub fn ttl(&self) -> Duration {
        self.lock().ttl
    }

    /// Opens a session for the holder of `presented`, one of `tokens`.
    pub fn login(&self, tokens: &Tokens, presented: &str) -> Result<NewSession, LoginError> {
        let presented = presented.trim();
        if presented.is_empty() {
            return Err(LoginError::BadToken);
        }
        let token = TokenDigest::of(presented);
        let (name, role) = tokens.find(&token).ok_or(LoginError::BadToken)?;
        let id = random_hex().map_err(LoginError::Random)?;
        let csrf = CsrfToken(random_hex().map_err(LoginError::Random)?);
        let now = Instant::now();
        let mut state = self.lock();
        // Logins are the only way in, so pruning here bounds the store.
        state.by_key.retain(|_, session| session.expires > now);
        let ttl = state.ttl;
        let session = Session { name: name.to_string(), role, token, csrf: csrf.clone(), expires: now + ttl };
        state.by_key.insert(key(&id), session);
        Ok(NewSession {
            id: SessionId(id),
            csrf,
            caller: Caller { name: name.to_string(), role, via: Via::Session },
            ttl,
        })
    }

    /// The live session a cookie value names; an expired one is removed.
    pub fn find(&self, id: &str) -> Option<Active> {
        let key = key(id);
        let mut state = self.lock();
        let session = state.by_key.get(&key)?;
        if session.expires <= Instant::now() {
            state.by_key.remove(&key);
            return None;
        }
        Some(Active {
            caller: Caller { name: session.name.clone(), role: session.role, via: Via::Session },
            csrf: session.csrf.clone(),
        })
    }

    /// Ends the session a cookie value names; whether there was one.
    pub fn logout(&self, id: &str) -> bool {
        self.lock().by_key.remove(&key(id)).is_some()
    }

    /// After a configuration reload: ends the sessions whose token is gone,
    /// and gives the others their token's current name and role.
    pub fn retain(&self, tokens: &Tokens) {
        self.lock().by_key.retain(|_, session| match tokens.find(&session.token) {
            Some((name, role)) => {
                session.name = name.to_string();
                session.role = role;
                true
            }
            None => false,
        });
    }

    /// Live and expired-but-not-yet-pruned sessions.
    pub fn len(&self) -> usize {
        self.lock().by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code path panics while holding the lock; if one ever did, the
        // map is still consistent (each operation is one map call).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Sessions").field("ttl", &state.ttl).field("count", &state.by_key.len()).finish()
    }
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// 256 random bits as 64 lowercase hex characters.
fn random_hex() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().fold(String::with_capacity(64), |mut hex, byte| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{byte:02x}");
        hex
    }))
}
