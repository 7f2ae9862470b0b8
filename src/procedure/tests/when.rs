//! `when=` conditions over earlier results, check states and variables.

use super::run;
use crate::procedure::{Error, Facts, Status, condition_holds};

#[tokio::test]
async fn conditions_see_earlier_steps_checks_and_variables() {
    let mut facts = Facts::default();
    facts.step("drain-pool", &run("exit 3").await.0);
    facts.step("verify", &run("true").await.0);
    facts.check("admin-api", "critical");
    facts.var("env", "production");
    let holds = |expr: &str| condition_holds(expr, &facts).unwrap();
    assert!(holds("steps['drain-pool'].failed"));
    assert!(holds("steps['drain-pool'].exit_code == 3"));
    assert!(holds("steps.verify.status == 'succeeded'"));
    assert!(holds("checks['admin-api'] != 'ok' and env == 'production'"));
    assert!(!holds("steps.verify.failed"));
}

#[test]
fn a_condition_naming_an_unknown_step_is_an_error_not_false() {
    let error = condition_holds("steps.nope.failed", &Facts::default()).unwrap_err();
    assert!(matches!(&error, Error::Condition { expr, .. } if expr == "steps.nope.failed"), "{error:?}");
}

#[test]
fn a_condition_that_is_not_an_expression_is_an_error() {
    assert!(matches!(condition_holds("steps.(", &Facts::default()), Err(Error::Condition { .. })));
}

#[tokio::test]
async fn a_step_that_failed_without_an_exit_status_reads_as_failed() {
    let mut outcome = run("true").await.0;
    outcome.status = Status::Error { message: "relation \"x\" does not exist (SQLSTATE 42P01)".to_owned() };
    let mut facts = Facts::default();
    facts.step("query", &outcome);
    let holds = |expr: &str| condition_holds(expr, &facts).unwrap();
    assert!(holds("steps.query.failed and not steps.query.succeeded"));
    assert!(holds("steps.query.status == 'failed'"));
    assert!(holds("steps.query.exit_code is none"));
}
