//! A `redis-server` of our own on a free loopback port, for tests that need
//! a password, a server they may stop, or data nobody else touches.

use tokio::process::Child;

use super::{free_port, spawn, wait_until};
use crate::check::MAX_READ;
use crate::check::redis::Connection;
use crate::check::redis::resp::Reply;

/// Stopped when dropped (or by [`RedisServer::stop`]).
#[derive(Debug)]
pub struct RedisServer {
    pub port: u16,
    password: Option<&'static str>,
    child: Child,
}

impl RedisServer {
    /// Starts one, behind `password` when given, and waits until it answers.
    pub async fn start(password: Option<&'static str>) -> RedisServer {
        let port = free_port();
        let port_text = port.to_string();
        let mut args = vec!["--port", &port_text, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
        if let Some(password) = password {
            args.extend(["--requirepass", password]);
        }
        let child = spawn("redis-server", &args, None);
        let server = RedisServer { port, password, child };
        // Ready when it answers PING (with PONG, or NOAUTH behind a password).
        wait_until("redis-server", || async {
            let Ok(mut connection) = Connection::connect(&server.address(), MAX_READ).await else { return false };
            match connection.call(&["PING"]).await {
                Ok(_) => true,
                Err(failure) => failure.0.reason.contains("NOAUTH"),
            }
        })
        .await;
        server
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `redis://127.0.0.1:PORT`, without the password.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs a command that may write, to set up what a test then reads.
    pub async fn run(&self, words: &[&str]) -> Reply {
        let mut connection = Connection::connect(&self.address(), MAX_READ).await.expect("connect to our redis-server");
        if let Some(password) = self.password {
            connection.call(&["AUTH", password]).await.expect("AUTH");
        }
        connection.call(words).await.expect("a set-up command")
    }

    pub async fn stop(mut self) {
        self.child.kill().await.expect("stop redis-server");
    }
}
