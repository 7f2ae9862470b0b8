//! `runwell serve`: the real binary on a loopback port of its own, driven
//! over HTTP; readiness is `/healthz` answering, never a sleep.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};

use crate::servers::{free_port, wait_until};
use crate::test::runwell;

/// The server process, killed when dropped so a failed test leaves nothing behind.
pub struct Server(pub Child);

/// A `runwell serve` of a test's own: `runbooks` (file name, text) in a
/// temporary directory, `config` as its runwell.toml (`listen`, `runbooks`
/// and `database` are added), ready once `/healthz` answers.
pub struct Served {
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub server: Server,
    /// Where the server's stderr (its logs) goes.
    pub log: std::path::PathBuf,
}

impl Served {
    pub fn start(runbooks: &[(&str, &str)], config: &str) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let books = dir.path().join("runbooks");
        std::fs::create_dir(&books).unwrap();
        for (name, text) in runbooks {
            std::fs::write(books.join(name), text).unwrap();
        }
        let port = free_port();
        let text =
            format!("listen = \"127.0.0.1:{port}\"\nrunbooks = [\"runbooks/\"]\ndatabase = \"journal.db\"\n{config}");
        std::fs::write(dir.path().join("runwell.toml"), text).unwrap();
        let log = dir.path().join("serve.log");
        let server = Server(
            runwell()
                .args(["serve", "--config", "runwell.toml"])
                .env("RUST_LOG", "runwell=debug")
                .current_dir(dir.path())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("runwell starts"),
        );
        wait_until("runwell serve", || get(port, "/healthz").is_some_and(|(status, _)| status == 200));
        Served { port, dir, server, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `runwell runs --db` of the server's journal, as JSON, while it runs.
    pub fn runs(&self) -> serde_json::Value {
        let output = runwell()
            .args(["runs", "--format", "json", "--db"])
            .arg(self.dir.path().join("journal.db"))
            .output()
            .expect("runwell runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).expect("JSON")
    }

    /// Sends `method path` with `body` (JSON) and no credential.
    pub fn post(&self, path: &str, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("the server listens");
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default())
    }

    /// SIGTERM, as a service manager stops it; its exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.server.0.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        self.server.0.wait().unwrap().code()
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A `[[tokens]]` entry for `token`.
pub fn token_entry(name: &str, role: &str, token: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::digest(token.as_bytes()).iter().fold(String::new(), |mut hex, byte| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{byte:02x}");
        hex
    });
    format!("[[tokens]]\nname = \"{name}\"\nrole = \"{role}\"\nsha256 = \"{digest}\"\n")
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` over HTTP/1.1: the status code and the body, or `None` when
/// nothing answers.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let (_, body) = response.split_once("\r\n\r\n")?;
    Some((status, body.to_string()))
}

#[test]
fn serve_answers_health_and_lists_the_runbooks_checks() {
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let target_port = target.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("demo.md"),
        format!(
            "---\nrunbook: demo\n---\n# Demo\n\n```checks\n- name: api-port\n  tcp: 127.0.0.1:{target_port}\n```\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let server = Server(
        runwell()
            .arg("serve")
            .arg(dir.path())
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUNWELL_DB", dir.path().join("journal.db"))
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("runwell starts"),
    );

    wait_until("runwell serve", || get(port, "/healthz").is_some_and(|(status, body)| status == 200 && body == "ok"));
    let (status, body) = get(port, "/api/checks").expect("the server answers");
    assert_eq!(status, 200, "{body}");
    let checks: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        (&checks[0]["runbook"], &checks[0]["check"]),
        (&serde_json::json!("demo"), &serde_json::json!("api-port")),
        "{body}"
    );
    assert_eq!(checks[0]["target"], format!("127.0.0.1:{target_port}"));
    assert_eq!(get(port, "/readyz").map(|(status, _)| status), Some(200));
    drop(server);
}

#[test]
fn serve_without_tokens_refuses_to_listen_beyond_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let output = runwell()
        .args(["serve", ".", "--listen", "0.0.0.0:7070"])
        .env("RUNWELL_DB", dir.path().join("journal.db"))
        .current_dir(dir.path())
        .output()
        .expect("runwell runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("will not listen on 0.0.0.0:7070 without any `[[tokens]]`"), "{stderr}");
}

#[test]
fn serve_says_it_is_loopback_only_and_stops_cleanly_on_sigterm() {
    use std::io::BufRead as _;

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("demo.md"), "---\nrunbook: demo\n---\n# Demo\n").unwrap();
    let mut child = runwell()
        .args(["serve", ".", "--listen", "127.0.0.1:0"])
        .env("RUNWELL_DB", dir.path().join("journal.db"))
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("runwell starts");
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(line);
    }
    let mut server = Server(child);
    let address = lines[0].strip_prefix("listening on http://").expect("the address first").trim();
    assert!(address.starts_with("127.0.0.1:") && !address.ends_with(":0"), "{lines:?}");
    assert!(lines[1].starts_with("loopback only: no `[[tokens]]` are configured"), "{lines:?}");

    let pid = nix::unistd::Pid::from_raw(i32::try_from(server.0.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = server.0.wait().unwrap();
    assert_eq!((status.code(), rest.as_str()), (Some(0), "stopped\n"));
}

const DRAIN: &str = "---\nrunbook: drain\n---\n# Drain\n\n## Slow\n\n\
```sh\nsleep 2; echo first done\n```\n\n```sh\necho second ran\n```\n\n\
## Stuck\n\n```sh\nsleep 300\n```\n";

/// Waits until run `id`'s first step has started, reading the API.
fn until_step_started(served: &Served, id: i64) {
    wait_until("the run's first step", || {
        get(served.port, &format!("/api/runs/{id}/events"))
            .is_some_and(|(status, body)| status == 200 && body.contains("\"kind\":\"step_started\""))
    });
}

#[test]
fn sigterm_lets_the_running_step_finish_then_marks_the_run_interrupted() {
    let mut served = Served::start(&[("drain.md", DRAIN)], "shutdown_timeout = \"60s\"\n");
    let (status, body) = served.post("/api/runs", r#"{"runbook":"drain","procedure":"slow"}"#);
    assert_eq!(status, 202, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"].as_i64().unwrap();
    until_step_started(&served, id);
    // The CLI reads the same journal while the server runs.
    let runs = served.runs();
    assert_eq!((runs[0]["id"].as_i64(), runs[0]["status"].as_str()), (Some(id), Some("running")), "{runs}");

    assert_eq!(served.terminate(), Some(0));
    let runs = served.runs();
    assert_eq!(runs[0]["status"], "interrupted", "{runs}");
    let report = runwell()
        .args(["report", &id.to_string(), "--db"])
        .arg(served.dir.path().join("journal.db"))
        .output()
        .expect("runwell report");
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(report.contains("first done"), "the running step was let finish:\n{report}");
    assert!(report.contains("**Steps:** 1 succeeded · 1 not run"), "no step starts after SIGTERM:\n{report}");
    assert!(report.contains("runwell was stopping: the run ended between two steps"), "{report}");
}

#[test]
fn sigterm_stops_a_step_still_running_after_the_shutdown_timeout() {
    let mut served = Served::start(&[("drain.md", DRAIN)], "shutdown_timeout = \"1s\"\n");
    let (status, body) = served.post("/api/runs", r#"{"runbook":"drain","procedure":"stuck"}"#);
    assert_eq!(status, 202, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"].as_i64().unwrap();
    until_step_started(&served, id);
    assert_eq!(served.terminate(), Some(0));
    let runs = served.runs();
    assert_eq!(runs[0]["status"], "interrupted", "{runs}");
    assert!(served.logs().contains("were stopped"), "{}", served.logs());
}

/// The checks `/api/checks` lists, as `runbook/check`.
fn served_checks(served: &Served) -> Vec<String> {
    let (_, body) = get(served.port, "/api/checks").expect("the server answers");
    let checks: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    checks
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{}/{}", c["runbook"].as_str().unwrap(), c["check"].as_str().unwrap()))
        .collect()
}

fn with_checks(names: &[&str]) -> String {
    let items = names.iter().map(|name| format!("- name: {name}\n  tcp: 127.0.0.1:9\n")).collect::<Vec<_>>().concat();
    format!("---\nrunbook: live\n---\n# Live\n\n```checks\n{items}```\n")
}

#[test]
fn an_edited_runbook_is_reloaded_and_a_broken_edit_keeps_the_previous_version() {
    let mut served = Served::start(&[("live.md", &with_checks(&["one"]))], "");
    let file = served.dir.path().join("runbooks/live.md");
    assert_eq!(served_checks(&served), ["live/one"]);

    // Saved the way editors do: a new file renamed over the old one.
    let staged = served.dir.path().join("runbooks/.live.md.swp");
    std::fs::write(&staged, with_checks(&["one", "two"])).unwrap();
    std::fs::rename(&staged, &file).unwrap();
    wait_until("the edit to be served", || served_checks(&served) == ["live/one", "live/two"]);

    // A broken edit (a fence never closed) keeps what was served, and says why.
    std::fs::write(&file, with_checks(&["three"]).trim_end_matches("```\n")).unwrap();
    wait_until("the broken edit to be reported", || served.logs().contains("previous"));
    assert_eq!(served_checks(&served), ["live/one", "live/two"]);
    let (_, page) = get(served.port, "/").unwrap();
    assert!(page.contains("the previous version is still served"), "{page}");
    assert!(page.contains("unclosed-fence"), "{page}");

    // Fixed, and told by SIGHUP as well.
    std::fs::write(&file, with_checks(&["four"])).unwrap();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(served.server.0.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    wait_until("the fixed runbook to be served", || served_checks(&served) == ["live/four"]);
    let (_, page) = get(served.port, "/").unwrap();
    assert!(!page.contains("the previous version is still served"), "{page}");
    assert_eq!(served.terminate(), Some(0));
}

#[test]
fn a_check_changing_state_is_announced_to_the_webhook() {
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = target.local_addr().unwrap().port();
    let (hook, notifications) = crate::alertmanager::receiver();
    let runbook =
        format!("---\nrunbook: shop\n---\n# Shop\n\n```checks\n- name: api-port\n  tcp: 127.0.0.1:{port}\n```\n");
    let served = Served::start(
        &[("shop.md", &runbook)],
        &format!(
            "[scheduler]\ninterval = \"1s\"\nfail_threshold = 1\nsuccess_threshold = 1\njitter = 0.0\n\
             [[notify]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{hook}/hook?key=s3cret-hook-key\"\nevents = [\"check\"]\n"
        ),
    );
    wait_until("the check's first result", || {
        get(served.port, "/api/checks").is_some_and(|(_, body)| body.contains("\"state\":\"ok\""))
    });
    // The first state a server learns is not news; a change is.
    drop(target);
    let notice = notifications.recv_timeout(std::time::Duration::from_secs(30)).expect("a check_changed notification");
    let notice: serde_json::Value = serde_json::from_str(&notice).expect("JSON");
    assert_eq!(notice["event"], "check_changed", "{notice}");
    assert_eq!((notice["runbook"].as_str(), notice["check"].as_str()), (Some("shop"), Some("api-port")), "{notice}");
    assert_eq!((notice["from"].as_str(), notice["to"].as_str()), (Some("ok"), Some("critical")), "{notice}");
    assert!(served.logs().contains("check state changed"), "{}", served.logs());
    assert!(!served.logs().contains("s3cret-hook-key"), "the hook's secret reached the log");
}
