//! `when=` conditions: a minijinja expression over what the run knows so
//! far — earlier steps' results, check states and the run's variables.
//!
//! The names an expression sees:
//!
//! - `steps.ID.status`: `succeeded`, `failed`, `timed-out`, `killed`,
//!   `aborted`; `steps.ID.succeeded` and `steps.ID.failed` as booleans;
//!   `steps.ID.exit_code` (none unless it exited). Ids with `-` are written
//!   `steps["drain-pool"]`.
//! - `checks.NAME`: `ok`, `warning`, `critical` or `unknown`.
//! - every variable by its name (`env == "production"`).
//!
//! A name that is not there (a step that has not run, a typo) is an error,
//! never silently false: a condition that cannot be judged must not decide
//! whether a destructive step runs.

use std::collections::BTreeMap;

use minijinja::Value;

use super::{Error, Status, StepOutcome};
use crate::template::compile_expression;

/// What conditions are judged over; the runner adds to it as steps end.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    steps: BTreeMap<String, Value>,
    checks: BTreeMap<String, Value>,
    vars: BTreeMap<String, Value>,
}

impl Facts {
    /// Step `id` ended with `outcome` (its last attempt).
    pub fn step(&mut self, id: &str, outcome: &StepOutcome) {
        self.status(id, &outcome.status);
    }

    /// Step `id` ended with `status`: for steps that run no process (gates,
    /// manual steps) and for results read back from an earlier run.
    pub fn status(&mut self, id: &str, status: &Status) {
        let exit_code = match status {
            Status::Succeeded => Value::from(0),
            Status::Failed { exit_code } => Value::from(*exit_code),
            _ => Value::from(()),
        };
        let succeeded = status.succeeded();
        let fields = [
            ("status", Value::from(status.as_str())),
            ("succeeded", Value::from(succeeded)),
            ("failed", Value::from(!succeeded)),
            ("exit_code", exit_code),
        ];
        self.steps.insert(id.to_owned(), Value::from(BTreeMap::from(fields)));
    }

    /// Check `name` was last seen in `state` (`ok`, `warning`, …).
    pub fn check(&mut self, name: &str, state: &str) {
        self.checks.insert(name.to_owned(), Value::from(state));
    }

    /// The run's variable `name` is `value`.
    pub fn var(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_owned(), Value::from(value));
    }

    fn context(&self) -> Value {
        let mut root = self.vars.clone();
        root.insert("steps".to_owned(), Value::from(self.steps.clone()));
        root.insert("checks".to_owned(), Value::from(self.checks.clone()));
        Value::from(root)
    }
}

/// Whether the step guarded by `when=expr` runs.
pub fn condition_holds(expr: &str, facts: &Facts) -> Result<bool, Error> {
    let fail = |reason: String| Error::Condition { expr: expr.to_owned(), reason };
    let expression = compile_expression(expr).map_err(fail)?;
    let value = expression.eval(facts.context()).map_err(|e| fail(e.to_string()))?;
    if value.is_undefined() {
        return Err(fail("it names something this run does not know".to_owned()));
    }
    Ok(value.is_true())
}
