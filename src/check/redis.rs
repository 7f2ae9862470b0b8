//! `redis`: connect to `redis://[user:password@]host:port[/db]`, authenticate,
//! select the database and send one read-only command (`PING` by default).
//!
//! Fields: `reply` (the RESP reply as JSON: text, numbers, arrays, null) and,
//! for `INFO`, `info` (its `key:value` lines as a mapping, numbers parsed, so
//! `info.role == "master"` works). Default verdict: `PING` must answer
//! `PONG`; any other command passes with any reply that is not an error.
//! An error reply (`-ERR`, `-NOAUTH`, `-WRONGPASS`) is critical with the
//! server's words.
//!
//! [`Target`] and [`Connection`] are also how `redis` steps (`procedure`)
//! connect, authenticate and talk.

mod command;
pub mod resp;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::engine::human_duration;
use super::{Failure, Fields, MAX_READ, Observation, Params, Verdict, human_bytes, one_line, tcp};
use resp::{DecodeError, Reply};

const DEFAULT_PORT: u16 = 6379;

pub async fn probe(target: &str, params: &Params, timeout: Duration) -> Result<Observation, Failure> {
    let mut target = Target::parse(target)?;
    if let Some(password) = params.text("password")? {
        target.password = Some(password);
    }
    if let Some(username) = params.text("username")? {
        target.username = Some(username);
    }
    if let Some(db) = params.number("db")? {
        target.db = Some(db);
    }
    if target.username.is_some() && target.password.is_none() {
        return Err(Failure::unknown("`username` needs a `password` to authenticate with"));
    }
    let words = command::parse(&params.text("command")?.unwrap_or_else(|| "PING".to_owned()))?;
    let address = target.address.clone();
    let reply = tokio::time::timeout(timeout, converse(&target, &words))
        .await
        .map_err(|_| Failure::critical(format!("no answer from {address} within {}", human_duration(timeout))))??;
    Ok(observe(&words, &reply))
}

/// Where to connect and as whom: `redis://[user:password@]host:port[/db]`.
#[derive(Debug, Default, PartialEq)]
pub struct Target {
    /// `host:port`, never with credentials: it appears in reasons.
    pub address: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: Option<u64>,
}

impl Target {
    pub fn parse(target: &str) -> Result<Target, Failure> {
        if target.starts_with("rediss://") {
            return Err(Failure::unknown("TLS (`rediss://`) is not supported for Redis yet"));
        }
        let rest = match target.strip_prefix("redis://") {
            Some(rest) => rest,
            None if target.contains("://") => {
                return Err(Failure::unknown("a redis target is `redis://[user:password@]host:port[/db]`"));
            }
            None => target,
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut parsed = Target::default();
        let host = match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                let (user, password) = match userinfo.split_once(':') {
                    Some((user, password)) => (user, Some(password)),
                    None => (userinfo, None),
                };
                parsed.username = Some(decode(user)).filter(|u| !u.is_empty());
                parsed.password = password.map(decode);
                host
            }
            None => authority,
        };
        if host.is_empty() {
            return Err(Failure::unknown("the redis target names no host"));
        }
        let has_port = host.rsplit_once(':').is_some_and(|(_, port)| !port.ends_with(']'));
        parsed.address = if has_port { host.to_owned() } else { format!("{host}:{DEFAULT_PORT}") };
        let path = path.split(['?', '#']).next().unwrap_or_default();
        if !path.is_empty() {
            let db = path.parse().map_err(|_| Failure::unknown(format!("`{path}` is not a database number")))?;
            parsed.db = Some(db);
        }
        Ok(parsed)
    }
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// Authenticates, selects the database and sends the command.
async fn converse(target: &Target, words: &[String]) -> Result<Reply, Failure> {
    let mut connection = Connection::open(target, MAX_READ).await?;
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    connection.call(&words).await
}

/// One connection, a command and its reply at a time.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    /// Bytes read but not yet decoded.
    buf: Vec<u8>,
    /// The largest reply read.
    limit: usize,
}

impl Connection {
    /// Connects to `address` (`host:port`), without authenticating.
    pub async fn connect(address: &str, limit: usize) -> Result<Connection, Failure> {
        Ok(Connection { stream: tcp::connect(address).await?, buf: Vec::new(), limit })
    }

    /// Connects to `target`, authenticates when it has a password and
    /// selects its database; replies are read up to `limit` bytes.
    pub async fn open(target: &Target, limit: usize) -> Result<Connection, Failure> {
        let mut connection = Connection::connect(&target.address, limit).await?;
        connection.login(target).await?;
        Ok(connection)
    }

    /// Authenticates as `target` says (when it has a password) and selects
    /// its database.
    pub async fn login(&mut self, target: &Target) -> Result<(), Failure> {
        if let Some(password) = &target.password {
            let auth = match &target.username {
                Some(user) => vec!["AUTH", user.as_str(), password.as_str()],
                None => vec!["AUTH", password.as_str()],
            };
            self.call(&auth).await?;
        }
        if let Some(db) = target.db {
            self.call(&["SELECT", &db.to_string()]).await?;
        }
        Ok(())
    }

    /// Sends one command and reads its reply; an error reply is critical,
    /// named by the command (never its arguments: `AUTH` carries a password).
    pub async fn call(&mut self, words: &[&str]) -> Result<Reply, Failure> {
        match self.send(words).await? {
            Reply::Error(message) => {
                let name = words.first().map(|w| w.to_ascii_uppercase()).unwrap_or_default();
                Err(Failure::critical(format!("{name} failed: {}", one_line(&message, 120))))
            }
            reply => Ok(reply),
        }
    }

    /// Sends one command and reads its reply, an error reply included.
    pub async fn send(&mut self, words: &[&str]) -> Result<Reply, Failure> {
        let mut request = format!("*{}\r\n", words.len()).into_bytes();
        for word in words {
            request.extend_from_slice(format!("${}\r\n", word.len()).as_bytes());
            request.extend_from_slice(word.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        self.stream.write_all(&request).await.map_err(|e| Failure::critical(format!("cannot send: {e}")))?;
        self.read().await
    }

    /// Reads until one whole reply is buffered, at most `limit` bytes (plus
    /// room for its framing).
    async fn read(&mut self) -> Result<Reply, Failure> {
        let limit = self.limit;
        let too_large = || Failure::critical(format!("reply larger than {}", human_size(limit)));
        let not_resp = |buf: &[u8]| {
            let start = String::from_utf8_lossy(&buf[..buf.len().min(80)]).into_owned();
            Failure::critical(format!("the reply is not RESP: got `{}`", one_line(&start, 40)))
        };
        let mut framer = resp::Framer::default();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match framer.advance(&self.buf, limit) {
                Ok(Some(end)) => {
                    let Ok(Some((reply, used))) = resp::decode(&self.buf[..end], limit) else {
                        return Err(not_resp(&self.buf));
                    };
                    self.buf.drain(..used);
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(DecodeError::TooLarge) => return Err(too_large()),
                Err(DecodeError::NotResp) => return Err(not_resp(&self.buf)),
            }
            if self.buf.len() > limit + 64 {
                return Err(too_large());
            }
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(|e| Failure::critical(format!("cannot read the reply: {e}")))?;
            if n == 0 {
                return Err(Failure::critical(if self.buf.is_empty() {
                    "the server closed the connection without answering".to_owned()
                } else {
                    format!("the server closed the connection after {} of a reply", human_bytes(self.buf.len()))
                }));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// `1 MiB`: limits are binary sizes.
fn human_size(bytes: usize) -> String {
    format!("{} MiB", bytes >> 20)
}

fn observe(words: &[String], reply: &Reply) -> Observation {
    let name = words.first().map(|w| w.to_ascii_uppercase()).unwrap_or_default();
    let mut fields = Fields::new();
    fields.insert("reply".to_owned(), reply.to_json());
    let mut observed = match reply {
        Reply::Simple(text) | Reply::Error(text) => one_line(text, 60),
        Reply::Bulk(bytes) => one_line(&String::from_utf8_lossy(bytes), 60),
        Reply::Integer(n) => n.to_string(),
        Reply::Nil => "nil".to_owned(),
        Reply::Array(items) if items.len() == 1 => "1 item".to_owned(),
        Reply::Array(items) => format!("{} items", items.len()),
    };
    if name == "INFO"
        && let Reply::Bulk(bytes) = reply
    {
        let info = info(&String::from_utf8_lossy(bytes));
        observed = match info.get("role").and_then(Value::as_str) {
            Some(role) => format!("{} fields, role {role}", info.len()),
            None => format!("{} fields", info.len()),
        };
        fields.insert("info".to_owned(), Value::Object(info));
    }
    let default = if words.len() == 1 && name == "PING" && *reply != Reply::Simple("PONG".to_owned()) {
        Verdict::critical(format!("answered `{observed}`, expected PONG"))
    } else {
        Verdict::ok()
    };
    Observation::new(fields, observed, default)
}

/// `INFO`'s `key:value` lines as a mapping; numbers parsed, sections and
/// comments skipped.
fn info(text: &str) -> Fields {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once(':'))
        .map(|(key, value)| {
            let value = value.trim();
            let parsed = value
                .parse::<i64>()
                .map(Value::from)
                .ok()
                .or_else(|| value.parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::from))
                .unwrap_or_else(|| Value::from(value));
            (key.trim().to_owned(), parsed)
        })
        .collect()
}
