//! The file as serde reads it: raw tables whose values are checked one at a
//! time as they are read, so that toml's span for a bad value points at it.
//! Messages are predicates on the key (`must be …`, `is …`) and say what to
//! write; values that may be secrets (`sha256`, `url`, `database`) are never
//! repeated in them.

use std::fmt;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use toml::Spanned;

use super::{NotifyEvent, NotifyKind, SecretUrl};
use crate::runbook::Safety;
use crate::runbook::front_matter::parse_duration;
use crate::serve::auth::{Role, TokenDigest};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    pub listen: Option<Listen>,
    pub runbooks: Option<PathList>,
    pub database: Option<Database>,
    pub public_url: Option<PublicUrl>,
    #[serde(default)]
    pub tokens: Vec<RawToken>,
    #[serde(default)]
    pub limits: Vec<Spanned<RawLimit>>,
    #[serde(default)]
    pub scheduler: RawScheduler,
    #[serde(default)]
    pub alerts: RawAlerts,
    #[serde(default)]
    pub notify: Vec<RawNotify>,
    pub shutdown_timeout: Option<DurationText<0>>,
    pub session_ttl: Option<DurationText<60>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawToken {
    pub name: Spanned<String>,
    pub role: RoleText,
    pub sha256: Spanned<Digest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimit {
    pub environment: Option<Spanned<String>>,
    pub read: Option<Spanned<RoleText>>,
    pub write: Option<Spanned<RoleText>>,
    pub destructive: Option<Spanned<RoleText>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScheduler {
    pub interval: Option<DurationText<1>>,
    pub jitter: Option<Fraction>,
    pub fail_threshold: Option<AtLeast<1>>,
    pub success_threshold: Option<AtLeast<1>>,
    pub history: Option<AtLeast<1>>,
    pub concurrency: Option<AtLeast<1>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    pub max_runs_per_hour: Option<AtLeast<0>>,
    pub allow: Option<SafetyText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    pub kind: NotifyKind,
    pub url: SecretUrl,
    pub events: Option<Events>,
}

/// Reads a string, telling serde what to write instead (`expecting`), then
/// parses it with `parse`, whose error becomes the message.
fn text<'de, D, T>(
    deserializer: D,
    expecting: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct Text(&'static str);
    impl Visitor<'_> for Text {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, value: &str) -> Result<String, E> {
            Ok(value.to_owned())
        }
    }
    let value = deserializer.deserialize_str(Text(expecting))?;
    parse(&value).map_err(de::Error::custom)
}

/// Implements `Deserialize` for a newtype through [`text`].
macro_rules! from_text {
    ($type:ty, $expecting:expr, $parse:expr) => {
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                text(deserializer, $expecting, $parse)
            }
        }
    };
}

pub(super) struct Listen(pub SocketAddr);

from_text!(Listen, "an IP address and port as text, like \"127.0.0.1:7070\"", |text: &str| {
    let text = text.trim();
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(Listen(address));
    }
    if let Ok(ip) = text.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        let ip = if ip.is_ipv6() { format!("[{ip}]") } else { ip.to_string() };
        return Err(format!("has no port: write `listen = \"{ip}:7070\"`"));
    }
    Err(format!(
        "must be an IP address and a port, not `{text}`: write `listen = \"127.0.0.1:7070\"` for this machine \
         only, or `\"0.0.0.0:7070\"` for every interface (host names are not resolved)"
    ))
});

/// `runbooks`: one path, or a list of at least one.
pub(super) struct PathList(pub Vec<PathBuf>);

impl<'de> Deserialize<'de> for PathList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Paths;
        impl<'de> Visitor<'de> for Paths {
            type Value = PathList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of runbook files and directories, like [\"runbooks/\"]")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<PathList, E> {
                Ok(PathList(vec![path(value).map_err(E::custom)?]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PathList, A::Error> {
                let mut paths = Vec::new();
                while let Some(PathText(path)) = seq.next_element()? {
                    paths.push(path);
                }
                if paths.is_empty() {
                    return Err(de::Error::custom(
                        "is empty: list at least one runbook file or directory, like `runbooks = [\"runbooks/\"]`",
                    ));
                }
                Ok(PathList(paths))
            }
        }
        deserializer.deserialize_any(Paths)
    }
}

struct PathText(PathBuf);

from_text!(PathText, "a path as text, like \"runbooks/\"", |text: &str| path(text).map(PathText));

fn path(text: &str) -> Result<PathBuf, String> {
    if text.trim().is_empty() {
        return Err("holds an empty path: write a file or directory, like `\"runbooks/\"`".into());
    }
    Ok(PathBuf::from(text))
}

pub(super) struct Database(pub PathBuf);

from_text!(Database, "the journal's SQLite file as text, like \"runwell.db\"", |text: &str| {
    let scheme = text.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        // The URL is not repeated: it may hold a password.
        Some("postgres" | "postgresql") => Err("is a PostgreSQL URL, and PostgreSQL journals are not yet supported \
                                                by `runwell serve`: use a SQLite file, like `database = \"runwell.db\"`"
            .into()),
        Some(_) => Err("is a URL: write the path of a SQLite file, like `database = \"runwell.db\"`".into()),
        None if text.trim().is_empty() => {
            Err("is empty: write the path of a SQLite file, like `database = \"runwell.db\"`".into())
        }
        None => Ok(Database(PathBuf::from(text))),
    }
});

pub(super) struct PublicUrl(pub Url);

from_text!(PublicUrl, "a URL as text, like \"https://runwell.example.com\"", |text: &str| {
    match Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(PublicUrl(url)),
        _ => Err(format!(
            "must be the `https://` or `http://` address people reach runwell at, not `{text}`: \
             write `public_url = \"https://runwell.example.com\"`"
        )),
    }
});

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const EXAMPLE: &str = "like `url = \"https://hooks.slack.com/services/…\"`";
        text(deserializer, "the receiver's URL as text", |text| match Url::parse(text.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(SecretUrl(url)),
            Ok(_) => Err(format!("must start with `https://` or `http://`, {EXAMPLE}")),
            // The parser's reason names no part of the URL.
            Err(error) => Err(format!("is not a URL ({error}): write the receiver's whole URL, {EXAMPLE}")),
        })
    }
}

/// A duration such as `"30s"`, at least `MIN_SECS` seconds.
pub(super) struct DurationText<const MIN_SECS: u64>(pub Duration);

impl<'de, const MIN_SECS: u64> Deserialize<'de> for DurationText<MIN_SECS> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        text(deserializer, "a duration as text, like \"30s\", \"5m\" or \"1h30m\"", |text| {
            let duration = parse_duration(text)
                .ok_or_else(|| format!("must be a duration like `\"30s\"`, `\"5m\"` or `\"1h30m\"`, not `{text}`"))?;
            if duration < Duration::from_secs(MIN_SECS) {
                let least =
                    if MIN_SECS.is_multiple_of(60) { format!("{}m", MIN_SECS / 60) } else { format!("{MIN_SECS}s") };
                return Err(format!("must be at least {least}, not `{text}`"));
            }
            Ok(DurationText(duration))
        })
    }
}

/// A whole number, at least `MIN`.
pub(super) struct AtLeast<const MIN: u32>(pub u32);

impl<'de, const MIN: u32> Deserialize<'de> for AtLeast<MIN> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Number<const MIN: u32>;
        impl<const MIN: u32> Visitor<'_> for Number<MIN> {
            type Value = AtLeast<MIN>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a whole number, at least {MIN}")
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<AtLeast<MIN>, E> {
                match u32::try_from(value) {
                    Ok(n) if n >= MIN => Ok(AtLeast(n)),
                    _ => Err(E::custom(format!("must be a whole number from {MIN} to {}, not {value}", u32::MAX))),
                }
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<AtLeast<MIN>, E> {
                self.visit_i64(i64::try_from(value).unwrap_or(i64::MAX))
            }
        }
        deserializer.deserialize_i64(Number::<MIN>)
    }
}

/// A fraction between 0 and 1 (`jitter`).
pub(super) struct Fraction(pub f64);

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Number;
        impl Visitor<'_> for Number {
            type Value = Fraction;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a fraction between 0 and 1, like 0.1")
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Fraction, E> {
                if (0.0..=1.0).contains(&value) {
                    Ok(Fraction(value))
                } else {
                    Err(E::custom(format!("must be a fraction between 0 and 1, like `0.1`, not {value}")))
                }
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Fraction, E> {
                match value {
                    0 => Ok(Fraction(0.0)),
                    1 => Ok(Fraction(1.0)),
                    _ => Err(E::custom(format!("must be a fraction between 0 and 1, like `0.1`, not {value}"))),
                }
            }
        }
        deserializer.deserialize_f64(Number)
    }
}

pub(super) struct RoleText(pub Role);

from_text!(RoleText, "a role as text: \"viewer\", \"operator\" or \"admin\"", |text: &str| {
    let text = text.trim();
    text.parse::<Role>().map(RoleText).map_err(|_| one_of(text, &Role::NAMES))
});

pub(super) struct SafetyText(pub Safety);

from_text!(SafetyText, "a safety class as text: \"read\", \"write\" or \"destructive\"", |text: &str| {
    match text.trim() {
        "read" => Ok(SafetyText(Safety::Read)),
        "write" => Ok(SafetyText(Safety::Write)),
        "destructive" => Ok(SafetyText(Safety::Destructive)),
        other => Err(one_of(other, &["read", "write", "destructive"])),
    }
});

pub(super) struct Digest(pub TokenDigest);

from_text!(Digest, "the token's SHA-256 as 64 hex characters in quotes", |text: &str| {
    TokenDigest::from_hex(text).map(Digest).map_err(|error| error.to_string())
});

impl<'de> Deserialize<'de> for NotifyKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        text(deserializer, "\"webhook\" or \"slack\"", |text| match text.trim() {
            "webhook" => Ok(NotifyKind::Webhook),
            "slack" => Ok(NotifyKind::Slack),
            other => Err(one_of(other, &["webhook", "slack"])),
        })
    }
}

impl<'de> Deserialize<'de> for NotifyEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        text(deserializer, "\"check\" or \"run\"", |text| match text.trim() {
            "check" => Ok(NotifyEvent::Check),
            "run" => Ok(NotifyEvent::Run),
            other => Err(one_of(other, &["check", "run"])),
        })
    }
}

/// `events`: a list of at least one event.
pub(super) struct Events(pub Vec<NotifyEvent>);

impl<'de> Deserialize<'de> for Events {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct List(PhantomData<NotifyEvent>);
        impl<'de> Visitor<'de> for List {
            type Value = Events;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of events, like [\"check\", \"run\"]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Events, A::Error> {
                let mut events = Vec::new();
                while let Some(event) = seq.next_element()? {
                    events.push(event);
                }
                if events.is_empty() {
                    return Err(de::Error::custom(
                        "is empty: list `\"check\"`, `\"run\"` or both, or drop this `[[notify]]` entry",
                    ));
                }
                Ok(Events(events))
            }
        }
        deserializer.deserialize_seq(List(PhantomData))
    }
}

/// "must be `a`, `b` or `c`, not `x` (did you mean `b`?)".
pub(super) fn one_of(given: &str, choices: &[&str]) -> String {
    let list = match choices {
        [] => String::new(),
        [only] => format!("`{only}`"),
        [init @ .., last] => {
            format!("{} or `{last}`", init.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))
        }
    };
    let hint = crate::runbook::diagnostic::hint(given, choices.iter().copied());
    format!("must be {list}, not `{given}`{hint}")
}
