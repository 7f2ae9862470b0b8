//! `when=` conditions over earlier results, check states and variables.

use super::run;
use crate::procedure::{Error, Facts, condition_holds};

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
