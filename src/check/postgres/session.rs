//! Connecting through the guard and driving the connection: how the
//! postgres check and `sql` steps (`procedure`) reach a server.

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::config::Host;
use tokio_postgres::error::DbError;
use tokio_postgres::{AsyncMessage, Client, Config, Connection, NoTls};

use super::wire::{Bounds, Guarded, Tap, describe};
use crate::check::{Failure, one_line, tcp};

const DEFAULT_PORT: u16 = 5432;

/// How a session reads: its bounds, whether a [`Tap`] keeps column types
/// and command tags, whether notices are passed on.
#[derive(Debug, Clone)]
pub struct Reading {
    pub bounds: Bounds,
    pub tap: Option<Tap>,
    /// Notices queue up to this many; none are kept when 0.
    pub notices: usize,
}

impl Reading {
    /// A check: bounded in total, nothing kept.
    pub fn check() -> Reading {
        Reading { bounds: Bounds::CHECK, tap: None, notices: 0 }
    }
}

/// A connected client and the task driving its connection.
#[derive(Debug)]
pub struct Session {
    pub client: Client,
    driver: JoinHandle<()>,
    /// Why the connection ended, when it failed: the client itself only
    /// learns that it closed.
    ended: Arc<Mutex<Option<String>>>,
    /// The server's notices (`RAISE NOTICE`, `… does not exist, skipping`),
    /// when [`Reading::notices`] asked for them. The connection waits while
    /// the queue is full: read it while reading the query's answer.
    pub notices: Option<mpsc::Receiver<DbError>>,
}

impl Session {
    /// Why the connection broke, in one line, when `error` is not the
    /// server's answer to the query.
    pub fn why(&self, error: &tokio_postgres::Error) -> String {
        let ended = self.ended.lock().ok().and_then(|slot| slot.clone());
        ended.unwrap_or_else(|| describe(error))
    }

    /// The server's words for an SQL error, or why the connection broke.
    pub fn fail(&self, error: &tokio_postgres::Error) -> Failure {
        if let Some(db) = error.as_db_error() {
            return Failure::critical(format!("{} (SQLSTATE {})", one_line(db.message(), 160), db.code().code()));
        }
        Failure::critical(self.why(error))
    }
}

impl Drop for Session {
    /// Stops driving the connection even if the server never answers.
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Whether the startup failed because the server asks for a password and
/// none was given (tokio-postgres's words for it).
pub fn password_missing(error: &tokio_postgres::Error) -> bool {
    std::error::Error::source(error).is_some_and(|e| e.to_string() == "password missing")
}

/// Where the first host of `config` listens, for connecting and reasons:
/// `host:port`, or a Unix socket's path. Never the credentials.
pub fn address(config: &Config) -> String {
    let port = config.get_ports().first().copied().unwrap_or(DEFAULT_PORT);
    match config.get_hosts().first() {
        None => format!("127.0.0.1:{port}"),
        Some(Host::Tcp(host)) if host.contains(':') => format!("[{host}]:{port}"),
        Some(Host::Tcp(host)) => format!("{host}:{port}"),
        #[cfg(unix)]
        Some(Host::Unix(dir)) => dir.join(format!(".s.PGSQL.{port}")).display().to_string(),
    }
}

/// Connects to `address` through the guard. The outer error is the
/// socket's; the inner one the server's (or the protocol's) answer to the
/// startup.
pub async fn connect(
    config: &Config,
    address: &str,
    reading: &Reading,
) -> Result<Result<Session, tokio_postgres::Error>, Failure> {
    let connected = if address.starts_with('/') {
        let stream = tokio::net::UnixStream::connect(address)
            .await
            .map_err(|e| Failure::critical(tcp::connect_error(address, &e)))?;
        let stream = Guarded::new(stream, reading.bounds, reading.tap.clone());
        config.connect_raw(stream, NoTls).await.map(|(c, conn)| drive(c, conn, reading.notices))
    } else {
        let stream = Guarded::new(tcp::connect(address).await?, reading.bounds, reading.tap.clone());
        config.connect_raw(stream, NoTls).await.map(|(c, conn)| drive(c, conn, reading.notices))
    };
    Ok(connected)
}

fn drive<S, T>(client: Client, mut connection: Connection<S, T>, notices: usize) -> Session
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ended = Arc::new(Mutex::new(None));
    let slot = ended.clone();
    let (sender, receiver) = match notices {
        0 => (None, None),
        n => {
            let (sender, receiver) = mpsc::channel(n);
            (Some(sender), Some(receiver))
        }
    };
    let driver = tokio::spawn(async move {
        // The connection, which holds the client's pending answers, lives in
        // this stream until the reason it ended is recorded.
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notice(notice)) => {
                    if let Some(sender) = &sender {
                        // A reader that went away wants no more notices.
                        let _ = sender.send(notice).await;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    if let Ok(mut slot) = slot.lock() {
                        *slot = Some(describe(&error));
                    }
                    break;
                }
            }
        }
    });
    Session { client, driver, ended, notices: receiver }
}
