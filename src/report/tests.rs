//! The report, rendered from runs recorded in a real `SQLite` journal in a
//! temporary directory, events appended through the store as the runner
//! appends them. Structure is checked by parsing the report back with
//! pulldown-cmark, not only by looking for strings.

use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp};
use pulldown_cmark::HeadingLevel::{H2, H3, H4};
use pulldown_cmark::{CodeBlockKind, Event as Md, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::journal::{
    Event, NewRun, OutputCapture, ProcessIdentity, RunId, SqliteStore, Status, StepOutcome, Store, Stream, host_name,
};

const RUNBOOK: &str = r"---
runbook: demo
---
# Demo

## Fix it

Look first:

```sh {name=look}
systemctl status tornado
```

```checks
- name: redis
  tcp: 127.0.0.1:6379
```

1. Restart it:
   ```sh {name=restart}
   systemctl restart tornado
   ```

- [ ] Tell the incident channel

```sh {name=verify}
curl -fsS http://127.0.0.1:8000/health
```

## Elsewhere

```sh {name=other}
echo other
```
";

/// A run being recorded in its own journal.
struct Recording {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    run: RunId,
}

impl Recording {
    fn start(content: &str, procedure: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut store = SqliteStore::open(&dir.path().join("journal.db")).expect("the journal opens");
        let run = store
            .start_run(&NewRun {
                runbook: "demo".into(),
                runbook_path: "runbooks/demo.md".into(),
                content: content.into(),
                procedure: procedure.into(),
                environment: Some("staging".into()),
                operator: "alice".into(),
                host: host_name(),
                process: ProcessIdentity::current().expect("this process"),
                resumed_from: None,
            })
            .expect("the run starts");
        Recording { _dir: dir, store, run }
    }

    fn append(&mut self, events: &[Event]) -> &mut Self {
        self.store.append(self.run, events).expect("events are recorded");
        self
    }

    fn started(&mut self, step: u32, id: &str, kind: &str, safety: &str, command: &str) -> &mut Self {
        self.append(&[Event::StepStarted {
            step,
            id: id.into(),
            step_kind: kind.into(),
            safety: safety.into(),
            command: command.into(),
        }])
    }

    /// A checklist item acknowledged, or a step only printed: no duration.
    fn done(&mut self, step: u32, outcome: StepOutcome) -> &mut Self {
        self.append(&[Event::StepFinished {
            step,
            outcome,
            exit_code: None,
            duration: SignedDuration::ZERO,
            reason: None,
        }])
    }

    fn finished(&mut self, step: u32, outcome: StepOutcome, exit_code: Option<i32>) -> &mut Self {
        let reason = match (outcome, exit_code) {
            (StepOutcome::Failed, Some(code)) => Some(format!("exit status {code}")),
            _ => None,
        };
        self.append(&[Event::StepFinished {
            step,
            outcome,
            exit_code,
            duration: SignedDuration::from_millis(1_250),
            reason,
        }])
    }

    /// Output as the runner writes it: through an [`OutputCapture`].
    fn output(&mut self, step: u32, stream: Stream, bytes: &[u8], cap: usize) -> &mut Self {
        let mut capture = OutputCapture::new(step, stream, cap);
        capture.push(&mut self.store, self.run, bytes).expect("output is recorded");
        capture.finish(&mut self.store, self.run).expect("output is recorded");
        self
    }

    fn check(
        &mut self,
        step: Option<u32>,
        name: &str,
        status: &str,
        observed: &str,
        reason: Option<&str>,
    ) -> &mut Self {
        self.append(&[Event::CheckResult {
            step,
            name: name.into(),
            status: status.into(),
            observed: observed.into(),
            reason: reason.map(Into::into),
            latency: Some(SignedDuration::from_millis(2)),
        }])
    }

    fn end(&mut self, status: Status, reason: Option<&str>) -> &mut Self {
        self.store.finish_run(self.run, status, reason).expect("the run finishes");
        self
    }

    fn report(&self) -> String {
        super::read(&self.store, self.run).expect("the report renders")
    }
}

/// A run of `fix-it` that looked, passed its gate, restarted with output,
/// was acknowledged, then failed at `verify`.
fn failed_run() -> Recording {
    let mut run = Recording::start(RUNBOOK, "fix-it");
    run.started(1, "look", "shell", "read", "systemctl status tornado")
        .output(1, Stream::Stdout, b"tornado.service: inactive (dead)\n", 1 << 20)
        .finished(1, StepOutcome::Succeeded, Some(0))
        .started(2, "step-2", "checks", "read", "checks: redis")
        .check(Some(2), "redis", "ok", "connected in 1 ms", None)
        .finished(2, StepOutcome::Succeeded, None)
        .append(&[Event::ConfirmationAsked { step: 3, prompt: "run step `restart`?".into() }])
        .append(&[Event::ConfirmationAnswered { step: 3, answer: "--yes".into(), accepted: true, by: "alice".into() }])
        .started(3, "restart", "shell", "write", "systemctl restart tornado")
        .output(3, Stream::Stdout, b"restarted\n", 1 << 20)
        .output(3, Stream::Stderr, b"warning: unit file changed\n", 1 << 20)
        .finished(3, StepOutcome::Succeeded, Some(0))
        .started(4, "step-4", "manual", "write", "Tell the incident channel")
        .append(&[Event::Acknowledged { step: 4, item: "Tell the incident channel".into(), by: "bob".into() }])
        .done(4, StepOutcome::Succeeded)
        .started(5, "verify", "shell", "read", "curl -fsS http://127.0.0.1:8000/health")
        .output(5, Stream::Stderr, b"curl: (7) Failed to connect\n", 1 << 20)
        .finished(5, StepOutcome::Failed, Some(7))
        .end(Status::Failed, Some("step `verify`: exit status 7"));
    run
}

/// Where `needle` first occurs in `haystack` at or after `from`.
fn find(haystack: &str, needle: &str, from: usize) -> usize {
    match haystack[from..].find(needle) {
        Some(i) => from + i,
        None => panic!("`{needle}` not found in:\n{haystack}"),
    }
}

fn parse(markdown: &str) -> Vec<Md<'_>> {
    Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS).collect()
}

/// The text of every fenced code block, with its info string.
fn code_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for event in parse(markdown) {
        match event {
            Md::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => open = Some((info.to_string(), String::new())),
            Md::Text(text) => {
                if let Some((_, body)) = open.as_mut() {
                    body.push_str(&text);
                }
            }
            Md::End(TagEnd::CodeBlock) => blocks.extend(open.take()),
            _ => {}
        }
    }
    blocks
}

/// Every table row's cells, as plain text.
fn table_rows(markdown: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row: Option<Vec<String>> = None;
    for event in parse(markdown) {
        match event {
            Md::Start(Tag::TableRow | Tag::TableHead) => row = Some(Vec::new()),
            Md::Start(Tag::TableCell) => {
                if let Some(row) = row.as_mut() {
                    row.push(String::new());
                }
            }
            Md::Text(text) | Md::Code(text) | Md::InlineHtml(text) => {
                if let Some(cell) = row.as_mut().and_then(|r| r.last_mut()) {
                    cell.push_str(&text);
                }
            }
            Md::End(TagEnd::TableRow | TagEnd::TableHead) => rows.extend(row.take()),
            _ => {}
        }
    }
    rows
}

#[test]
fn the_report_has_its_header_and_every_section_in_order() {
    let report = failed_run().report();
    assert!(report.starts_with("# demo › fix-it — run 1\n"), "{report}");
    assert!(report.contains("- **Status:** failed — step `verify`: exit status 7\n"), "{report}");
    assert!(report.contains("- **Environment:** `staging`\n"), "{report}");
    assert!(report.contains("- **Operator:** alice on host `"), "{report}");
    assert!(report.contains("- **Runbook:** `runbooks/demo.md`, SHA-256 `"), "{report}");
    assert!(report.contains("- **Steps:** 2 succeeded · 1 passed · 1 done · 1 failed\n"), "{report}");
    let mut at = 0;
    for heading in [
        "\n## Checks before and after\n",
        "\n## Timeline\n",
        "\n## Cause\n\n*",
        "\n## Contributing factors\n\n*",
        "\n## Fixes\n\n*",
        "\n## Follow-up tickets\n\n*",
        "\n## The procedure as it ran\n",
        "\n### Fix it\n",
    ] {
        at = find(&report, heading, at);
    }
    assert!(!report.contains("## Elsewhere"), "only the procedure's own section is reproduced");
    assert!(!report.contains("echo other"));
}

#[test]
fn each_steps_result_and_output_sit_beneath_its_own_block() {
    let report = failed_run().report();
    let procedure = find(&report, "## The procedure as it ran", 0);
    let look = find(&report, "```sh {name=look}\nsystemctl status tornado\n```\n", procedure);
    let look_result = find(&report, "> **`look` succeeded** · exit code 0 · took 1.2 s · started ", look);
    let dead = find(&report, "> tornado.service: inactive (dead)\n", look_result);
    let gate = find(&report, "```checks\n", look_result);
    assert!(dead < gate, "look's output is under look");
    let gate_result = find(&report, "> **`step-2` passed**", gate);
    find(&report, "> | `redis` | ok | connected in 1 ms |", gate_result);
    let restart = find(&report, "   ```sh {name=restart}\n   systemctl restart tornado\n   ```\n", gate_result);
    let restart_result = find(&report, "   > **`restart` succeeded** · exit code 0", restart);
    let confirmed =
        find(&report, "   > Asked: “run step `restart`?” — confirmed by **alice** (`--yes`) at ", restart_result);
    let stdout = find(&report, "   > stdout:\n   >\n   > ```text\n   > restarted\n   > ```\n", confirmed);
    find(&report, "   > stderr:\n   >\n   > ```text\n   > warning: unit file changed\n   > ```\n", stdout);
    let manual = find(&report, "- [ ] Tell the incident channel\n", restart_result);
    assert!(stdout < manual, "restart's output is under restart");
    let manual_result = find(&report, "  > **`step-4` done** · started ", manual);
    find(&report, "  > Acknowledged by **bob** at ", manual_result);
    let verify = find(&report, "```sh {name=verify}\n", manual_result);
    let verify_result = find(&report, "> **`verify` failed** · exit code 7 · took 1.2 s · started ", verify);
    find(&report, "> curl: (7) Failed to connect\n", verify_result);
    // UTC start times are real timestamps from the journal.
    let started = &report[look_result..].lines().next().unwrap().rsplit("started ").next().unwrap();
    let started = started.strip_suffix(" UTC").expect("a UTC time");
    assert_eq!(started.len(), "2026-11-23 22:41:07".len(), "{started}");
    assert!(format!("{}Z", started.replace(' ', "T")).parse::<Timestamp>().is_ok(), "{started}");
}

#[test]
fn results_inside_a_list_stay_in_their_item() {
    let report = failed_run().report();
    // The ordered list holds the restart step and its result: one list
    // item, with a block quote inside it.
    let procedure = &report[find(&report, "### Fix it", 0)..];
    let mut depth = 0;
    let mut quote_in_item = false;
    for event in parse(procedure) {
        match event {
            Md::Start(Tag::Item) => depth += 1,
            Md::End(TagEnd::Item) => depth -= 1,
            Md::Start(Tag::BlockQuote(_)) if depth > 0 => quote_in_item = true,
            _ => {}
        }
    }
    assert!(quote_in_item, "{procedure}");
    let items = parse(procedure).into_iter().filter(|e| matches!(e, Md::Start(Tag::Item))).count();
    assert_eq!(items, 2, "the restart item and the checklist item, each still one item:\n{procedure}");
}

#[test]
fn steps_the_run_did_not_reach_read_not_run() {
    let mut run = Recording::start(RUNBOOK, "fix-it");
    run.started(1, "look", "shell", "read", "systemctl status tornado")
        .finished(1, StepOutcome::Failed, Some(3))
        .end(Status::Failed, Some("step `look`: exit status 3"));
    let report = run.report();
    let restart = find(&report, "```sh {name=restart}", 0);
    find(&report, "   > **`restart` not run**\n", restart);
    let verify = find(&report, "```sh {name=verify}", restart);
    find(&report, "> **`verify` not run**\n", verify);
    find(&report, "  > **`step-4` not run**\n", restart);
    assert!(report.contains("- **Steps:** 1 failed · 4 not run\n"), "{report}");
}

#[test]
fn output_holding_backtick_fences_gets_a_longer_fence() {
    let output = "before\n```\n`````sh\nnot a fence end\n```\nafter\n";
    let mut run = Recording::start(RUNBOOK, "fix-it");
    run.started(1, "look", "shell", "read", "systemctl status tornado")
        .output(1, Stream::Stdout, output.as_bytes(), 1 << 20)
        .finished(1, StepOutcome::Succeeded, Some(0))
        .end(Status::Succeeded, None);
    let report = run.report();
    assert!(report.contains("> ``````text\n> before\n"), "{report}");
    let blocks = code_blocks(&report);
    assert!(
        blocks.iter().any(|(info, body)| info == "text" && body == output),
        "the output is one code block, whole:\n{blocks:#?}"
    );
    // And the rest of the document is still read as Markdown after it.
    assert!(blocks.iter().any(|(info, body)| info == "sh {name=verify}" && body.starts_with("curl")), "{blocks:#?}");
}

#[test]
fn truncated_output_says_how_many_bytes_were_not_recorded() {
    let output = (0..200).fold(String::new(), |mut out, i| {
        let _ = writeln!(out, "line {i:03}");
        out
    });
    let mut run = Recording::start(RUNBOOK, "fix-it");
    run.started(1, "look", "shell", "read", "systemctl status tornado")
        .output(1, Stream::Stdout, output.as_bytes(), 100)
        .finished(1, StepOutcome::Succeeded, Some(0))
        .end(Status::Succeeded, None);
    let report = run.report();
    let dropped = output.len() - 100;
    let note = format!("{dropped} bytes not recorded between head and tail");
    assert!(report.contains(&format!("> stdout ({note}):\n")), "{report}");
    let block = code_blocks(&report).into_iter().find(|(info, _)| info == "text").expect("the output block").1;
    assert_eq!(block, format!("{}\n[… {note} …]\n{}", &output[..50], &output[output.len() - 50..]));
}

#[test]
fn table_cells_escape_pipes_and_newlines() {
    let mut run = Recording::start(RUNBOOK, "fix-it");
    run.started(1, "step-2", "checks", "read", "checks: admin-api")
        .check(Some(1), "admin-api", "critical", "status | 503\nretry later", None)
        .finished(1, StepOutcome::Failed, None)
        .append(&[Event::Note { text: "paged | the on-call\ntwice".into() }])
        .end(Status::Failed, Some("check gate `step-2`: admin-api not ok"));
    let report = run.report();
    assert!(report.contains("| `admin-api` | **critical** | status \\| 503<br>retry later |"), "{report}");
    assert!(report.contains("| note: paged \\| the on-call<br>twice |"), "{report}");
    for row in table_rows(&report) {
        assert_eq!(row.len(), 3, "every row keeps its three cells: {row:?}");
    }
    let timeline = table_rows(&report[find(&report, "## Timeline", 0)..find(&report, "## Cause", 0)]);
    assert!(
        timeline.iter().any(|row| row[2] == "check admin-api: critical — status | 503<br>retry later"),
        "{timeline:?}"
    );
}

#[test]
fn the_timeline_lists_what_happened_with_who_and_when() {
    let report = failed_run().report();
    let timeline = table_rows(&report[find(&report, "## Timeline", 0)..find(&report, "## Cause", 0)]);
    assert_eq!(timeline[0], ["Time (UTC)", "Elapsed", "What happened"]);
    let what: Vec<&str> = timeline[1..].iter().map(|row| row[2].as_str()).collect();
    assert_eq!(
        what,
        [
            &*format!("run started by alice on {}, environment staging", host_name()),
            "step 1 look started (shell, read)",
            "step 1 look succeeded (exit code 0) after 1.2 s",
            "step 2 step-2 started (checks, read)",
            "check redis: ok — connected in 1 ms",
            "step 2 step-2 passed after 1.2 s",
            "step 3 restart: confirmation asked — “run step restart?”",
            "step 3 restart confirmed by alice (--yes)",
            "step 3 restart started (shell, write)",
            "step 3 restart succeeded (exit code 0) after 1.2 s",
            "step 4 step-4 started (manual, write)",
            "step 4 step-4 acknowledged by bob: “Tell the incident channel”",
            "step 4 step-4 done",
            "step 5 verify started (shell, read)",
            "step 5 verify failed: exit status 7 (exit code 7) after 1.2 s",
            "run failed: step verify: exit status 7",
        ]
    );
    for row in &timeline[1..] {
        assert!(row[0].parse::<jiff::civil::DateTime>().is_ok(), "{row:?}");
        assert!(row[1].starts_with('+'), "{row:?}");
    }
}

#[test]
fn checks_before_and_after_bracket_the_changes() {
    let mut run = Recording::start(RUNBOOK, "fix-it");
    run.started(1, "step-2", "checks", "read", "checks: admin-api")
        .check(Some(1), "admin-api", "critical", "", Some("connection refused"))
        .finished(1, StepOutcome::Succeeded, None)
        .started(2, "restart", "shell", "write", "systemctl restart tornado")
        .finished(2, StepOutcome::Succeeded, Some(0))
        .started(3, "step-2", "checks", "read", "checks: admin-api")
        .check(Some(3), "admin-api", "ok", "open in 1 ms", None)
        .finished(3, StepOutcome::Succeeded, None)
        .end(Status::Succeeded, None);
    let report = run.report();
    let section = &report[find(&report, "## Checks before and after", 0)..find(&report, "## Timeline", 0)];
    let before = find(section, "**Before** the first change, step 2 `restart` (started ", 0);
    let critical = find(section, "| `admin-api` | **critical** | connection refused |", before);
    let after = find(section, "**After** the last change, step 2 `restart` (finished ", critical);
    find(section, "| `admin-api` | ok | open in 1 ms |", after);
}

#[test]
fn a_run_that_changed_nothing_compares_its_first_and_last_gate() {
    let mut run = Recording::start(RUNBOOK, "fix-it");
    run.started(1, "look", "shell", "read", "systemctl status tornado")
        .finished(1, StepOutcome::Succeeded, Some(0))
        .started(2, "step-2", "checks", "read", "checks: admin-api")
        .check(Some(2), "admin-api", "ok", "open in 1 ms", None)
        .finished(2, StepOutcome::Succeeded, None)
        .started(3, "restart", "shell", "write", "systemctl restart tornado")
        .done(3, StepOutcome::DryRun)
        .end(Status::Succeeded, None);
    let report = run.report();
    assert!(report.contains("The run changed nothing (no write or destructive step ran)"), "{report}");
    assert!(report.contains("**The only gate**, step 2 `step-2`:\n\n| Check |"), "{report}");
    let restart = find(&report, "```sh {name=restart}", 0);
    find(&report, "> **`restart` printed, not run (dry run)** · started ", restart);
}

#[test]
fn a_running_run_is_reported_as_in_progress() {
    let mut run = Recording::start(RUNBOOK, "fix-it");
    run.started(1, "look", "shell", "read", "systemctl status tornado").output(
        1,
        Stream::Stdout,
        b"still looking\n",
        1 << 20,
    );
    let report = run.report();
    assert!(report.contains("- **Status:** running — in progress: this report shows what was recorded until "));
    assert!(report.contains("- **Finished:** not yet\n"), "{report}");
    find(&report, "> **`look` running**: in progress as this report was made · started ", 0);
    find(&report, "> still looking\n", 0);
    find(&report, "> **`verify` not reached yet**: the run is in progress.", 0);
}

#[test]
fn a_declined_confirmation_is_shown_on_the_step_it_stopped() {
    let mut run = Recording::start(RUNBOOK, "fix-it");
    run.started(1, "look", "shell", "read", "systemctl status tornado")
        .finished(1, StepOutcome::Succeeded, Some(0))
        .started(2, "step-2", "checks", "read", "checks: admin-api")
        .finished(2, StepOutcome::Succeeded, None)
        .append(&[Event::ConfirmationAsked { step: 3, prompt: "run step `restart`?".into() }])
        .append(&[Event::ConfirmationAnswered { step: 3, answer: "no".into(), accepted: false, by: "alice".into() }])
        .end(Status::Aborted, Some("step `restart` was not confirmed (no)"));
    let report = run.report();
    let restart = find(&report, "```sh {name=restart}", 0);
    let result = find(&report, "   > **`restart` not run**: it was not confirmed.", restart);
    find(&report, "   > Asked: “run step `restart`?” — declined by **alice** (`no`) at ", result);
    assert!(!report.contains("Recorded steps not in the procedure"), "{report}");
}

const OPTIONS: &str = r"# Demo

## Recover

### Option A — restart

```sh {name=restart}
systemctl restart tornado
```

```sh {rollback}
systemctl start tornado-old
```

### Option B — fail over

```sh {name=failover}
failover --to standby
```
";

#[test]
fn alternatives_not_taken_read_not_chosen() {
    let mut run = Recording::start(OPTIONS, "recover");
    run.append(&[Event::Note { text: "chose Option B — fail over".into() }])
        .started(1, "failover", "shell", "write", "failover --to standby")
        .finished(1, StepOutcome::Succeeded, Some(0))
        .end(Status::Succeeded, None);
    let report = run.report();
    assert!(report.contains("\n### Recover\n"), "{report}");
    let a = find(&report, "\n#### Option A — restart\n\n> *Not chosen: the run took “Option B — fail over”.*\n", 0);
    let restart = find(&report, "```sh {name=restart}", a);
    find(&report, "> **`restart` not chosen**: the run took “Option B — fail over”.", restart);
    let b = find(&report, "\n#### Option B — fail over\n\n> *The run took this alternative.*\n", restart);
    find(&report, "> **`failover` succeeded**", b);
    assert!(!report.contains("not run"), "{report}");

    // Nothing ran yet, but a note says which alternative was taken.
    let mut run = Recording::start(OPTIONS, "recover");
    run.append(&[Event::Note { text: "operator chose option a".into() }]).end(Status::Aborted, Some("stopped"));
    let report = run.report();
    find(&report, "> **`failover` not chosen**: the run took “Option A — restart”.", 0);
    find(&report, "> **`restart` not run**", 0);
}

#[test]
fn a_rollback_is_shown_under_the_step_it_undoes() {
    let mut run = Recording::start(OPTIONS, "recover");
    run.started(1, "restart", "shell", "write", "systemctl restart tornado")
        .output(1, Stream::Stderr, b"Job failed\n", 1 << 20)
        .finished(1, StepOutcome::Failed, Some(1))
        .started(2, "restart.rollback", "shell", "write", "systemctl start tornado-old")
        .output(2, Stream::Stdout, b"old one back\n", 1 << 20)
        .finished(2, StepOutcome::Succeeded, Some(0))
        .end(Status::Failed, Some("step `restart`: exit status 1"));
    let report = run.report();
    let restart = find(&report, "```sh {name=restart}", 0);
    let failed = find(&report, "> **`restart` failed** · exit code 1", restart);
    let rollback = find(&report, "```sh {rollback}\nsystemctl start tornado-old\n```\n", failed);
    let result = find(&report, "> **Rollback of `restart` succeeded** · exit code 0", rollback);
    find(&report, "> old one back\n", result);
    assert!(!report.contains("Recorded steps not in the procedure"), "{report}");
}

#[test]
fn non_utf8_output_is_shown_lossily_and_terminal_escapes_dropped() {
    let mut run = Recording::start(RUNBOOK, "fix-it");
    run.started(1, "look", "shell", "read", "systemctl status tornado")
        .output(1, Stream::Stdout, b"\x1b[1;31mdown\x1b[0m \xff\xfe end\n", 1 << 20)
        .finished(1, StepOutcome::Succeeded, Some(0))
        .end(Status::Succeeded, None);
    let report = run.report();
    assert!(report.contains("> down \u{fffd}\u{fffd} end\n"), "{report}");
    assert!(!report.contains('\x1b'));
}

#[test]
fn steps_the_runbook_text_does_not_hold_are_still_reported() {
    let mut run = Recording::start(RUNBOOK, "fix-it");
    run.started(1, "renamed", "shell", "write", "echo from an older runbook")
        .output(1, Stream::Stdout, b"from an older runbook\n", 1 << 20)
        .finished(1, StepOutcome::Succeeded, Some(0))
        .end(Status::Succeeded, None);
    let report = run.report();
    let section = find(&report, "### Recorded steps not in the procedure's text\n", 0);
    let step =
        find(&report, "**Step 1 `renamed`** (shell, write)\n\n```sh\necho from an older runbook\n```\n", section);
    find(&report, "> from an older runbook\n", step);

    // A procedure the stored text does not have at all.
    let mut run = Recording::start("# Nothing here\n", "fix-it");
    run.started(1, "look", "shell", "read", "true").finished(1, StepOutcome::Succeeded, Some(0));
    run.end(Status::Succeeded, None);
    let report = run.report();
    assert!(report.contains("*The stored runbook has no procedure `fix-it`; the steps as the journal recorded them:*"));
    assert!(report.contains("**Step 1 `look`** (shell, read)"), "{report}");
}

#[test]
fn an_unknown_run_is_the_journals_error() {
    let run = Recording::start(RUNBOOK, "fix-it");
    let error = super::read(&run.store, 99).unwrap_err();
    assert!(matches!(error, crate::journal::Error::NoSuchRun { run: 99 }), "{error}");
}

/// The whole report of [`failed_run`], its times fixed so the snapshot is
/// stable: review changes with `cargo insta review`.
#[test]
fn a_failed_run_reads_like_this() {
    let recording = failed_run();
    let store = &recording.store;
    let mut run = store.run(recording.run).unwrap();
    let start: Timestamp = "2026-11-23T22:41:07Z".parse().unwrap();
    run.info.started_at = start;
    run.info.host = "ops-1".into();
    let mut events = store.events(recording.run).unwrap();
    for record in &mut events {
        record.at = start + SignedDuration::from_secs(i64::try_from(record.seq).unwrap() * 7);
        if let Event::RunStarted(info) = &mut record.event {
            info.host = "ops-1".into();
        }
    }
    run.finished_at = events.last().map(|r| r.at);
    let outputs = super::Outputs::read(store, recording.run, &events).unwrap();
    let report = super::render(&run, &events, &outputs, &store.runbook_content(recording.run).unwrap());
    insta::assert_snapshot!(report);
}

#[test]
fn the_procedures_headings_move_under_the_reports_sections() {
    // A level-1 procedure, underlined (setext) headings: the copy uses `###`
    // and `####` so the report's outline stays whole.
    let source =
        "Restart\n=======\n\n```sh {name=go}\necho go\n```\n\nVerify\n------\n\n```sh {name=look}\necho ok\n```\n";
    let mut run = Recording::start(source, "restart");
    run.started(1, "go", "shell", "write", "echo go").finished(1, StepOutcome::Succeeded, Some(0));
    run.end(Status::Failed, Some("stopped"));
    let report = run.report();
    let procedure = &report[find(&report, "## The procedure as it ran", 0)..];
    let headings: Vec<(HeadingLevel, usize)> = Parser::new(procedure)
        .into_offset_iter()
        .filter_map(|(event, range)| match event {
            Md::Start(Tag::Heading { level, .. }) => Some((level, range.start)),
            _ => None,
        })
        .collect();
    assert_eq!(headings.iter().map(|(level, _)| *level).collect::<Vec<_>>(), [H2, H3, H4], "{procedure}");
    assert!(procedure.contains("\n### Restart\n\n```sh {name=go}"), "{procedure}");
    assert!(procedure.contains("\n#### Verify\n\n```sh {name=look}"), "{procedure}");
    find(procedure, "> **`look` not run**", 0);
}
