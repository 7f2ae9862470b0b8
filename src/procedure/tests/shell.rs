//! What a shell step is: bash with strict error semantics, its own
//! directory and environment, the step's name in bash's errors, no stdin.

use std::path::Path;

use super::{refused, run, run_step, step};
use crate::procedure::{Error, MAX_SCRIPT, ShellStep, Status};
use crate::runbook::StepKind;

#[tokio::test]
async fn a_succeeding_script_streams_both_outputs_and_counts_them() {
    let (outcome, tape) = run("echo out; echo err >&2; printf 'no newline'").await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(tape.stdout(), "out\nno newline");
    assert_eq!(tape.stderr(), "err\n");
    assert_eq!((outcome.stdout_bytes, outcome.stderr_bytes), (14, 4));
    assert!(outcome.finished >= outcome.started);
    assert!(outcome.leftovers.is_empty());
    assert!(!outcome.pipe_held_open);
}

#[tokio::test]
async fn a_failing_script_reports_its_exit_code() {
    let (outcome, _) = run("exit 42").await;
    assert_eq!(outcome.status, Status::Failed { exit_code: 42 });
}

#[tokio::test]
async fn errexit_stops_at_the_first_failing_command() {
    let (outcome, tape) = run("echo before; false; echo after").await;
    assert_eq!(outcome.status, Status::Failed { exit_code: 1 });
    assert_eq!(tape.stdout(), "before\n");
}

#[tokio::test]
async fn an_unset_variable_fails_the_step_naming_the_step_and_the_line() {
    let (outcome, tape) = run("echo fine\necho \"$NO_SUCH_VARIABLE_HERE\"").await;
    assert_eq!(outcome.status, Status::Failed { exit_code: 1 });
    assert_eq!(tape.stderr(), "test-step: line 2: NO_SUCH_VARIABLE_HERE: unbound variable\n");
}

#[tokio::test]
async fn pipefail_fails_a_pipeline_whose_first_command_fails() {
    let (outcome, tape) = run("false | cat; echo after").await;
    assert_eq!(outcome.status, Status::Failed { exit_code: 1 });
    assert_eq!(tape.stdout(), "");
}

#[tokio::test]
async fn a_failure_inside_command_substitution_fails_the_step() {
    let (outcome, tape) = run("value=$(false; echo ignored); echo \"got $value\"").await;
    assert_eq!(outcome.status, Status::Failed { exit_code: 1 });
    assert_eq!(tape.stdout(), "");
}

#[tokio::test]
async fn a_shell_killed_by_a_signal_it_sent_itself_is_killed_not_failed() {
    let (outcome, _) = run("kill -KILL $$").await;
    assert_eq!(outcome.status, Status::Killed { signal: 9 });
}

#[tokio::test]
async fn stdin_is_empty_so_a_prompting_command_fails_instead_of_hanging() {
    let (outcome, _) = run("read -r answer; echo \"answered $answer\"").await;
    assert_eq!(outcome.status, Status::Failed { exit_code: 1 });
}

#[tokio::test]
async fn cwd_is_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let step = ShellStep { cwd: Some(dir.path().to_owned()), ..step("pwd -P") };
    let (outcome, tape) = run_step(&step).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(tape.stdout().trim_end(), dir.path().canonicalize().unwrap().to_str().unwrap());
}

#[tokio::test]
async fn a_missing_cwd_is_an_error_naming_it_not_a_failed_step() {
    let step = ShellStep { cwd: Some("/no/such/dir".into()), ..step("true") };
    let error = refused(&step).await;
    assert!(matches!(&error, Error::Cwd { path, .. } if path == Path::new("/no/such/dir")), "{error:?}");
    assert_eq!(
        error.to_string(),
        "step `test-step`: working directory `/no/such/dir` is not a directory; fix its `cwd=`"
    );
}

#[tokio::test]
async fn env_is_added_to_the_inherited_environment() {
    let step = ShellStep {
        env: vec![("RUNWELL_TEST_TOKEN".to_owned(), "s3cret value; touch pwned".to_owned())],
        ..step("printf '%s|' \"$RUNWELL_TEST_TOKEN\"; test -n \"$PATH\" && echo has-path")
    };
    let (outcome, tape) = run_step(&step).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(tape.stdout(), "s3cret value; touch pwned|has-path\n");
}

#[tokio::test]
async fn a_secret_passed_in_env_is_not_on_the_command_line_other_users_can_read() {
    let step = ShellStep {
        env: vec![("RUNWELL_TEST_SECRET".to_owned(), "hunter2-zebra".to_owned())],
        ..step("tr '\\0' ' ' < /proc/$$/cmdline")
    };
    let (outcome, tape) = run_step(&step).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert!(tape.stdout().starts_with("bash -o errexit"), "{}", tape.stdout());
    assert!(!tape.stdout().contains("hunter2"), "{}", tape.stdout());
}

#[tokio::test]
async fn a_malformed_env_name_is_an_error() {
    let step = ShellStep { env: vec![("A=B".to_owned(), "x".to_owned())], ..step("true") };
    let error = refused(&step).await;
    assert!(matches!(&error, Error::EnvName { name, .. } if name == "A=B"), "{error:?}");
}

#[tokio::test]
async fn a_script_longer_than_a_command_line_is_refused_before_running() {
    let step = step(&format!("# {}", "x".repeat(MAX_SCRIPT)));
    let error = refused(&step).await;
    assert!(matches!(error, Error::ScriptTooLong { len, .. } if len == MAX_SCRIPT + 2), "{error:?}");
}

#[tokio::test]
async fn a_script_at_the_command_line_limit_runs() {
    let script = format!("echo ok #{}", "x".repeat(MAX_SCRIPT - 9));
    assert_eq!(script.len(), MAX_SCRIPT);
    let (outcome, tape) = run(&script).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(tape.stdout(), "ok\n");
}

#[tokio::test]
async fn a_console_blocks_commands_run_as_one_script_and_stop_at_a_failure() {
    let source =
        "# Ops\n\n## Check\n\n```console\n$ cd /tmp\n$ echo \"in $(pwd)\"\nin /tmp\n$ false\n$ echo unreachable\n```\n";
    let parsed = crate::runbook::parse(Path::new("ops.md"), source);
    let StepKind::Shell(shell) = &parsed.runbook.steps[0].kind else { panic!("{:?}", parsed.runbook.steps) };
    let (outcome, tape) = run(&shell.script).await;
    assert_eq!(outcome.status, Status::Failed { exit_code: 1 });
    assert_eq!(tape.stdout(), "in /tmp\n");
}

#[tokio::test]
async fn pipefail_fails_a_writer_cut_short_by_an_early_reader_as_documented() {
    // `yes` dies of SIGPIPE (128 + 13) when `head` stops reading.
    let (outcome, tape) = run("yes | head -n 1").await;
    assert_eq!(outcome.status, Status::Failed { exit_code: 141 });
    assert_eq!(tape.stdout(), "y\n");
    let (outcome, _) = run("yes | head -n 1 || true").await;
    assert_eq!(outcome.status, Status::Succeeded);
}
