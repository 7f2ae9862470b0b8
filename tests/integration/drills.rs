//! `runwell-drill` itself: a drill whose expectation is wrong fails with
//! the phase and what runwell showed, the next drill starts from a fresh
//! lab, and nothing of either is left running.

use std::process::Command;

use crate::labs::take_turn;
use crate::test::root;

/// The client API answering 503, drilled with `evidence` and `extra`
/// respond keys.
fn client_api_drill(name: &str, evidence: &str, extra: &str) -> String {
    format!(
        r#"
[[drill]]
name = "{name}"
incident = "the client API answers 503"
inject = "curl -fsS -X POST -H 'Content-Type: application/json' --data '{{\"status\": 503}}' http://127.0.0.1:17004/_standin/fault"
[drill.detect]
exit = 2
checks = {{ client-api = "critical: status is 503" }}
[drill.respond]
procedure = "incident-clients-cannot-connect"
options = ["B"]
evidence = {{ client-api-health = "{evidence}" }}
{extra}
"#
    )
}

#[test]
fn a_failed_drill_says_what_it_saw_and_the_next_starts_from_a_fresh_lab() {
    let _turn = take_turn();
    let drills = tempfile::tempdir().unwrap();
    // The first expects evidence the runbook does not produce; the second
    // is right, and runs on a fresh lab.
    let alert = "alert = { alertname = \"TornadoClientAPIDown\" }\nresolution = [\"restart-tornado-for-clients\"]";
    let drills_file =
        client_api_drill("wrong-evidence", "no such text", "") + &client_api_drill("client-api-down", "503", alert);
    std::fs::write(drills.path().join("tornado-vpn.toml"), drills_file).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_runwell-drill"))
        .arg("--drills")
        .arg(drills.path())
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("FAIL  tornado-vpn       wrong-evidence"), "{stdout}");
    assert!(
        lines[0].contains("the procedure through the CLI: run 1: step `client-api-health`'s output in the journal does not show /no such text/"),
        "{stdout}"
    );
    let kept = lines
        .iter()
        .find_map(|line| line.trim().strip_prefix("its logs are in "))
        .expect("where the failed drill's files are");
    assert!(std::path::Path::new(kept).join("journal.db").exists(), "{stdout}");
    let passed = lines.iter().find(|line| line.starts_with("ok ")).expect("the second drill passed");
    assert!(passed.starts_with("ok    tornado-vpn       client-api-down"), "{stdout}");
    assert!(passed.ends_with("runs 1, 2"), "a fresh lab, a fresh journal: {stdout}");
    assert_eq!(lines.last(), Some(&"1 passed, 1 failed"));
    // Nothing of the failed drill's lab is running: no process names its directory.
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| std::fs::read(entry.ok()?.path().join("cmdline")).ok())
        .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(kept))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    std::fs::remove_dir_all(kept).unwrap();
}
