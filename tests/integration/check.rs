//! `runwell check`: the matrix, its formats, exit statuses and secrecy,
//! against real servers on loopback.

use crate::servers::{Redis, Silent, free_port};
use crate::test::Test;

/// Latencies and durations vary between runs: `1.2 ms`, `14 ms`, `1.3 s` → `T`.
fn normalize(text: &str) -> String {
    let duration = regex::Regex::new(r"\b\d+(\.\d+)? m?s\b").unwrap();
    duration.replace_all(text, "T").into_owned()
}

fn runbook(checks: &str) -> String {
    format!(
        "---\nrunbook: demo\nvars:\n  redis_port: \"6379\"\nsecrets:\n  password: {{ env: DEMO_PASSWORD }}\n---\n# Demo\n\n```checks\n{checks}```\n"
    )
}

#[test]
fn all_ok_prints_the_matrix_and_exits_0() {
    let redis = Redis::start(&std::env::temp_dir());
    let port = redis.port.to_string();
    let output = Test::new()
        .file(
            "demo.md",
            &runbook("- name: cache\n  layer: Redis\n  tcp: \"127.0.0.1:{{ redis_port }}\"\n- name: cache-again\n  layer: Redis\n  tcp: \"127.0.0.1:{{ redis_port }}\"\n"),
        )
        .args(&["check", "demo.md", "--set", &format!("redis_port={port}")])
        .status(0)
        .run();
    assert_eq!(
        normalize(&output.stdout),
        " LAYER  CHECK        EXPECTED  OBSERVED   STATUS  TIME\n \
         Redis  cache        connects  connected  ok      T\n \
         Redis  cache-again  connects  connected  ok      T\n\
         \n2 checks in T: 2 ok\n"
    );
}

#[test]
fn exit_status_is_the_worst_state_like_a_nagios_plugin() {
    let redis = Redis::start(&std::env::temp_dir());
    let up = format!("127.0.0.1:{}", redis.port);
    let down = format!("127.0.0.1:{}", free_port());
    let cases = [
        (format!("- name: up\n  tcp: {up}\n"), 0),
        (format!("- name: slowish\n  tcp: {up}\n  expect: latency_ms < 0\n  warn: connected\n"), 1),
        (format!("- name: up\n  tcp: {up}\n- name: down\n  tcp: {down}\n"), 2),
        (format!("- name: down\n  tcp: {down}\n- name: odd\n  tcp: {up}\n  expect: reply == 'x'\n"), 3),
    ];
    for (checks, status) in cases {
        Test::new().file("demo.md", &runbook(&checks)).args(&["check", "demo.md"]).status(status).run();
    }
}

#[test]
fn a_check_goes_critical_when_its_server_stops_and_ok_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let port = redis.port;
    let checks = format!("- name: cache\n  layer: Redis\n  redis: redis://127.0.0.1:{port}/0\n");
    let check = |status| {
        Test::new()
            .file("demo.md", &runbook(&checks))
            .args(&["check", "demo.md", "--format", "json"])
            .status(status)
            .run()
    };

    let up = check(0);
    assert!(up.stdout.contains(r#""status": "ok""#), "{}", up.stdout);

    redis.stop();
    let down = check(2);
    assert!(down.stdout.contains(&format!(r#""reason": "connection refused by 127.0.0.1:{port}""#)), "{}", down.stdout);

    let _back = Redis::on_port(dir.path(), port);
    check(0);
}

#[test]
fn json_has_every_check_and_a_summary() {
    let down = free_port();
    let output = Test::new()
        .file("demo.md", &runbook(&format!("- name: down\n  layer: Edge\n  tcp: 127.0.0.1:{down}\n")))
        .args(&["check", "demo.md", "--format", "json"])
        .status(2)
        .run();
    let json: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    let check = &json["checks"][0];
    assert_eq!(check["runbook"], "demo");
    assert_eq!(check["name"], "down");
    assert_eq!(check["layer"], "Edge");
    assert_eq!(check["kind"], "tcp");
    assert_eq!(check["target"], format!("127.0.0.1:{down}"));
    assert_eq!(check["status"], "critical");
    assert!(check["latency_ms"].is_number());
    assert_eq!(check["observed"], "");
    assert_eq!(check["reason"], format!("connection refused by 127.0.0.1:{down}"));
    assert_eq!(json["summary"], serde_json::json!({"ok": 0, "warning": 0, "critical": 1, "unknown": 0}));
}

#[test]
fn a_server_that_never_answers_is_critical_within_the_timeout() {
    let silent = Silent::start();
    let output = Test::new()
        .file("demo.md", &runbook(&format!("- name: mute\n  tcp: 127.0.0.1:{}\n  send: \"PING\\r\\n\"\n", silent.port)))
        .args(&["check", "demo.md", "--timeout", "300ms"])
        .status(2)
        .run();
    assert!(output.stdout.contains("critical mute: no answer within 300ms\n"), "{}", output.stdout);
}

#[test]
fn secrets_never_reach_any_output_format() {
    let redis = Redis::start(&std::env::temp_dir());
    let checks = format!(
        "- name: auth\n  tcp: 127.0.0.1:{}\n  send: \"AUTH {{{{ password }}}}\\r\\n\"\n  expect: \"'OK' in reply\"\n",
        redis.port
    );
    for format in ["text", "json", "nagios", "prometheus"] {
        let output = Test::new()
            .file("demo.md", &runbook(&checks))
            .env("DEMO_PASSWORD", "hunter2-secret")
            .args(&["check", "demo.md", "--format", format])
            .run_any();
        assert!(!output.stdout.contains("hunter2"), "{format} leaks the secret:\n{}", output.stdout);
        assert!(!output.stderr.contains("hunter2"), "{format} leaks the secret:\n{}", output.stderr);
    }
}

#[test]
fn a_redis_password_never_reaches_any_output_format_right_or_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::with_password(dir.path(), "s3cret-pass");
    let checks = format!(
        "- name: right\n  redis: redis://127.0.0.1:{port}/0\n  password: \"{{{{ password }}}}\"\n\
         - name: in-url\n  redis: \"redis://:{{{{ password }}}}@127.0.0.1:{port}/0\"\n",
        port = redis.port
    );
    for (password, status) in [("s3cret-pass", 0), ("wrong-pass", 2)] {
        for format in ["text", "json", "nagios", "prometheus"] {
            let output = Test::new()
                .file("demo.md", &runbook(&checks))
                .env("DEMO_PASSWORD", password)
                .args(&["check", "demo.md", "--format", format])
                .status(status)
                .run();
            for leaked in ["s3cret", "wrong-pass"] {
                assert!(!output.stdout.contains(leaked), "{format} shows `{leaked}`:\n{}", output.stdout);
            }
        }
    }
}

#[test]
fn an_unset_secret_makes_its_check_unknown_and_says_how_to_set_it() {
    let output = Test::new()
        .file("demo.md", &runbook("- name: auth\n  tcp: 127.0.0.1:1\n  send: \"AUTH {{ password }}\"\n"))
        .args(&["check", "demo.md"])
        .status(3)
        .run();
    assert!(
        output.stdout.contains("unknown auth: secret `password` is not set (export DEMO_PASSWORD)\n"),
        "{}",
        output.stdout
    );
}

#[test]
fn a_check_that_cannot_be_read_is_an_unknown_row_not_a_silent_pass() {
    let output = Test::new()
        .file("demo.md", &runbook("- name: fine\n  tcp: 127.0.0.1:1\n- name: no-probe\n  layer: Edge\n"))
        .args(&["check", "demo.md", "--format", "json"])
        .status(3)
        .run();
    let json: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(json["summary"], serde_json::json!({"ok": 0, "warning": 0, "critical": 1, "unknown": 1}));
    let reason = json["checks"][1]["reason"].as_str().unwrap();
    assert!(reason.starts_with("demo.md:13: check `no-probe` names no probe"), "{reason}");
}

#[test]
fn only_runs_the_named_checks_and_rejects_unknown_names_with_status_3() {
    let output = Test::new()
        .file("demo.md", &runbook("- name: one\n  tcp: 127.0.0.1:1\n- name: two\n  tcp: 127.0.0.1:1\n"))
        .args(&["check", "demo.md", "--only", "two", "--format", "json"])
        .status(2)
        .run();
    assert!(!output.stdout.contains(r#""name": "one""#));
    Test::new()
        .file("demo.md", &runbook("- name: one\n  tcp: 127.0.0.1:1\n"))
        .args(&["check", "demo.md", "--only", "onr"])
        .stderr("error: no check is called `onr` (did you mean `one`?); `runwell list` shows a runbook's checks\n")
        .status(3)
        .run();
}

#[test]
fn usage_errors_exit_3_so_a_monitoring_system_reads_unknown() {
    Test::new().args(&["check", "missing.md"]).status(3).run();
    Test::new()
        .file("demo.md", "# Nothing to check\n")
        .args(&["check", "demo.md"])
        .stderr("error: demo.md defines no checks\n")
        .status(3)
        .run();
    Test::new()
        .file("demo.md", &runbook("- name: one\n  tcp: 127.0.0.1:1\n"))
        .args(&["check", "demo.md", "--env", "prod"])
        .status(3)
        .run();
    Test::new()
        .file("demo.md", &runbook("- name: one\n  tcp: 127.0.0.1:1\n"))
        .args(&["check", "demo.md", "--timeout", "soon"])
        .status(3)
        .run();
    // other subcommands keep their own convention
    Test::new().args(&["lint", "--bogus"]).status(2).run();
}

#[test]
fn nagios_format_is_one_status_line_with_perfdata_then_details() {
    let down = free_port();
    let output = Test::new()
        .file("demo.md", &runbook(&format!("- name: down\n  tcp: 127.0.0.1:{down}\n")))
        .args(&["check", "demo.md", "--format", "nagios"])
        .status(2)
        .run();
    let mut lines = output.stdout.lines();
    let first = lines.next().unwrap();
    assert!(
        first.starts_with(&format!(
            "RUNWELL CRITICAL - 1 critical; down: connection refused by 127.0.0.1:{down} | down_time="
        )),
        "{first}"
    );
    assert_eq!(lines.next(), Some(format!("[CRITICAL] down: connection refused by 127.0.0.1:{down}").as_str()));
}

#[test]
fn prometheus_format_exports_state_up_and_latency_per_check() {
    let down = free_port();
    let output = Test::new()
        .file("demo.md", &runbook(&format!("- name: down\n  layer: Edge \"A\"\n  tcp: 127.0.0.1:{down}\n")))
        .args(&["check", "demo.md", "--format", "prometheus"])
        .status(2)
        .run();
    let labels = r#"runbook="demo",check="down",layer="Edge \"A\"",kind="tcp""#;
    assert!(output.stdout.contains(&format!("runwell_check_status{{{labels}}} 2\n")), "{}", output.stdout);
    assert!(output.stdout.contains(&format!("runwell_check_up{{{labels}}} 0\n")), "{}", output.stdout);
    assert!(output.stdout.contains("# TYPE runwell_check_latency_seconds gauge\n"));
}

#[test]
fn ctrl_c_stops_the_run_and_leaves_no_check_process_behind() {
    let test = Test::new();
    let pidfile = test.path().join("sleeper.pid");
    let runbook = runbook(&format!(
        "- name: hangs\n  command: \"sleep 1000 & echo $! > {} && wait\"\n  timeout: 1h\n",
        pidfile.display()
    ));
    std::fs::write(test.path().join("demo.md"), runbook).unwrap();
    let child = crate::test::runwell()
        .args(["check", "demo.md"])
        .current_dir(test.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    crate::servers::wait_until("the check's sleep to start", || {
        std::fs::read_to_string(&pidfile).is_ok_and(|pid| pid.trim().parse::<i32>().is_ok())
    });
    let sleeper: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id().cast_signed()), nix::sys::signal::Signal::SIGINT)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "interrupted: no result\n");
    crate::servers::wait_until("the check's sleep to be gone", || gone(sleeper));
}

/// Whether `pid` no longer runs (a zombie counts: this container's init
/// does not reap orphans).
fn gone(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_or(true, |stat| stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])))
}
