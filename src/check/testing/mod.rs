//! Helpers the probes' tests share: checks built by hand and run through the
//! engine, free ports, real servers started for one test and stopped with
//! it, and loopback peers that misbehave on purpose.

use std::future::Future;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

use serde_json::Value;

use super::{Options, Outcome, Params, Resolved, run};
use crate::runbook::ProbeKind;

mod net;
mod postgres;
mod redis;
pub use net::*;
pub use postgres::{LOCAL_POSTGRES, PostgresServer, setup_client};
pub use redis::RedisServer;

/// Parameters written as JSON: `params(json!({"command": "PING"}))`.
pub fn params(value: serde_json::Value) -> Params {
    match value {
        serde_json::Value::Object(map) => Params(map),
        other => panic!("params are a JSON object, not {other}"),
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("a bound address").port()
}

/// Polls `ready` until it holds; panics after 20 s naming `what`.
pub async fn wait_until<F, Fut>(what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..400 {
        if ready().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not become ready within 20s");
}

/// Starts `program`, killed when the handle drops. With `user`, runs it as
/// that user (postgres and pgbouncer refuse to run as root) through
/// `setpriv`, which execs rather than forks like `runuser`: the child is the
/// server itself, so killing it stops the server.
pub fn spawn(program: &str, args: &[&str], user: Option<&str>) -> Child {
    let mut command = match user {
        Some(user) => {
            let mut command = Command::new("setpriv");
            command.args([&format!("--reuid={user}"), &format!("--regid={user}"), "--init-groups", "--", program]);
            command
        }
        None => Command::new(program),
    };
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"))
}

/// How a fake peer behaves once a client connects.
#[derive(Debug, Clone, Copy)]
pub enum Peer {
    /// Sends these bytes, then keeps the connection open without a word more.
    Sends(&'static [u8]),
    /// Accepts and never answers.
    Silent,
    /// Sends these bytes, then `x` forever.
    Endless(&'static [u8]),
}

/// A loopback listener behaving as `peer` for every connection.
pub async fn fake_peer(peer: Peer) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a fake peer");
    let address = listener.local_addr().expect("a bound address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                match peer {
                    Peer::Sends(bytes) => {
                        let _ = stream.write_all(bytes).await;
                    }
                    Peer::Silent => {}
                    Peer::Endless(start) => {
                        let _ = stream.write_all(start).await;
                        let filler = vec![b'x'; 64 * 1024];
                        while stream.write_all(&filler).await.is_ok() {}
                    }
                }
                // Hold the connection until the client goes away.
                let mut sink = [0u8; 1024];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    address
}

/// How `expect` judges `observation`: the verdict a check would get.
pub fn judge(observation: &super::Observation, expect: &str) -> super::Verdict {
    super::expect::judge(observation, Some(&super::expect::Compiled::new(expect)), None)
}

/// Runs `program` as `user` to completion, panicking with its output if it fails.
pub async fn run_as(user: &str, program: &str, args: &[&str]) {
    let output = Command::new("setpriv")
        .args([&format!("--reuid={user}"), &format!("--regid={user}"), "--init-groups", "--", program])
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(output.status.success(), "{program} failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// A temporary directory owned by `user`, for a server run as that user.
pub fn dir_owned_by(user: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let status = std::process::Command::new("chown")
        .args([&format!("{user}:"), &dir.path().display().to_string()])
        .status()
        .expect("run chown");
    assert!(status.success(), "chown {user} {}", dir.path().display());
    dir
}

/// Asks a server we started to stop as it would on `kill -INT` (a fast
/// shutdown for postgres) and waits until it has.
pub async fn interrupt(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill").args(["-INT", &pid.to_string()]).status().await;
    }
    child.wait().await.expect("the server exits");
}

/// A check of `kind` on `target` with `params` (a JSON object).
pub fn resolved(kind: ProbeKind, target: &str, params: &Value) -> Resolved {
    Resolved {
        runbook: "test".to_owned(),
        name: "under-test".to_owned(),
        layer: None,
        kind,
        target: target.to_owned(),
        shown_target: target.to_owned(),
        params: params_of(params),
        expect: None,
        warn: None,
        timeout: None,
        retries: 0,
        error: None,
    }
}

/// Parameters from a JSON object literal.
pub fn params_of(params: &Value) -> Params {
    Params(params.as_object().cloned().unwrap_or_default())
}

/// Runs one check through the engine, as `runwell check` would.
pub async fn run_one(check: Resolved) -> Outcome {
    run(vec![check], &Options::default(), None).await.remove(0)
}

/// Whether `pid` no longer runs: gone, or a zombie nobody reaped yet (this
/// container's init does not reap orphans).
pub fn not_running(pid: u32) -> bool {
    !crate::process::is_alive(pid)
}
