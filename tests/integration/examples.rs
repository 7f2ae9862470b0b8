//! The example runbooks under `examples/` parse and lint clean.

use crate::test::{Test, root};

#[test]
fn examples_lint_clean() {
    let examples = root().join("examples");
    let output = Test::new().args(&["lint", examples.to_str().unwrap()]).stdout("").run();
    assert_eq!(output.stderr, "0 errors, 0 warnings in 5 files\n");
}

#[test]
fn every_example_has_procedures_checks_and_an_alert_target() {
    for name in ["tornado-vpn", "push-gateway", "axiomdb", "sentinel-proxy", "service-template"] {
        let path = root().join("examples").join(format!("{name}.md"));
        let output = Test::new().args(&["list", "--format", "json", path.to_str().unwrap()]).run();
        let listing: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
        assert_eq!(listing["runbook"], name);
        assert!(listing["procedures"].as_array().unwrap().len() >= 3, "{name}: procedures");
        assert!(listing["checks"].as_array().unwrap().len() >= 3, "{name}: checks");
    }
}
