//! Debian's real `prometheus-alertmanager` sends its webhook to `runwell
//! serve`: a firing alert starts the runbook's mapped playbook, which runs
//! its read-only diagnosis by itself and waits for a person before the step
//! that writes; the resolution is noted in the run's journal; a webhook
//! receiver hears of the run. Waits poll the servers' own answers.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::serve::{Served, token_entry};
use crate::servers::{free_port, wait_until};

const AM_TOKEN: &str = "alertmanager-token-Rz81kQw0Pn5Tx";
const ADMIN_TOKEN: &str = "ada-admin-token-Jv62cYs9Lm3Ue";

struct Alertmanager {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    fn start(runwell_port: u16) -> Alertmanager {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "route:\n  receiver: runwell\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: runwell\n    webhook_configs:\n      - url: http://127.0.0.1:{runwell_port}/hooks/alertmanager\n\
             \x20       send_resolved: true\n        http_config:\n          authorization:\n            type: Bearer\n\
             \x20           credentials: {AM_TOKEN}\n"
        );
        std::fs::write(dir.path().join("alertmanager.yml"), config).unwrap();
        let port = free_port();
        let child = Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", dir.path().join("alertmanager.yml").display()))
            .arg(format!("--storage.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-alertmanager runs (scripts/setup installs it)");
        let alertmanager = Alertmanager { port, child, _dir: dir };
        wait_until("alertmanager", || http("GET", port, "/-/ready", None, "").is_some_and(|(status, _)| status == 200));
        alertmanager
    }

    /// Posts alerts to Alertmanager's own API, as Prometheus would.
    fn alert(&self, alerts: &serde_json::Value) {
        let (status, body) =
            http("POST", self.port, "/api/v2/alerts", None, &alerts.to_string()).expect("alertmanager answers");
        assert_eq!(status, 200, "{body}");
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request: the status and the body.
fn http(method: &str, port: u16, path: &str, token: Option<&str>, body: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let (head, rest) = response.split_once("\r\n\r\n")?;
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { unchunk(rest) } else { rest.to_owned() };
    Some((status, body))
}

fn unchunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        text = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// A webhook receiver: every request body it gets, on a channel.
pub fn receiver() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, bodies) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            if sender.send(String::from_utf8_lossy(&body).into_owned()).is_err() {
                return;
            }
        }
    });
    (port, bodies)
}

fn runbook(marker: &std::path::Path) -> String {
    format!(
        "---\nrunbook: shop\nalerts:\n  - match: {{ alertname: ShopDown }}\n    run: shop-down\n---\n# Shop\n\n\
         ## Shop down\n\nLook first, then restart.\n\n```sh\necho diagnosing the shop\n```\n\n\
         ```sh\ntouch {}\n```\n",
        marker.display()
    )
}

#[test]
fn a_firing_alert_runs_the_mapped_playbook_until_a_person_must_confirm() {
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("restarted");
    let (hook_port, notifications) = receiver();
    let served = Served::start(
        &[("shop.md", &runbook(&marker))],
        &format!(
            "{}{}[[notify]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{hook_port}/hook\"\nevents = [\"run\"]\n",
            token_entry("alertmanager", "operator", AM_TOKEN),
            token_entry("ada", "admin", ADMIN_TOKEN)
        ),
    );
    let alertmanager = Alertmanager::start(served.port);
    alertmanager.alert(&serde_json::json!([{
        "labels": {"alertname": "ShopDown", "severity": "critical"},
        "annotations": {"summary": "the shop answers nothing"},
    }]));

    // The run starts, runs the diagnosis and stops before the write.
    let mut run = serde_json::Value::Null;
    wait_until("the alert's run waiting for a person", || {
        let Some((200, body)) = http("GET", served.port, "/api/runs", Some(ADMIN_TOKEN), "") else { return false };
        run = serde_json::from_str::<serde_json::Value>(&body).unwrap()[0].clone();
        !run["question"].is_null()
    });
    assert_eq!(
        (run["procedure"].as_str(), run["operator"].as_str()),
        (Some("shop-down"), Some("alertmanager")),
        "{run}"
    );
    let prompt = run["question"]["prompt"].as_str().unwrap();
    assert!(prompt.contains("this run may do only `read` steps by itself: a person must confirm it"), "{prompt}");
    assert!(!marker.exists(), "the write step ran without a person");
    let id = run["id"].as_i64().unwrap();
    let events = |port| http("GET", port, &format!("/api/runs/{id}/events"), Some(ADMIN_TOKEN), "").unwrap().1;
    let journal = events(served.port);
    assert!(journal.contains("started by alert ShopDown"), "{journal}");
    assert!(journal.contains("diagnosing the shop\\n"), "{journal}");

    // The alert and what it started are in the server's alert history.
    let (_, alerts) = http("GET", served.port, "/api/alerts", Some(ADMIN_TOKEN), "").unwrap();
    assert!(alerts.contains("ShopDown"), "{alerts}");

    // It resolves: the run's journal says so.
    alertmanager.alert(&serde_json::json!([{
        "labels": {"alertname": "ShopDown", "severity": "critical"},
        "annotations": {"summary": "the shop answers nothing"},
        "endsAt": "2000-01-01T00:00:00Z",
    }]));
    wait_until("the resolution in the run's journal", || events(served.port).contains("resolved"));

    // A person confirms the write; the run finishes.
    let answer = serde_json::json!({"question": run["question"]["id"], "accepted": true}).to_string();
    let (status, body) =
        http("POST", served.port, &format!("/api/runs/{id}/answer"), Some(ADMIN_TOKEN), &answer).unwrap();
    assert_eq!(status, 204, "{body}");
    wait_until("the run to succeed", || {
        http("GET", served.port, &format!("/api/runs/{id}"), Some(ADMIN_TOKEN), "")
            .is_some_and(|(_, body)| body.contains("\"status\":\"succeeded\""))
    });
    assert!(marker.exists(), "the confirmed write step ran");
    let runs = http("GET", served.port, "/api/runs", Some(ADMIN_TOKEN), "").unwrap().1;
    assert_eq!(serde_json::from_str::<serde_json::Value>(&runs).unwrap().as_array().unwrap().len(), 1, "{runs}");

    // The webhook receiver heard of the run starting and ending.
    let started = notifications.recv_timeout(Duration::from_secs(30)).expect("a run_started notification");
    assert!(started.contains("\"event\":\"run_started\"") && started.contains("\"runbook\":\"shop\""), "{started}");
    let finished = notifications.recv_timeout(Duration::from_secs(30)).expect("a run_finished notification");
    assert!(finished.contains("\"event\":\"run_finished\"") && finished.contains("succeeded"), "{finished}");

    let logs = served.logs();
    assert!(logs.contains("alert started a run"), "{logs}");
    for token in [AM_TOKEN, ADMIN_TOKEN] {
        assert!(!logs.contains(token), "a token reached the log:\n{logs}");
    }
}
