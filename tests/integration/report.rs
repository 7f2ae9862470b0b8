//! `runwell report RUN`: a procedure run for real — a shell step, a check
//! gate against a port listening on loopback, a manual step acknowledged —
//! then reported from the journal it left.

use std::path::Path;

use crate::servers::Silent;
use crate::test::{Test, runwell};

fn runbook(port: u16) -> String {
    format!(
        "---\nrunbook: demo\n---\n# Demo\n\n## Fix it\n\n\
         ```sh {{name=look}}\necho \"status: degraded\"\necho 'one warning' >&2\n```\n\n\
         ```checks\n- name: listener\n  tcp: 127.0.0.1:{port}\n```\n\n\
         - [ ] Tell the incident channel\n\n\
         ```sh {{name=breaks}}\necho giving up\nexit 3\n```\n\n\
         ```sh {{name=never}}\necho never\n```\n"
    )
}

/// `runwell report` with `args` in `dir`: its stdout, stderr and exit status.
fn report(dir: &Path, args: &[&str]) -> (String, String, i32) {
    let output = runwell().arg("report").args(args).current_dir(dir).output().expect("runwell runs");
    (
        String::from_utf8(output.stdout).expect("UTF-8"),
        String::from_utf8(output.stderr).expect("UTF-8"),
        output.status.code().expect("an exit status"),
    )
}

fn find(haystack: &str, needle: &str, from: usize) -> usize {
    match haystack[from..].find(needle) {
        Some(i) => from + i,
        None => panic!("`{needle}` not found in:\n{haystack}"),
    }
}

#[test]
fn a_run_is_reported_with_each_steps_result_beneath_it() {
    let listener = Silent::start();
    let run = Test::new()
        .file("demo.md", &runbook(listener.port))
        .args(&["run", "demo.md", "fix-it", "--db", "journal.db", "--ack", "--operator", "alice"])
        .status(1)
        .run_in_place();
    let (out, err, status) = report(&run.path, &["1", "--db", "journal.db"]);
    assert_eq!((status, err.as_str()), (0, ""), "{out}");

    assert!(
        out.starts_with("# demo › fix-it — run 1\n\n- **Status:** failed — step `breaks`: exit status 3\n"),
        "{out}"
    );
    assert!(out.contains("- **Operator:** alice on host `"), "{out}");
    let look = find(&out, "```sh {name=look}\n", 0);
    let result = find(&out, "> **`look` succeeded** · exit code 0 · took ", look);
    let line = out[result..].lines().next().unwrap();
    let started = line.split(" · started ").nth(1).and_then(|s| s.strip_suffix(" UTC")).expect("a UTC start time");
    assert!(format!("{}Z", started.replace(' ', "T")).parse::<jiff::Timestamp>().is_ok(), "{line}");
    let stdout = find(&out, "> stdout:\n>\n> ```text\n> status: degraded\n> ```\n", result);
    find(&out, "> stderr:\n>\n> ```text\n> one warning\n> ```\n", stdout);
    let gate = find(&out, "```checks\n", stdout);
    find(&out, "> | `listener` | ok | connected", gate);
    let manual = find(&out, "- [ ] Tell the incident channel\n", gate);
    find(&out, "  > Acknowledged by **alice** at ", manual);
    let breaks = find(&out, "```sh {name=breaks}\n", manual);
    let failed = find(&out, "> **`breaks` failed** · exit code 3 · took ", breaks);
    find(&out, "> giving up\n", failed);
    let never = find(&out, "```sh {name=never}\n", failed);
    find(&out, "> **`never` not run**\n", never);
    assert!(out.contains("| step 3 `step-3` acknowledged by **alice**: “Tell the incident channel” |"), "{out}");

    // --output writes the same report to a file, and nothing to stdout.
    let (written, _, status) = report(&run.path, &["1", "--db", "journal.db", "--output", "report.md"]);
    assert_eq!((status, written.as_str()), (0, ""));
    assert_eq!(std::fs::read_to_string(run.path.join("report.md")).unwrap(), out);
}

#[test]
fn an_unknown_run_is_an_error_like_log_gives() {
    let run = Test::new()
        .file("demo.md", "# Demo\n\n## Fix it\n\n```sh\ntrue\n```\n")
        .args(&["run", "demo.md", "fix-it", "--db", "journal.db"])
        .run_in_place();
    let (out, err, status) = report(&run.path, &["7", "--db", "journal.db"]);
    assert_eq!(out, "");
    assert_eq!(err, "error: journal: there is no run 7 in the journal; `runwell runs` lists them\n");
    let log = runwell().args(["log", "7", "--db", "journal.db"]).current_dir(&run.path).output().unwrap();
    assert_eq!(log.status.code(), Some(status), "the same exit status as `runwell log`");
    assert_eq!(status, 2);
}
