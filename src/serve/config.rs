//! `runwell serve`'s configuration: one TOML file (`runwell.example.toml` at
//! the repository root shows and explains every key).
//!
//! Reading is strict because a typo in a security setting must not pass
//! silently: an unknown key is an error with a did-you-mean, and every error
//! names the file, the line and the key, and says what to write instead.
//! Values that may hold secrets — token digests, notification URLs — are never
//! echoed: not in errors, not in `Debug`.
//!
//! Reading happens in three passes: toml's span-keeping tree finds unknown
//! keys (`locate.rs`), serde reads the typed values through deserializers that
//! check each value on its own (`de.rs`), and [`Config::from_str`] checks what
//! spans several values (unique names, ordered limits).

mod de;
mod locate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

use crate::runbook::Safety;
use crate::serve::auth::{Role, TokenDigest};

/// Where `runwell serve` listens unless `listen` says otherwise.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 7070);

/// Everything `runwell serve` reads from its configuration file.
#[derive(Debug, Clone)]
pub struct Config {
    /// `listen`: the socket address to serve on (default `127.0.0.1:7070`).
    /// Without `[[tokens]]` only a loopback address is accepted
    /// ([`Config::binds_safely`]).
    pub listen: SocketAddr,
    /// `runbooks`: runbook files and directories to serve (default `["."]`),
    /// relative to the directory holding the configuration file.
    pub runbooks: Vec<PathBuf>,
    /// `database`: the `SQLite` journal (default: the path `runwell run` uses,
    /// [`crate::journal::default_path`]), relative to the configuration
    /// file's directory. `postgres://` URLs are refused: not yet supported.
    pub database: PathBuf,
    /// `public_url`: how people reach this server, for links in
    /// notifications; when it is `https`, session cookies are `Secure`.
    pub public_url: Option<Url>,
    /// `[[tokens]]`: who may call the API or log in to the dashboard.
    pub tokens: Vec<TokenConfig>,
    /// `[[limits]]`: the least role that may start runs, per environment.
    pub limits: Vec<LimitConfig>,
    /// `[scheduler]`: how checks are scheduled and judged.
    pub scheduler: SchedulerConfig,
    /// `[alerts]`: what Alertmanager triggers may start.
    pub alerts: AlertsConfig,
    /// `[[notify]]`: where state changes and runs are announced.
    pub notify: Vec<NotifyConfig>,
    /// `shutdown_timeout`: how long a SIGTERM waits for running steps before
    /// they are stopped (default 30s).
    pub shutdown_timeout: Duration,
    /// `session_ttl`: how long a dashboard login lasts (default 12h, at least 1m).
    pub session_ttl: Duration,
}

/// One `[[tokens]]` entry: a caller, its role and the SHA-256 of its token.
/// The token itself is never in the file: `printf %s "$TOKEN" | sha256sum`.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// `name`: who this is, recorded in the journal for every action (unique).
    pub name: String,
    /// `role`: `viewer`, `operator` or `admin`.
    pub role: Role,
    /// `sha256`: 64 hex characters.
    pub sha256: TokenDigest,
}

/// One `[[limits]]` entry: the least role that may start a procedure whose
/// most dangerous step is read-only, writes, or is destructive. Keys left out
/// take the built-in defaults ([`LimitConfig::default`]); starting any run
/// needs at least `operator`, because even a read-only procedure runs
/// commands on this host and its run is journaled under the caller's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitConfig {
    /// `environment`: the environment this entry rules (`prod`); left out, the
    /// entry rules every environment without an entry of its own and runs
    /// started without an environment (at most one such entry).
    pub environment: Option<String>,
    /// `read`: for procedures that only read (default `operator`).
    pub read: Role,
    /// `write`: for procedures with a step that writes (default `operator`).
    pub write: Role,
    /// `destructive`: for procedures with a destructive step (default `admin`).
    pub destructive: Role,
}

impl Default for LimitConfig {
    /// The limits where no `[[limits]]` entry applies.
    fn default() -> Self {
        Self { environment: None, read: Role::Operator, write: Role::Operator, destructive: Role::Admin }
    }
}

impl LimitConfig {
    /// The least role for a procedure whose most dangerous step is `safety`.
    pub fn least_role(&self, safety: Safety) -> Role {
        match safety {
            Safety::Read => self.read,
            Safety::Write => self.write,
            Safety::Destructive => self.destructive,
        }
    }
}

/// `[scheduler]`: how often checks run and when their state changes.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerConfig {
    /// `interval`: how often a check runs unless it says otherwise (default 30s).
    pub interval: Duration,
    /// `jitter`: each run is moved by up to this fraction of the interval so
    /// that checks spread out (default 0.1, between 0 and 1).
    pub jitter: f64,
    /// `fail_threshold`: consecutive failures before a check is shown failing (default 3).
    pub fail_threshold: u32,
    /// `success_threshold`: consecutive successes before it is shown healthy again (default 2).
    pub success_threshold: u32,
    /// `history`: results kept per check (default 120).
    pub history: usize,
    /// `concurrency`: checks running at once at most (default 256).
    pub concurrency: usize,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            jitter: 0.1,
            fail_threshold: 3,
            success_threshold: 2,
            history: 120,
            concurrency: 256,
        }
    }
}

/// `[alerts]`: what an Alertmanager trigger may start without a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsConfig {
    /// `max_runs_per_hour`: runs one runbook's alerts may start per hour (default 6; 0 starts none).
    pub max_runs_per_hour: u32,
    /// `allow`: the most dangerous procedure a trigger may start:
    /// `read`, `write` or `destructive` (default `read`).
    pub allow: Safety,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self { max_runs_per_hour: 6, allow: Safety::Read }
    }
}

/// One `[[notify]]` entry: a webhook told about state changes and runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// `kind`: `webhook` (runwell's JSON) or `slack` (an incoming webhook).
    pub kind: NotifyKind,
    /// `url`: where to post; masked in every message because such URLs
    /// usually carry a secret in their path or query.
    pub url: SecretUrl,
    /// `events`: what to announce, a subset of `check` and `run` (default both).
    pub events: Vec<NotifyEvent>,
}

impl NotifyConfig {
    /// Whether this receiver wants `event`.
    pub fn wants(&self, event: NotifyEvent) -> bool {
        self.events.contains(&event)
    }
}

/// What a `[[notify]]` receiver speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyKind {
    Webhook,
    Slack,
}

/// What a `[[notify]]` receiver is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NotifyEvent {
    /// A check's state changed (after the thresholds).
    Check,
    /// A run started or finished.
    Run,
}

/// A URL that may carry a secret (Slack and many webhooks put it in the
/// path): `Debug` and `Display` show only the scheme, host and port.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(Url);

impl SecretUrl {
    /// The whole URL, to send a request to. Never log it.
    pub fn expose(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.0;
        write!(f, "{}://{}", url.scheme(), url.host_str().unwrap_or_default())?;
        if let Some(port) = url.port() {
            write!(f, ":{port}")?;
        }
        f.write_str("/********")
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({self})")
    }
}

/// Why the configuration could not be read. Every variant names the file;
/// those about a value name its line and key and say what to write instead.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration `{path}`: {source}; pass --config with a readable TOML file")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("`{origin}` line {line}: this is not valid TOML: {message}")]
    Syntax { origin: String, line: usize, message: String },
    #[error("`{origin}` line {line}: unknown key `{key}`{hint}; {known}")]
    UnknownKey { origin: String, line: usize, key: String, hint: String, known: String },
    #[error("`{origin}` line {line}: `{key}` {message}")]
    Invalid { origin: String, line: usize, key: String, message: String },
    #[error(
        "`{origin}`: no `database` is set, and the journal has no default place (neither RUNWELL_DB, \
         XDG_STATE_HOME nor HOME is set): write `database = \"/var/lib/runwell/journal.db\"`"
    )]
    NoDatabase { origin: String },
}

impl Config {
    /// Reads and checks the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        Config::from_str(&text, path)
    }

    /// Reads a configuration from `text`; `origin` is the file it came from:
    /// messages name it and relative paths are resolved against its directory.
    pub fn from_str(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let name = origin.display().to_string();
        locate::check_keys(text, &name)?;
        let raw: de::Raw = toml::from_str(text).map_err(|error| locate::value_error(text, &name, &error))?;
        let at = |span: std::ops::Range<usize>, key: String, message: String| ConfigError::Invalid {
            origin: name.clone(),
            line: locate::line_of(text, span.start),
            key,
            message,
        };
        let base = origin.parent().unwrap_or(Path::new(""));

        let tokens = check_tokens(raw.tokens, &at)?;
        let limits = check_limits(raw.limits, &at)?;
        let database = match raw.database {
            Some(path) => base.join(path.0),
            None => crate::journal::default_path().map_err(|_| ConfigError::NoDatabase { origin: name.clone() })?,
        };
        let runbooks = match raw.runbooks {
            Some(paths) => paths.0.into_iter().map(|path| base.join(path)).collect(),
            None => vec![base.join(".")],
        };
        let defaults = SchedulerConfig::default();
        let scheduler = SchedulerConfig {
            interval: raw.scheduler.interval.map_or(defaults.interval, |d| d.0),
            jitter: raw.scheduler.jitter.map_or(defaults.jitter, |j| j.0),
            fail_threshold: raw.scheduler.fail_threshold.map_or(defaults.fail_threshold, |n| n.0),
            success_threshold: raw.scheduler.success_threshold.map_or(defaults.success_threshold, |n| n.0),
            history: raw.scheduler.history.map_or(defaults.history, |n| n.0 as usize),
            concurrency: raw.scheduler.concurrency.map_or(defaults.concurrency, |n| n.0 as usize),
        };
        let defaults = AlertsConfig::default();
        let alerts = AlertsConfig {
            max_runs_per_hour: raw.alerts.max_runs_per_hour.map_or(defaults.max_runs_per_hour, |n| n.0),
            allow: raw.alerts.allow.map_or(defaults.allow, |s| s.0),
        };
        let notify = raw
            .notify
            .into_iter()
            .map(|entry| {
                let mut events = entry.events.map_or_else(|| vec![NotifyEvent::Check, NotifyEvent::Run], |e| e.0);
                events.sort_unstable();
                events.dedup();
                NotifyConfig { kind: entry.kind, url: entry.url, events }
            })
            .collect();
        Ok(Config {
            listen: raw.listen.map_or(DEFAULT_LISTEN, |listen| listen.0),
            runbooks,
            database,
            public_url: raw.public_url.map(|url| url.0),
            tokens,
            limits,
            scheduler,
            alerts,
            notify,
            shutdown_timeout: raw.shutdown_timeout.map_or(Duration::from_secs(30), |d| d.0),
            session_ttl: raw.session_ttl.map_or(Duration::from_secs(12 * 3600), |d| d.0),
        })
    }

    /// Refuses to serve beyond this machine without tokens: with no
    /// `[[tokens]]`, anyone who can reach the port could start runs.
    pub fn binds_safely(&self) -> Result<(), String> {
        if self.tokens.is_empty() && !self.listen.ip().is_loopback() {
            return Err(format!(
                "runwell will not listen on {} without any `[[tokens]]`: anyone who can reach that address \
                 could start runs. Add a `[[tokens]]` entry (name, role and the sha256 of a token) to the \
                 configuration, or listen on this machine only with `listen = \"127.0.0.1:{}\"`",
                self.listen,
                self.listen.port()
            ));
        }
        Ok(())
    }

    /// Whether session cookies must be `Secure` whatever the request came over.
    pub fn public_url_is_https(&self) -> bool {
        self.public_url.as_ref().is_some_and(|url| url.scheme() == "https")
    }
}

type At<'a> = dyn Fn(std::ops::Range<usize>, String, String) -> ConfigError + 'a;

fn check_tokens(raw: Vec<de::RawToken>, at: &At<'_>) -> Result<Vec<TokenConfig>, ConfigError> {
    let mut tokens: Vec<TokenConfig> = Vec::with_capacity(raw.len());
    for (index, token) in raw.into_iter().enumerate() {
        let name = token.name.get_ref().trim().to_string();
        if name.is_empty() {
            let message = "is empty: name the person or system holding this token, like `name = \"ci-bot\"`";
            return Err(at(token.name.span(), format!("tokens[{index}].name"), message.into()));
        }
        if tokens.iter().any(|other| other.name == name) {
            let message = format!("`{name}` is already the name of another token: give each token its own name");
            return Err(at(token.name.span(), format!("tokens[{index}].name"), message));
        }
        let sha256_span = token.sha256.span();
        let sha256 = token.sha256.into_inner().0;
        if let Some(other) =
            tokens.iter().find(|other| bool::from(subtle::ConstantTimeEq::ct_eq(&other.sha256, &sha256)))
        {
            let message = format!(
                "is the same as token `{}`'s: give each caller a token of its own, so the journal can tell them apart",
                other.name
            );
            return Err(at(sha256_span, format!("tokens[{index}].sha256"), message));
        }
        tokens.push(TokenConfig { name, role: token.role.0, sha256 });
    }
    Ok(tokens)
}

fn check_limits(raw: Vec<toml::Spanned<de::RawLimit>>, at: &At<'_>) -> Result<Vec<LimitConfig>, ConfigError> {
    let defaults = LimitConfig::default();
    let mut limits: Vec<LimitConfig> = Vec::with_capacity(raw.len());
    for (index, entry) in raw.into_iter().enumerate() {
        let entry_span = entry.span();
        let entry = entry.into_inner();
        let key = |name: &str| format!("limits[{index}].{name}");
        // Point at the key when it is written, else at the entry.
        let span_of = |field: &Option<toml::Spanned<de::RoleText>>| {
            field.as_ref().map_or(entry_span.clone(), toml::Spanned::span)
        };
        let role =
            |field: &Option<toml::Spanned<de::RoleText>>, default| field.as_ref().map_or(default, |r| r.get_ref().0);
        let environment_span = entry.environment.as_ref().map_or(entry_span.clone(), toml::Spanned::span);
        let limit = LimitConfig {
            environment: entry.environment.map(|e| e.into_inner().trim().to_string()),
            read: role(&entry.read, defaults.read),
            write: role(&entry.write, defaults.write),
            destructive: role(&entry.destructive, defaults.destructive),
        };
        if limit.environment.as_deref() == Some("") {
            let message = "is empty: name an environment, like `environment = \"prod\"`, or leave the key out \
                           to rule every environment without an entry of its own";
            return Err(at(environment_span, key("environment"), message.into()));
        }
        let fields = [
            ("read", &entry.read, limit.read),
            ("write", &entry.write, limit.write),
            ("destructive", &entry.destructive, limit.destructive),
        ];
        for (name, field, role) in fields {
            if role < Role::Operator {
                let message = format!(
                    "is `{role}`, but starting a run needs at least `operator`: a run executes commands on this \
                     host and is journaled under the caller's name; write `{name} = \"operator\"` or `\"admin\"`"
                );
                return Err(at(span_of(field), key(name), message));
            }
        }
        let out_of_order = if limit.write < limit.read {
            Some(("write", &entry.write))
        } else if limit.destructive < limit.write {
            Some(("destructive", &entry.destructive))
        } else {
            None
        };
        if let Some((name, field)) = out_of_order {
            let message = format!(
                "asks less for riskier procedures (read `{}`, write `{}`, destructive `{}`): \
                 each must need at least the role of the one before",
                limit.read, limit.write, limit.destructive
            );
            return Err(at(span_of(field), key(name), message));
        }
        if limits.iter().any(|other| other.environment == limit.environment) {
            let message = match &limit.environment {
                Some(environment) => format!("`{environment}` already has a `[[limits]]` entry: merge the two"),
                None => "is left out in two `[[limits]]` entries; only one may rule the environments \
                         without an entry of their own"
                    .to_string(),
            };
            return Err(at(environment_span, key("environment"), message));
        }
        limits.push(limit);
    }
    Ok(limits)
}
