//! A lab on disk: the parts an example's stand-in is made of, how each one
//! is started, told apart from a dead one, made ready and stopped.
//!
//! Everything a later command needs (`down`, `status`, the `systemctl` shim
//! restarting one unit) is in `DIR/standin.json`, written before the first
//! part starts, so a half-started lab can still be taken down. Each part runs
//! in a process group of its own: stopping it stops its children too (the
//! PostgreSQL backends, the NGINX workers), and a runbook step's timeout that
//! kills the step's group never reaches the lab.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// How long a part may take to become ready, and to stop before it is killed.
const READY_WITHIN: Duration = Duration::from_secs(20);
const STOP_WITHIN: Duration = Duration::from_secs(8);

/// One example's stand-in system, as `up` set it up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lab {
    pub example: String,
    pub dir: PathBuf,
    pub parts: Vec<Part>,
    /// `ENV_NAME=value`: the example's secrets, for `DIR/env`.
    pub secrets: Vec<(String, String)>,
    /// `var=value`: the runbook variables that name paths under the lab's directory.
    pub paths: Vec<(String, String)>,
}

/// A process the lab runs: a real server or a stand-in of ours.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Part {
    pub name: String,
    /// What it stands for, for `status` and the docs: "real redis-server 7", "stand-in".
    pub what: String,
    /// systemd units the `systemctl` shim answers for with this part.
    pub units: Vec<String>,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Run as this user (PostgreSQL and PgBouncer refuse to run as root).
    pub user: Option<String>,
    pub pidfile: PathBuf,
    /// The signal that asks it to stop: INT is PostgreSQL's fast shutdown.
    pub stop_signal: String,
    pub ports: Vec<u16>,
    pub ready: Ready,
}

/// The real signal that a part is ready, polled after it starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Ready {
    /// The port accepts connections.
    Tcp(u16),
    /// Redis answers PING (after AUTH when it has a password).
    Redis { port: u16, password: Option<String> },
    /// `pg_isready` says the server accepts connections.
    Postgres { port: u16 },
}

/// Whether a part runs, as the `systemctl` shim and `status` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Running(i32),
    /// Stopped on purpose (no pid file).
    Stopped,
    /// Its pid file names a process that is gone: it died or was killed.
    Failed,
}

impl Lab {
    pub fn state_file(dir: &Path) -> PathBuf {
        dir.join("standin.json")
    }

    pub fn load(dir: &Path) -> anyhow::Result<Lab> {
        let path = Lab::state_file(dir);
        let text = fs::read_to_string(&path)
            .with_context(|| format!("no stand-in lab in `{}` (`{}` is missing)", dir.display(), path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("`{}` is not a stand-in lab's state", path.display()))
    }

    pub fn save(&self) -> anyhow::Result<()> {
        let path = Lab::state_file(&self.dir);
        write_private(&path, &serde_json::to_string_pretty(self)?)
    }

    /// The part that answers for `unit` (`tornado`, `redis-server.service`).
    pub fn part_for_unit(&self, unit: &str) -> Option<&Part> {
        let unit = unit.strip_suffix(".service").unwrap_or(unit);
        self.parts.iter().find(|p| p.name == unit || p.units.iter().any(|u| u == unit))
    }

    /// Fails with the part and port when something else listens on one of the lab's ports.
    pub fn check_ports_free(&self) -> anyhow::Result<()> {
        for part in &self.parts {
            for &port in &part.ports {
                if TcpListener::bind(("127.0.0.1", port)).is_err() {
                    bail!(
                        "port {port} on 127.0.0.1 (for {}) is taken: another program listens there \
                         (`ss -ltnp 'sport = :{port}'` shows which); stop it, or `runwell-standin down` \
                         the lab that holds it",
                        part.name
                    );
                }
            }
        }
        Ok(())
    }
}

impl Part {
    pub fn state(&self) -> State {
        let Ok(text) = fs::read_to_string(&self.pidfile) else { return State::Stopped };
        match text.trim().parse::<i32>() {
            Ok(pid) if alive(pid) => State::Running(pid),
            _ => State::Failed,
        }
    }

    /// When it was started: the pid file's modification time.
    pub fn started(&self) -> Option<SystemTime> {
        fs::metadata(&self.pidfile).and_then(|m| m.modified()).ok()
    }

    /// Starts the part in a process group of its own and waits until it is ready.
    pub fn start(&self, lab: &Lab) -> anyhow::Result<()> {
        if let State::Running(pid) = self.state() {
            bail!("{} already runs (pid {pid})", self.name);
        }
        let log_path = lab.dir.join("log").join(format!("{}.log", self.name));
        let log = fs::OpenOptions::new().create(true).append(true).open(&log_path)?;
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&lab.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0);
        if let Some(user) = &self.user {
            let (uid, gid) = user_ids(user)?;
            command.uid(uid).gid(gid);
        }
        let mut child =
            command.spawn().with_context(|| format!("cannot start {} (`{}`)", self.name, self.program.display()))?;
        let pid = i32::try_from(child.id()).context("pid out of range")?;
        if let Some(parent) = self.pidfile.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&self.pidfile, format!("{pid}\n"))?;
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if self.is_ready() {
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                let _ = fs::remove_file(&self.pidfile);
                bail!("{} exited ({status}) before it was ready; its log says:\n{}", self.name, tail(&log_path));
            }
            if Instant::now() > deadline {
                self.stop();
                bail!("{} was not ready within {READY_WITHIN:?}; its log says:\n{}", self.name, tail(&log_path));
            }
            std::thread::sleep(Duration::from_millis(25)); // poll interval
        }
    }

    pub fn is_ready(&self) -> bool {
        match &self.ready {
            Ready::Tcp(port) => TcpStream::connect(("127.0.0.1", *port)).is_ok(),
            Ready::Redis { port, password } => redis_ping(*port, password.as_deref()),
            Ready::Postgres { port } => Command::new(crate::prepare::pg_tool("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .is_ok_and(|s| s.success()),
        }
    }

    /// Asks the part to stop, waits for its whole process group to go, and
    /// kills the group if it does not. Returns whether something was running.
    pub fn stop(&self) -> bool {
        let Some(pid) = fs::read_to_string(&self.pidfile).ok().and_then(|t| t.trim().parse::<i32>().ok()) else {
            return false;
        };
        let was_running = !group_members(pid).is_empty();
        let signal = self.stop_signal.parse::<Signal>().unwrap_or(Signal::SIGTERM);
        let _ = kill(Pid::from_raw(pid), signal);
        let deadline = Instant::now() + STOP_WITHIN;
        while !group_members(pid).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(25)); // poll interval
        }
        if !group_members(pid).is_empty() {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            let deadline = Instant::now() + Duration::from_secs(2);
            while !group_members(pid).is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10)); // poll interval
            }
        }
        let _ = fs::remove_file(&self.pidfile);
        was_running
    }

    /// Sends a signal to the part's main process (SIGHUP: reload).
    pub fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let State::Running(pid) = self.state() else { bail!("{} is not running", self.name) };
        kill(Pid::from_raw(pid), signal).with_context(|| format!("cannot signal {}", self.name))
    }
}

/// Whether `pid` is a live process (a zombie is not: nothing may reap it here).
pub fn alive(pid: i32) -> bool {
    process_state(pid).is_some_and(|state| state != 'Z' && state != 'X')
}

/// The live processes of the process group `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| stat_fields(pid).is_some_and(|(state, pgrp)| pgrp == pgid && state != 'Z' && state != 'X'))
        .collect()
}

fn process_state(pid: i32) -> Option<char> {
    stat_fields(pid).map(|(state, _)| state)
}

/// `(state, process group)` from `/proc/PID/stat`; the name may hold spaces and parentheses.
fn stat_fields(pid: i32) -> Option<(char, i32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

/// PING (after AUTH) over a plain socket: the readiness signal for Redis.
pub fn redis_ping(port: u16, password: Option<&str>) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut request = String::new();
    if let Some(password) = password {
        request = format!("*2\r\n$4\r\nAUTH\r\n${}\r\n{password}\r\n", password.len());
    }
    request.push_str("*1\r\n$4\r\nPING\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    // One reply line per command sent; the last one must be PONG.
    let expected = if password.is_some() { 2 } else { 1 };
    let mut reply = Vec::new();
    let mut chunk = [0u8; 256];
    while reply.len() < 1024 && reply.windows(2).filter(|w| w == b"\r\n").count() < expected {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => reply.extend_from_slice(&chunk[..n]),
        }
    }
    reply.ends_with(b"+PONG\r\n")
}

/// The uid and gid of `user`.
pub fn user_ids(user: &str) -> anyhow::Result<(u32, u32)> {
    let found = nix::unistd::User::from_name(user)?.with_context(|| format!("there is no user `{user}`"))?;
    Ok((found.uid.as_raw(), found.gid.as_raw()))
}

/// Writes a file only its owner may read: it may hold passwords.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// The last lines of a log, for an error message.
fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(8);
    let shown = lines[start..].join("\n  ");
    if shown.is_empty() { format!("  (nothing; see {})", path.display()) } else { format!("  {shown}") }
}
