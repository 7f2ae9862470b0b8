//! Everything one system's drills run against: its stand-in lab, a
//! `runwell serve` for it, and Debian's Alertmanager posting to that
//! server's hook — all on loopback, all in one work directory, all stopped
//! (whole process groups) when the site is dropped.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use runwell::journal::hex;
use sha2::{Digest as _, Sha256};

/// The binaries and files the drills use.
#[derive(Debug, Clone)]
pub struct Tools {
    pub runwell: PathBuf,
    pub standin: PathBuf,
    /// The repository: `examples/`, `drills/`.
    pub root: PathBuf,
}

impl Tools {
    pub fn runbook(&self, system: &str) -> PathBuf {
        self.root.join("examples").join(format!("{system}.md"))
    }
}

/// A system's lab, server and Alertmanager.
#[derive(Debug)]
pub struct Site {
    pub system: String,
    pub tools: Tools,
    pub work: PathBuf,
    /// `PATH` with the lab's shims first, and the lab's secrets.
    env: Vec<(String, String)>,
    /// `--set` values pointing the runbook's paths into the lab.
    sets: Vec<String>,
    pub journal: PathBuf,
    pub serve: Server,
    alertmanager: Daemon,
    alertmanager_port: u16,
    http: Http,
}

/// The drills' `runwell serve`: its process, its port and the admin token the drills answer with.
#[derive(Debug)]
pub struct Server {
    daemon: Daemon,
    pub port: u16,
    pub admin: String,
}

/// A child in a process group of its own, stopped with its group.
#[derive(Debug)]
struct Daemon {
    child: Option<Child>,
}

impl Daemon {
    fn spawn(command: &mut Command) -> anyhow::Result<Daemon> {
        let child = command.process_group(0).spawn().with_context(|| format!("starting {command:?}"))?;
        Ok(Daemon { child: Some(child) })
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let group = Pid::from_raw(child.id().cast_signed());
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if child.try_wait().is_ok_and(|status| status.is_some()) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Site {
    /// Brings up `system`'s lab in `work/lab`, then the server and
    /// Alertmanager, each waited for until it answers.
    pub fn up(tools: &Tools, system: &str, work: &Path) -> anyhow::Result<Site> {
        let lab = work.join("lab");
        let output = Command::new(&tools.standin).arg("up").arg(system).arg("--dir").arg(&lab).output()?;
        if !output.status.success() {
            bail!("runwell-standin up {system}: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        let mut env = secrets(&lab)?;
        let path = format!("{}:{}", lab.join("bin").display(), std::env::var("PATH").unwrap_or_default());
        env.push(("PATH".to_owned(), path));
        let sets = std::fs::read_to_string(lab.join("sets")).unwrap_or_default().lines().map(str::to_owned).collect();
        let http = Http::new()?;
        let journal = work.join("journal.db");
        let mut site = Site {
            system: system.to_owned(),
            tools: tools.clone(),
            work: work.to_owned(),
            env,
            sets,
            journal,
            serve: Server { daemon: Daemon { child: None }, port: 0, admin: String::new() },
            alertmanager: Daemon { child: None },
            alertmanager_port: 0,
            http,
        };
        let hook_token = site.start_server()?;
        site.start_alertmanager(&hook_token)?;
        Ok(site)
    }

    fn start_server(&mut self) -> anyhow::Result<String> {
        let port = free_port()?;
        let admin = token();
        let hook = token();
        let config = format!(
            "listen = \"127.0.0.1:{port}\"\n\n[alerts]\nmax_runs_per_hour = 1000\n\n[scheduler]\ninterval = \"10s\"\n\n\
             [[tokens]]\nname = \"drill-admin\"\nrole = \"admin\"\nsha256 = \"{}\"\n\n\
             [[tokens]]\nname = \"alertmanager\"\nrole = \"operator\"\nsha256 = \"{}\"\n",
            sha256(&admin),
            sha256(&hook)
        );
        let file = self.work.join("runwell.toml");
        std::fs::write(&file, config)?;
        let log = std::fs::File::create(self.work.join("serve.log"))?;
        let mut command = Command::new(&self.tools.runwell);
        command.arg("serve").arg(self.tools.runbook(&self.system)).arg("--config").arg(&file);
        command.arg("--db").arg(&self.journal).args(["--env", "local"]);
        for set in &self.sets {
            command.args(["--set", set]);
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v))).env("RUST_LOG", "info");
        command.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
        self.serve = Server { daemon: Daemon::spawn(&mut command)?, port, admin };
        let ready = format!("http://127.0.0.1:{port}/readyz");
        wait_for("runwell serve to be ready", Duration::from_secs(30), || {
            Ok(self.http.get(&ready, None).is_ok_and(|(status, _)| status == 200))
        })
        .with_context(|| {
            format!("runwell serve did not come up; its log is {}", self.work.join("serve.log").display())
        })?;
        Ok(hook)
    }

    fn start_alertmanager(&mut self, hook_token: &str) -> anyhow::Result<()> {
        let dir = self.work.join("alertmanager");
        std::fs::create_dir_all(&dir)?;
        // Every alert a group of its own (`...`), sent at once.
        let config = format!(
            "route:\n  receiver: runwell\n  group_by: ['...']\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: runwell\n    webhook_configs:\n      - url: http://127.0.0.1:{}/hooks/alertmanager\n\
             \x20       send_resolved: true\n        http_config:\n          authorization:\n            type: Bearer\n\
             \x20           credentials: {hook_token}\n",
            self.serve.port
        );
        std::fs::write(dir.join("alertmanager.yml"), config)?;
        let port = free_port()?;
        let log = std::fs::File::create(self.work.join("alertmanager.log"))?;
        let mut command = Command::new("prometheus-alertmanager");
        command
            .arg(format!("--config.file={}", dir.join("alertmanager.yml").display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.alertmanager =
            Daemon::spawn(&mut command).context("prometheus-alertmanager (scripts/setup installs it)")?;
        self.alertmanager_port = port;
        let ready = format!("http://127.0.0.1:{port}/-/ready");
        wait_for("Alertmanager to be ready", Duration::from_secs(30), || {
            Ok(self.http.get(&ready, None).is_ok_and(|(status, _)| status == 200))
        })
    }

    /// `runwell SUBCOMMAND RUNBOOK ARGS… --env local --set …` in the lab's
    /// environment, as an operator who sourced `lab/env` would type it.
    pub fn runwell(&self, subcommand: &str, args: &[&str]) -> Command {
        let mut command = Command::new(&self.tools.runwell);
        command.arg(subcommand).arg(self.tools.runbook(&self.system)).args(args).args(["--env", "local"]);
        for set in &self.sets {
            command.args(["--set", set]);
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v))).stdin(Stdio::null());
        command
    }

    /// `runwell ARGS…` without a runbook (`report`, `runs`).
    pub fn runwell_plain(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.tools.runwell);
        command.args(args).stdin(Stdio::null());
        command
    }

    /// Runs `script` with bash in the lab's environment.
    pub fn shell(&self, script: &str) -> anyhow::Result<Output> {
        let mut command = Command::new("bash");
        command.args(["-o", "errexit", "-o", "nounset", "-o", "pipefail", "-c", script]);
        command.current_dir(self.work.join("lab")).env("LAB", self.work.join("lab"));
        command.envs(self.env.iter().map(|(k, v)| (k, v))).stdin(Stdio::null());
        Ok(command.output()?)
    }

    /// Posts an alert to Alertmanager as Prometheus would: firing, or
    /// resolved (its end now).
    pub fn alert(&self, labels: &BTreeMap<String, String>, firing: bool) -> anyhow::Result<()> {
        let now = jiff::Timestamp::now().to_string();
        let mut alert = serde_json::json!({ "labels": labels, "annotations": { "summary": "runwell drill" } });
        alert[if firing { "startsAt" } else { "endsAt" }] = now.into();
        let url = format!("http://127.0.0.1:{}/api/v2/alerts", self.alertmanager_port);
        let (status, body) = self.http.post(&url, None, &serde_json::json!([alert]))?;
        if status != 200 {
            bail!("Alertmanager refused the alert: {status} {body}");
        }
        Ok(())
    }

    /// `GET` on the server as the drill's admin: the JSON answer.
    pub fn api_get(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let url = format!("http://127.0.0.1:{}{path}", self.serve.port);
        let (status, body) = self.http.get(&url, Some(&self.serve.admin))?;
        if status != 200 {
            bail!("GET {path}: {status} {body}");
        }
        serde_json::from_str(&body).with_context(|| format!("GET {path} answered {body}"))
    }

    /// `POST` on the server as the drill's admin: the status and body.
    pub fn api_post(&self, path: &str, body: &serde_json::Value) -> anyhow::Result<(u16, String)> {
        let url = format!("http://127.0.0.1:{}{path}", self.serve.port);
        self.http.post(&url, Some(&self.serve.admin), body)
    }

    /// Stops everything, the server and Alertmanager first so nothing
    /// starts a run against a lab going away.
    pub fn down(mut self) -> anyhow::Result<()> {
        self.alertmanager.stop();
        self.serve.daemon.stop();
        let output = Command::new(&self.tools.standin).arg("down").arg("--dir").arg(self.work.join("lab")).output()?;
        if !output.status.success() {
            bail!("runwell-standin down: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        Ok(())
    }
}

/// `export NAME=value` lines of the lab's env file, but `PATH`.
fn secrets(lab: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(lab.join("env")).context("the lab's env file")?;
    Ok(text
        .lines()
        .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
        .filter(|(name, _)| *name != "PATH")
        .map(|(name, value)| (name.to_owned(), value.trim_matches('\'').to_owned()))
        .collect())
}

fn token() -> String {
    let bytes: [u8; 24] = rand::random();
    hex(&bytes)
}

fn sha256(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls `ready` every 50 ms until it holds or `within` passes.
pub fn wait_for(what: &str, within: Duration, mut ready: impl FnMut() -> anyhow::Result<bool>) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        if ready()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("waited {} s for {what}", within.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A blocking HTTP/1.1 client for loopback calls.
#[derive(Debug)]
struct Http {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    fn new() -> anyhow::Result<Http> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).no_proxy().build()?;
        Ok(Http { runtime, client })
    }

    fn get(&self, url: &str, token: Option<&str>) -> anyhow::Result<(u16, String)> {
        self.send(self.client.get(url), token)
    }

    fn post(&self, url: &str, token: Option<&str>, body: &serde_json::Value) -> anyhow::Result<(u16, String)> {
        self.send(self.client.post(url).header("content-type", "application/json").body(body.to_string()), token)
    }

    fn send(&self, request: reqwest::RequestBuilder, token: Option<&str>) -> anyhow::Result<(u16, String)> {
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        self.runtime.block_on(async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            Ok((status, response.text().await?))
        })
    }
}
