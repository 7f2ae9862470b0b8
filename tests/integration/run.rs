//! `runwell run`: procedures run step by step, with confirmations, dry-run
//! and a journal, driving the real binary; the journal is read back through
//! the library.

use runwell::journal::{Event, SqliteStore, Status, StepOutcome, Store};

use crate::test::Test;

fn runbook(body: &str) -> String {
    format!(
        "---\nrunbook: demo\nvars:\n  label: x\n  target: {{ description: what to touch }}\nsecrets:\n  token: {{ env: DEMO_TOKEN }}\nenvironments:\n  staging: {{ label: s }}\n---\n# Demo\n\n## Fix it\n\n{body}"
    )
}

fn kinds(store: &SqliteStore, run: i64) -> Vec<&'static str> {
    store.events(run).unwrap().iter().map(|r| r.event.kind()).collect()
}

#[test]
fn a_procedure_runs_its_steps_in_order_and_journals_each() {
    let test = Test::new()
        .file("demo.md", &runbook("```sh\necho first {{ label }}\n```\n\n```sh {name=second}\necho second >&2\n```\n"));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db"]).status(0).run_in_place();
    assert!(output.stdout.contains("first x\n"), "{}", output.stdout);
    assert!(output.stderr.contains("second\n"), "{}", output.stderr);
    assert!(output.stdout.ends_with("run 1 succeeded\n"), "{}", output.stdout);
    let store = output.journal();
    assert_eq!(store.run(1).unwrap().status, Status::Succeeded);
    assert_eq!(
        kinds(&store, 1),
        [
            "run_started",
            "step_started",
            "output",
            "step_finished",
            "step_started",
            "output",
            "step_finished",
            "run_finished"
        ]
    );
    assert!(store.verify().unwrap().is_intact(), "the chain verifies");
}

#[test]
fn a_failing_step_stops_the_run_and_later_steps_never_run() {
    let test = Test::new()
        .file("demo.md", &runbook("```sh {name=breaks}\nfalse\n```\n\n```sh {name=never}\ntouch never-ran\n```\n"));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db"]).status(1).run_in_place();
    assert!(output.stdout.ends_with("run 1 failed: step `breaks`: exit status 1\n"), "{}", output.stdout);
    assert!(!output.path.join("never-ran").exists());
    assert_eq!(output.journal().run(1).unwrap().status, Status::Failed);
}

#[test]
fn a_hostile_value_stays_one_argument_and_runs_nothing() {
    let test = Test::new().file("demo.md", &runbook("```sh\nprintf '[%s]\\n' {{ label }}\n```\n"));
    let output = test
        .args(&["run", "demo.md", "fix-it", "--db", "journal.db", "--set", "label=x; touch pwned"])
        .status(0)
        .run_in_place();
    assert!(output.stdout.contains("[x; touch pwned]\n"), "{}", output.stdout);
    assert!(!output.path.join("pwned").exists(), "the value ran as code");
}

#[test]
fn secrets_are_masked_on_the_terminal_and_in_the_journal() {
    let test = Test::new()
        .file("demo.md", &runbook("```sh\necho \"token is {{ token }}\"\n```\n"))
        .env("DEMO_TOKEN", "hunter2-secret");
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db"]).status(0).run_in_place();
    assert!(!output.stdout.contains("hunter2"), "{}", output.stdout);
    assert!(output.stdout.contains("token is ********"), "{}", output.stdout);
    for record in output.journal().events(1).unwrap() {
        let json = serde_json::to_string(&record.event).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
        if let Event::Output { bytes, .. } = &record.event {
            assert!(!String::from_utf8_lossy(bytes).contains("hunter2"));
        }
    }
}

#[test]
fn confirmations_need_an_answer_and_never_assume_one() {
    let body = "```sh {confirm}\ntouch confirmed\n```\n";
    let test = Test::new().file("demo.md", &runbook(body));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db"]).status(1).run_in_place();
    assert!(
        output.stdout.ends_with("run 1 stopped: no terminal to ask on; pass --yes to answer\n"),
        "{}",
        output.stdout
    );
    assert!(!output.path.join("confirmed").exists());

    let test = Test::new().file("demo.md", &runbook(body));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db", "--yes"]).status(0).run_in_place();
    assert!(output.path.join("confirmed").exists());
    let answered = output.journal().events(1).unwrap().into_iter().find_map(|r| match r.event {
        Event::ConfirmationAnswered { answer, accepted, .. } => Some((answer, accepted)),
        _ => None,
    });
    assert_eq!(answered, Some(("--yes".to_owned(), true)));
}

#[test]
fn a_destructive_step_needs_the_name_typed_and_yes_is_not_enough() {
    let body = "```sh\nrm -rf ./scratch\n```\n";
    let test = Test::new().file("demo.md", &runbook(body)).file("scratch/keep", "");
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db", "--yes"]).status(1).run_in_place();
    assert!(output.stdout.contains("pass --confirm-destructive demo to answer"), "{}", output.stdout);
    assert!(output.path.join("scratch/keep").exists());

    let test = Test::new().file("demo.md", &runbook(body)).file("scratch/keep", "");
    let output = test
        .args(&["run", "demo.md", "fix-it", "--db", "journal.db", "--confirm-destructive", "staging"])
        .status(1)
        .run_in_place();
    assert!(output.path.join("scratch/keep").exists(), "a wrong name must not confirm");

    let test = Test::new().file("demo.md", &runbook(body)).file("scratch/keep", "");
    let output = test
        .args(&["run", "demo.md", "fix-it", "--db", "journal.db", "--confirm-destructive", "demo"])
        .status(0)
        .run_in_place();
    assert!(!output.path.join("scratch").exists());
}

#[test]
fn dry_run_runs_read_steps_and_only_prints_the_others() {
    let body = "```sh {name=look}\necho looked > evidence\n```\n\n```sh {name=change}\ntouch changed\n```\n";
    // `echo > file` writes, so `look` is a write too: use a pure read.
    let body = body.replace("echo looked > evidence", "echo looked");
    let test = Test::new().file("demo.md", &runbook(&body));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db", "--dry-run"]).status(0).run_in_place();
    assert!(output.stdout.contains("looked\n"), "the read step really ran:\n{}", output.stdout);
    assert!(output.stdout.contains("    touch changed\n(dry run: not run, it is a write step)\n"), "{}", output.stdout);
    assert!(!output.path.join("changed").exists());
    let outcomes: Vec<StepOutcome> = output
        .journal()
        .events(1)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::StepFinished { outcome, .. } => Some(outcome),
            _ => None,
        })
        .collect();
    assert_eq!(outcomes, [StepOutcome::Succeeded, StepOutcome::DryRun]);
}

#[test]
fn a_manual_step_is_acknowledged_explicitly_and_recorded_with_who() {
    let test = Test::new().file("demo.md", &runbook("- [ ] Tell the incident channel\n"));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db"]).status(1).run_in_place();
    assert!(output.stdout.contains("pass --ack to answer"), "{}", output.stdout);

    let test = Test::new().file("demo.md", &runbook("- [ ] Tell the incident channel\n"));
    let output = test
        .args(&["run", "demo.md", "fix-it", "--db", "journal.db", "--ack", "--operator", "alice"])
        .status(0)
        .run_in_place();
    let acknowledged = output.journal().events(1).unwrap().into_iter().find_map(|r| match r.event {
        Event::Acknowledged { item, by, .. } => Some((item, by)),
        _ => None,
    });
    assert_eq!(acknowledged, Some(("Tell the incident channel".to_owned(), "alice".to_owned())));
}

#[test]
fn a_missing_value_stops_the_run_before_it_starts_naming_the_flag() {
    let test = Test::new().file("demo.md", &runbook("```sh\ntouch {{ target }}\n```\n"));
    let output = test.args(&["run", "demo.md", "fix-it", "--db", "journal.db"]).status(2).run_in_place();
    assert_eq!(output.stderr, "error: the procedure needs values for target; pass --set target=…\n");
}

#[test]
fn kill_9_mid_step_leaves_the_journal_intact_and_the_run_interrupted() {
    let test = Test::new().file("demo.md", &runbook("```sh {name=hangs}\necho $$ > step.pid\nsleep 1000\n```\n"));
    let dir = test.path().to_owned();
    let mut runwell = crate::test::runwell()
        .args(["run", "demo.md", "fix-it", "--db", "journal.db"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::servers::wait_until("the step to start", || {
        std::fs::read_to_string(dir.join("step.pid")).is_ok_and(|pid| pid.trim().parse::<i32>().is_ok())
    });
    runwell.kill().unwrap(); // SIGKILL
    runwell.wait().unwrap();
    let step: i32 = std::fs::read_to_string(dir.join("step.pid")).unwrap().trim().parse().unwrap();
    // runwell could not clean up after SIGKILL: the step's group is ours to stop.
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(step), nix::sys::signal::Signal::SIGKILL);

    let mut store = SqliteStore::open(&dir.join("journal.db")).unwrap();
    assert_eq!(store.run(1).unwrap().status, Status::Running);
    assert_eq!(store.mark_interrupted(&runwell::journal::host_name()).unwrap(), [1]);
    assert_eq!(store.run(1).unwrap().status, Status::Interrupted);
    assert!(kinds(&store, 1).starts_with(&["run_started", "step_started"]), "the step was recorded before it started");
    assert!(store.verify().unwrap().is_intact());
    drop(test);
}

#[test]
fn runs_log_and_verify_read_the_journal_back_and_catch_tampering() {
    let test = Test::new().file("demo.md", &runbook("```sh {name=greet}\necho hello\n```\n"));
    let output =
        test.args(&["run", "demo.md", "fix-it", "--db", "journal.db", "--operator", "alice"]).status(0).run_in_place();
    let dir = &output.path;
    let runs = crate::test::runwell()
        .args(["runs", "--db", "journal.db", "--format", "json"])
        .current_dir(dir)
        .output()
        .unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(runs[0]["id"], 1);
    assert_eq!(runs[0]["procedure"], "fix-it");
    assert_eq!(runs[0]["operator"], "alice");
    assert_eq!(runs[0]["status"], "succeeded");

    let log = crate::test::runwell().args(["log", "1", "--db", "journal.db"]).current_dir(dir).output().unwrap();
    let log = String::from_utf8(log.stdout).unwrap();
    assert!(log.starts_with("run 1: demo › fix-it — succeeded (operator alice"), "{log}");
    assert!(log.contains("step 1 `greet` started (shell, read):\n    echo hello\n    hello\n"), "{log}");

    let verify = |status: i32| {
        let out =
            crate::test::runwell().args(["journal", "verify", "--db", "journal.db"]).current_dir(dir).output().unwrap();
        assert_eq!(out.status.code(), Some(status), "{}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(verify(0).ends_with("intact\n"));
    // Someone with the file edits the recorded output, past the triggers.
    let db = rusqlite::Connection::open(dir.join("journal.db")).unwrap();
    let triggers: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for trigger in triggers {
        db.execute(&format!("DROP TRIGGER {trigger}"), []).unwrap();
    }
    let changed = db.execute("UPDATE events SET data = CAST('goodbye' AS BLOB) WHERE kind = 'output'", []).unwrap();
    assert_eq!(changed, 1);
    drop(db);
    assert!(verify(1).ends_with("the journal has been altered\n"));
}
