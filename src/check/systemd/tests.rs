//! The systemd probe against a stand-in printing real `systemctl show`
//! output, and against this container's real `systemctl`, which cannot talk
//! to a systemd that is not running.

use std::time::Duration;

use serde_json::json;

use super::probe;
use crate::check::testing::params_of;
use crate::check::{Failure, Observation, Status, Verdict};

const TIMEOUT: Duration = Duration::from_secs(10);
const STAND_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/check/systemd/stand-in-systemctl");

async fn show(unit: &str, params: &serde_json::Value) -> Result<Observation, Failure> {
    probe(unit, &params_of(params), TIMEOUT, STAND_IN).await
}

#[tokio::test]
async fn an_active_unit_is_ok_and_reports_its_state() {
    let seen = show("nginx", &json!({"enabled": true})).await.unwrap();
    assert_eq!(seen.default, Verdict::ok());
    assert_eq!(seen.observed, "active (running)");
    assert_eq!(seen.fields["load_state"], json!("loaded"));
    assert_eq!(seen.fields["enabled"], json!(true));
    assert_eq!(seen.fields["main_pid"], json!(812));
    assert_eq!(seen.fields["active_since"], json!("Mon 2024-06-03 09:14:27 UTC"));
}

#[tokio::test]
async fn a_failed_unit_is_critical_with_its_result() {
    let seen = show("tornado", &json!({})).await.unwrap();
    assert_eq!(seen.default, Verdict::critical("tornado is failed (Result: exit-code)"));
    assert_eq!(seen.observed, "failed (failed)");
}

#[tokio::test]
async fn a_disabled_unit_passes_unless_it_must_be_enabled() {
    assert_eq!(show("worker", &json!({})).await.unwrap().default, Verdict::ok());
    let seen = show("worker", &json!({"enabled": true})).await.unwrap();
    assert_eq!(seen.default, Verdict::critical("worker is active but not enabled (disabled)"));
    assert_eq!(seen.fields["unit_file_state"], json!("disabled"));
}

#[tokio::test]
async fn a_starting_unit_is_a_warning() {
    let seen = show("backup", &json!({})).await.unwrap();
    assert_eq!(seen.default.status, Status::Warning);
    assert_eq!(seen.default.reason, "backup is activating (start-pre)");
    assert_eq!(seen.fields["active_since"], json!(null));
}

#[tokio::test]
async fn an_unknown_unit_is_critical() {
    let seen = show("nope.service", &json!({})).await.unwrap();
    assert_eq!(seen.default, Verdict::critical("unit nope.service not found"));
    assert_eq!(seen.observed, "not-found");
}

#[tokio::test]
async fn output_that_is_not_systemctl_show_is_unknown() {
    let failure = show("garbage", &json!({})).await.unwrap_err();
    assert_eq!(failure.0.status, Status::Unknown);
    assert!(failure.0.reason.contains("did not say LoadState"), "{}", failure.0.reason);
}

#[tokio::test]
async fn a_missing_systemctl_is_unknown() {
    let failure = probe("nginx", &params_of(&json!({})), TIMEOUT, "/nonexistent/systemctl").await.unwrap_err();
    assert_eq!(failure, Failure::unknown("`/nonexistent/systemctl` is not installed here"));
}

#[tokio::test]
async fn the_real_systemctl_without_systemd_is_unknown_saying_so() {
    let failure = probe("nginx", &params_of(&json!({})), TIMEOUT, "systemctl").await.unwrap_err();
    assert_eq!(failure.0.status, Status::Unknown);
    assert!(failure.0.reason.contains("System has not been booted with systemd"), "{}", failure.0.reason);
}

#[tokio::test]
async fn a_target_that_is_not_a_unit_name_is_unknown() {
    let failure = show("--help", &json!({})).await.unwrap_err();
    assert_eq!(failure.0.status, Status::Unknown);
}
