//! The policy: which role each action needs.
//!
//! | action | needs |
//! |---|---|
//! | view the dashboard, checks, runs, reports | `viewer` |
//! | run a check now | `operator` (it makes runwell reach out to the systems) |
//! | start a procedure | its environment's `[[limits]]`: by default `operator` for read-only and writing procedures, `admin` for destructive ones; never less than `operator` |
//! | answer a confirmation or acknowledge a manual step in a run | the role that may start that run |
//! | abort a run | `operator` |
//! | deliver alerts (`POST /hooks/alertmanager`) | `operator` |
//! | administer (reload, tokens) | `admin` |
//!
//! An environment without an entry of its own, and a run started without an
//! environment, follow the `[[limits]]` entry that names no environment, or
//! the built-in defaults ([`LimitConfig::default`]).

use crate::runbook::Safety;
use crate::serve::config::LimitConfig;

use super::{Caller, Role};

/// Something a caller wants to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// See the dashboard, checks, runs and reports.
    View,
    /// Run a check now, outside its schedule.
    CheckNow,
    /// Start a procedure whose most dangerous step is `safety`, in `environment`.
    StartRun { environment: Option<String>, safety: Safety },
    /// Answer a confirmation or acknowledge a manual step in a run of a
    /// procedure whose most dangerous step is `safety`, in `environment`:
    /// it needs the role that may start that run, so an operator cannot
    /// confirm the destructive step of an admin's run in `prod`.
    Answer { environment: Option<String>, safety: Safety },
    /// Abort a run.
    Abort,
    /// Deliver alerts that may start runs (Alertmanager's webhook).
    Trigger,
    /// Administer runwell.
    Admin,
}

impl Action {
    /// "starting a destructive procedure in `prod`", for messages.
    pub fn describe(&self) -> String {
        match self {
            Action::View => "viewing runwell".into(),
            Action::CheckNow => "running a check now".into(),
            Action::StartRun { environment, safety } => {
                format!("starting a {} procedure{}", kind(*safety), within(environment.as_deref()))
            }
            Action::Answer { environment, safety } => {
                format!("answering in a run of a {} procedure{}", kind(*safety), within(environment.as_deref()))
            }
            Action::Abort => "aborting a run".into(),
            Action::Trigger => "sending alerts that start runs".into(),
            Action::Admin => "administering runwell".into(),
        }
    }
}

fn kind(safety: Safety) -> &'static str {
    match safety {
        Safety::Read => "read-only",
        Safety::Write => "writing",
        Safety::Destructive => "destructive",
    }
}

fn within(environment: Option<&str>) -> String {
    environment.map(|environment| format!(" in `{environment}`")).unwrap_or_default()
}

/// A caller may not do something: what, and the role it needs. Shown to
/// that caller as a 403.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} needs the `{needed}` role; `{caller}` has `{role}`")]
pub struct Denied {
    pub what: String,
    pub needed: Role,
    pub caller: String,
    pub role: Role,
}

/// Which role each action needs, from the configuration's `[[limits]]`.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    limits: Vec<LimitConfig>,
}

impl Policy {
    /// `limits` as the configuration checked them: at least `operator`,
    /// ordered, one entry per environment.
    pub fn from_config(limits: &[LimitConfig]) -> Policy {
        Policy { limits: limits.to_vec() }
    }

    /// The limits that rule `environment`.
    pub fn limits_for(&self, environment: Option<&str>) -> LimitConfig {
        let named = environment.and_then(|name| self.limits.iter().find(|l| l.environment.as_deref() == Some(name)));
        let fallback = || self.limits.iter().find(|l| l.environment.is_none());
        named.or_else(fallback).cloned().unwrap_or_default()
    }

    /// The least role that may do `action`.
    pub fn needed(&self, action: &Action) -> Role {
        match action {
            Action::View => Role::Viewer,
            Action::CheckNow | Action::Abort | Action::Trigger => Role::Operator,
            Action::StartRun { environment, safety } | Action::Answer { environment, safety } => {
                // Configuration checks keep limits at `operator` or above; the
                // `max` keeps that true for a policy built by hand.
                self.limits_for(environment.as_deref()).least_role(*safety).max(Role::Operator)
            }
            Action::Admin => Role::Admin,
        }
    }

    /// Whether `caller` may do `action`.
    pub fn permits(&self, caller: &Caller, action: &Action) -> Result<(), Denied> {
        let needed = self.needed(action);
        if caller.role >= needed {
            Ok(())
        } else {
            Err(Denied { what: action.describe(), needed, caller: caller.name.clone(), role: caller.role })
        }
    }
}
