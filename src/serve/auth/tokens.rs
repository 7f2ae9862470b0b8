//! Bearer tokens: the configuration holds only their SHA-256 digests, and a
//! presented token is hashed and compared with every digest in constant time.
//!
//! Constant time comes from the `subtle` crate (already built for rustls):
//! its `ct_eq` keeps the compiler from turning the comparison into an early
//! exit, which a hand-written loop cannot promise. [`TokenDigest`] has no
//! `PartialEq`, so `==` on digests does not compile.
//!
//! Hashing with plain SHA-256 (no salt, no slow hash) is enough because
//! tokens are long random strings, not passwords a person chose: the example
//! configuration makes them with `openssl rand -base64 32`.

use std::fmt;

use sha2::{Digest as _, Sha256};
use subtle::{Choice, ConstantTimeEq};

use super::{Caller, Role, Via};
use crate::serve::config::TokenConfig;

/// The SHA-256 of a token. Prints as `TokenDigest(********)`: a digest lets
/// anyone test guesses offline, so it is kept out of output too.
#[derive(Clone)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of a presented token.
    pub fn of(token: &str) -> TokenDigest {
        TokenDigest(Sha256::digest(token.as_bytes()).into())
    }

    /// Reads the 64 hex characters of a `sha256 = "…"` entry. The error never
    /// repeats `text`: it may be a token pasted in clear.
    pub fn from_hex(text: &str) -> Result<TokenDigest, DigestError> {
        let is_hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
        if let Some((sum, rest)) = text.split_once(char::is_whitespace)
            && sum.len() == 64
            && is_hex(sum)
            && matches!(rest.trim(), "-" | "*-" | "")
        {
            return Err(DigestError::SumOutput);
        }
        if !is_hex(text) {
            // Tokens are long; a short non-hex value is more likely a typo.
            return Err(if text.len() >= 16 { DigestError::ClearText } else { DigestError::NotHex });
        }
        if text.len() != 64 {
            return Err(DigestError::Length { found: text.len() });
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            *byte = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
        }
        Ok(TokenDigest(bytes))
    }
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

impl ConstantTimeEq for TokenDigest {
    fn ct_eq(&self, other: &TokenDigest) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest(********)")
    }
}

/// Why a `sha256` value is not a digest; written as a predicate on the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error(
        "looks like a token pasted in clear, not its SHA-256: put the 64 hex characters that \
         `printf %s \"$TOKEN\" | sha256sum` prints here, keep the token itself out of this file, \
         and replace the token if the file was shared"
    )]
    ClearText,
    #[error("looks like `sha256sum` output: keep only the 64 hex characters before the space")]
    SumOutput,
    #[error(
        "has {found} hex characters, but a SHA-256 has 64: write all that `printf %s \"$TOKEN\" | sha256sum` prints \
         before the ` -`"
    )]
    Length { found: usize },
    #[error("must be the token's SHA-256 in 64 hex characters (0-9, a-f): `printf %s \"$TOKEN\" | sha256sum`")]
    NotHex,
}

/// The configured tokens, ready to verify presented ones.
#[derive(Clone, Default)]
pub struct Tokens {
    entries: Vec<Entry>,
}

#[derive(Clone)]
struct Entry {
    name: String,
    role: Role,
    digest: TokenDigest,
}

impl Tokens {
    pub fn from_config(tokens: &[TokenConfig]) -> Tokens {
        let entries = tokens
            .iter()
            .map(|token| Entry { name: token.name.clone(), role: token.role, digest: token.sha256.clone() })
            .collect();
        Tokens { entries }
    }

    /// No tokens: runwell serves this machine only, everyone as `admin`.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The caller a presented token belongs to. Surrounding whitespace is
    /// ignored (pasted tokens often carry a newline); an empty token matches
    /// nothing.
    pub fn verify(&self, presented: &str) -> Option<Caller> {
        let presented = presented.trim();
        if presented.is_empty() {
            return None;
        }
        let (name, role) = self.find(&TokenDigest::of(presented))?;
        Some(Caller { name: name.to_string(), role, via: Via::Token })
    }

    /// The name and role of the token with `digest`. Every entry is compared,
    /// whichever matches, so the time taken does not tell which did.
    pub(super) fn find(&self, digest: &TokenDigest) -> Option<(&str, Role)> {
        let mut found = None;
        for entry in &self.entries {
            let matches: bool = entry.digest.ct_eq(digest).into();
            if matches && found.is_none() {
                found = Some((entry.name.as_str(), entry.role));
            }
        }
        found
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries.iter().map(|entry| (&entry.name, entry.role))).finish()
    }
}
