//! `runwell run` beyond straight lines: alternatives, `when=`, retries,
//! rollback of completed steps, and `--from` resuming a failed run.

use runwell::journal::{Event, SqliteStore, Status, StepOutcome, Store};

use crate::test::{Test, finished_steps as steps};

fn runbook(body: &str) -> String {
    format!("---\nrunbook: demo\nvars:\n  mode: {{ default: fast }}\n---\n# Demo\n\n## Fix it\n\n{body}")
}

fn notes(store: &SqliteStore, run: i64) -> Vec<String> {
    store
        .events(run)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::Note { text } => Some(text),
            _ => None,
        })
        .collect()
}

const CHOICE: &str = "```sh {name=look}\necho looking\n```\n\n### Option A: restart\n\n```sh {name=restart}\ntouch restarted\n```\n\n### Option B: drain\n\n```sh {name=drain}\ntouch drained\n```\n\n### Verify\n\n```sh {name=verify}\ntouch verified\n```\n";

#[test]
fn an_option_runs_only_the_chosen_alternative_then_what_follows() {
    let test = Test::new().file("demo.md", &runbook(CHOICE));
    let output =
        test.args(&["run", "demo.md", "fix-it", "--db", "journal.db", "--option", "b"]).status(0).run_in_place();
    assert!(output.path.join("drained").exists());
    assert!(!output.path.join("restarted").exists());
    assert!(output.path.join("verified").exists(), "the section after the options runs either way");
    let store = output.journal();
    let ids: Vec<String> = steps(&store, 1).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["look", "drain", "verify"]);
    assert_eq!(notes(&store, 1), ["option: Option B: drain (--option)"]);
}

#[test]
fn a_choice_without_a_terminal_or_option_is_refused_before_anything_runs() {
    let test = Test::new().file("demo.md", &runbook(CHOICE));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db"]).status(2).run_in_place();
    assert!(
        output.stderr.contains("pass `--option A` (Option A: restart) or `--option B` (Option B: drain)"),
        "{}",
        output.stderr
    );
    assert!(!output.path.join("journal.db").exists(), "refused before the run started");

    let test = Test::new().file("demo.md", &runbook(CHOICE));
    let output =
        test.args(&["run", "demo.md", "fix-it", "--db", "journal.db", "--option", "c"]).status(2).run_in_place();
    assert!(
        output.stderr.contains("`--option c` names no alternative of this procedure; it offers `A`, `B`"),
        "{}",
        output.stderr
    );
}

#[test]
fn the_operator_picks_an_option_on_the_terminal() {
    let test = Test::new().file("demo.md", &runbook(CHOICE));
    let output = test
        .args(&["run", "demo.md", "fix-it", "--db", "journal.db", "--operator", "alice"])
        .env("RUNWELL_INTERACTIVE", "1")
        .stdin("1\n")
        .status(0)
        .run_in_place();
    assert!(output.stderr.contains("  1) Option A: restart\n  2) Option B: drain\nChoose 1-2: "), "{}", output.stderr);
    assert!(output.path.join("restarted").exists());
    assert_eq!(notes(&output.journal(), 1), ["option: Option A: restart (chosen by alice)"]);
}

#[test]
fn when_skips_a_step_on_earlier_results_and_an_unjudgeable_condition_fails() {
    let body = "```sh {name=probe continue-on-error}\nexit 3\n```\n\n```sh {name=on-failure when=\"steps.probe.exit_code == 3\"}\ntouch handled\n```\n\n```sh {name=on-success when=\"steps.probe.succeeded\"}\ntouch wrong\n```\n\n```sh {name=by-var when=\"mode == 'slow'\"}\ntouch slow\n```\n";
    let test = Test::new().file("demo.md", &runbook(body));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db"]).status(0).run_in_place();
    assert!(output.path.join("handled").exists());
    assert!(!output.path.join("wrong").exists());
    assert!(!output.path.join("slow").exists());
    assert!(output.stdout.contains("skipped: when=steps.probe.succeeded is false"), "{}", output.stdout);
    let outcomes: Vec<StepOutcome> = steps(&output.journal(), 1).into_iter().map(|(_, o)| o).collect();
    assert_eq!(outcomes, [StepOutcome::Failed, StepOutcome::Succeeded, StepOutcome::Skipped, StepOutcome::Skipped]);

    let body = "```sh {name=guarded when=\"steps.nothing.succeeded\"}\ntouch ran\n```\n";
    let test = Test::new().file("demo.md", &runbook(body));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db"]).status(1).run_in_place();
    assert!(!output.path.join("ran").exists(), "a condition that cannot be judged never runs the step");
    assert!(output.stdout.contains("`when=steps.nothing.succeeded` cannot be evaluated"), "{}", output.stdout);
}

#[test]
fn retries_run_a_failing_step_again_and_record_each_attempt() {
    // Fails twice, then succeeds: counts its attempts in a file.
    let body = "```sh {name=flaky retries=2}\necho x >> attempts\n[ $(wc -l < attempts) -ge 3 ]\n```\n";
    let test = Test::new().file("demo.md", &runbook(body));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db"]).status(0).run_in_place();
    assert_eq!(std::fs::read_to_string(output.path.join("attempts")).unwrap().lines().count(), 3);
    assert_eq!(
        notes(&output.journal(), 1),
        ["attempt 1 failed (exit status 1); trying again", "attempt 2 failed (exit status 1); trying again"]
    );
}

#[test]
fn a_failure_rolls_back_completed_steps_newest_first() {
    let body = "```sh {name=one}\necho one >> done\n```\n\n```sh {rollback}\necho undo-one >> done\n```\n\n```sh {name=two}\necho two >> done\n```\n\n```sh {rollback}\necho undo-two >> done\n```\n\n```sh {name=three}\nfalse\n```\n\n```sh {rollback}\necho undo-three >> done\n```\n";
    let test = Test::new().file("demo.md", &runbook(body));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db"]).status(1).run_in_place();
    let done = std::fs::read_to_string(output.path.join("done")).unwrap();
    assert_eq!(done, "one\ntwo\nundo-two\nundo-one\n", "the failed step's own rollback does not run");
    let store = output.journal();
    let ids: Vec<String> = steps(&store, 1).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["one", "two", "three", "two.rollback", "one.rollback"]);
    assert_eq!(store.run(1).unwrap().status, Status::Failed);
    assert!(output.stdout.ends_with("run 1 failed: step `three`: exit status 1\n"), "{}", output.stdout);
}

#[test]
fn a_rollback_that_fails_stops_the_rest_and_says_what_was_not_undone() {
    let body = "```sh {name=one}\ntrue\n```\n\n```sh {rollback}\necho undo-one >> done\n```\n\n```sh {name=two}\ntrue\n```\n\n```sh {rollback}\nexit 4\n```\n\n```sh {name=three}\nfalse\n```\n";
    let test = Test::new().file("demo.md", &runbook(body));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db"]).status(1).run_in_place();
    assert!(!output.path.join("done").exists());
    assert_eq!(
        notes(&output.journal(), 1),
        ["rollback `two.rollback` did not complete (step `two.rollback`: exit status 4); not rolled back: one"]
    );
}

#[test]
fn from_resumes_a_failed_run_at_a_step_linked_to_the_original() {
    let body = "```sh {name=prepare}\necho prepared >> log\n```\n\n```sh {name=fix}\ntest -f fixed\necho fixed >> log\n```\n\n```sh {name=verify when=\"steps.prepare.succeeded\"}\necho verified >> log\n```\n";
    let test = Test::new().file("demo.md", &runbook(body));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db"]).status(1).run_in_place();
    let dir = output.path.clone();
    // The operator fixes the cause, then resumes where it failed.
    std::fs::write(dir.join("fixed"), "").unwrap();
    let resumed = crate::test::runwell()
        .args(["run", "demo.md", "fix-it", "--db", "journal.db", "--from", "fix"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert_eq!(resumed.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("resumes run 1 at step `fix`"), "{stdout}");
    assert_eq!(std::fs::read_to_string(dir.join("log")).unwrap(), "prepared\nfixed\nverified\n");
    let store = SqliteStore::open(&dir.join("journal.db")).unwrap();
    assert_eq!(store.run(2).unwrap().info.resumed_from, Some(1));
    let ids: Vec<String> = steps(&store, 2).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["fix", "verify"], "`when=` on `prepare` saw run 1's result");

    let unknown = crate::test::runwell()
        .args(["run", "demo.md", "fix-it", "--db", "journal.db", "--from", "fixx"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("has no step `fixx` (did you mean `fix`?)"));
}

/// A runbook with connections to the machine's database server and a Redis of
/// the test's own, and an HTTP API on `port`.
fn connected(redis_port: u16, http_port: u16, body: &str) -> String {
    format!(
        "---\nrunbook: demo\nvars:\n  label: x\n  key: {{ default: k }}\nconnections:\n  db: postgres://postgres@127.0.0.1:5432/postgres\n  cache: redis://127.0.0.1:{redis_port}/0\n---\n# Demo\n\n## Fix it\n\n{body}"
    )
    .replace("HTTP_PORT", &http_port.to_string())
}

#[test]
fn sql_redis_and_http_steps_run_on_their_connections_with_values_kept_whole() {
    let dir = tempfile::tempdir().unwrap();
    let redis = crate::servers::Redis::start(dir.path());
    // An HTTP API that accepts one request and answers 202 with JSON.
    let api = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let http_port = api.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        let (stream, _) = api.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut request = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            request.push_str(&line);
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let body = "{\"queued\": true}";
        write!(reader.get_mut(), "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
        request
    });
    let body = "```sql {name=query conn=db}\nSELECT {{ label }}::text AS label, 2 AS n;\n```\n\n```redis {name=cache conn=cache}\nSET {{ key }} {{ label }}\nGET {{ key }}\n```\n\n```http {name=call expect=\"status == 202 and json.queued\"}\nPOST http://127.0.0.1:HTTP_PORT/api/{{ key }}\nX-Label: {{ label }}\n```\n";
    let test = Test::new().file("demo.md", &connected(redis.port, http_port, body));
    let hostile = "x'; DROP TABLE t; --";
    let output = test
        .args(&[
            "run",
            "demo.md",
            "fix-it",
            "--db",
            "journal.db",
            "--set",
            &format!("label={hostile}"),
            "--set",
            "key=a b",
            "--yes",
        ])
        .status(0)
        .run_in_place();
    // The value is one SQL literal, one Redis argument, and the API said yes.
    assert!(output.stdout.contains(&format!(" {hostile} |")), "{}", output.stdout);
    assert!(output.stdout.contains("(1 row)"), "{}", output.stdout);
    assert!(
        output.stdout.contains("SET \"a b\" \"x'; DROP TABLE t; --\"\n"),
        "shown argument by argument: {}",
        output.stdout
    );
    assert!(output.stdout.contains("OK\n\"x'; DROP TABLE t; --\"\n"), "{}", output.stdout);
    assert!(output.stdout.contains("HTTP/1.1 202 Accepted"), "{}", output.stdout);
    let request = server.join().unwrap();
    assert!(request.starts_with("POST /api/a%20b HTTP/1.1\r\n"), "{request}");
    assert!(request.contains("x-label: x'; DROP TABLE t; --\r\n"), "{request}");
    let store = output.journal();
    assert!(steps(&store, 1).iter().all(|(_, o)| *o == StepOutcome::Succeeded));
}

#[test]
fn a_sql_error_fails_the_step_with_its_sqlstate_and_an_http_expectation_can_fail_it_too() {
    let dir = tempfile::tempdir().unwrap();
    let redis = crate::servers::Redis::start(dir.path());
    let body = "```sql {name=broken conn=db}\nSELECT * FROM no_such_table_anywhere;\n```\n";
    let test = Test::new().file("demo.md", &connected(redis.port, 1, body));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db"]).status(1).run_in_place();
    assert!(output.stderr.contains("42P01"), "{}", output.stderr);
    assert!(output.stdout.contains("run 1 failed: step `broken`:"), "{}", output.stdout);
}

#[test]
fn ctrl_c_stops_the_running_step_and_records_the_run_aborted() {
    let body =
        "```sh {name=hangs}\nsleep 1000 & echo $! > sleeper.pid\nwait\n```\n\n```sh {name=after}\ntouch after\n```\n";
    let test = Test::new().file("demo.md", &runbook(body));
    let dir = test.path().to_owned();
    let child = crate::test::runwell()
        .args(["run", "demo.md", "fix-it", "--db", "journal.db"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pidfile = dir.join("sleeper.pid");
    crate::servers::wait_until("the step's sleep to start", || {
        std::fs::read_to_string(&pidfile).is_ok_and(|pid| pid.trim().parse::<i32>().is_ok())
    });
    let sleeper: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id().cast_signed()), nix::sys::signal::Signal::SIGINT)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "{stdout}");
    assert!(stdout.ends_with("run 1 stopped: interrupted by the operator (Ctrl-C)\n"), "{stdout}");
    assert!(!dir.join("after").exists(), "no step runs after Ctrl-C");
    crate::servers::wait_until("the step's sleep to be stopped with its group", || {
        std::fs::read_to_string(format!("/proc/{sleeper}/stat")).map_or(true, |stat| {
            stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
        })
    });
    let store = SqliteStore::open(&dir.join("journal.db")).unwrap();
    assert_eq!(store.run(1).unwrap().status, Status::Aborted);
    assert_eq!(steps(&store, 1), [("hangs".to_owned(), StepOutcome::Aborted)]);
}
