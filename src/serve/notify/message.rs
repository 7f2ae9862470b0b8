//! What a notice says: runwell's JSON for `webhook` receivers, one line of
//! text for Slack's incoming webhooks.

use jiff::Timestamp;
use reqwest::Url;
use serde::Serialize;

use crate::check;
use crate::journal::{self, RunId};
use crate::serve::config::NotifyEvent;
use crate::serve::scheduler::Change;

/// Something worth telling people about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Notice {
    /// A check's confirmed state changed (after the thresholds).
    CheckChanged {
        runbook: String,
        check: String,
        from: check::Status,
        to: check::Status,
        reason: String,
        at: Timestamp,
    },
    RunStarted {
        run: RunId,
        runbook: String,
        procedure: String,
        env: Option<String>,
        /// Who started it: a token's name, or the alert trigger.
        by: String,
        /// What made it start, when not a person: the alert.
        trigger: Option<String>,
    },
    RunFinished {
        run: RunId,
        runbook: String,
        procedure: String,
        status: journal::Status,
        reason: Option<String>,
    },
}

impl Notice {
    /// The kind of event, as `[[notify]] events` names it.
    pub fn event(&self) -> NotifyEvent {
        match self {
            Notice::CheckChanged { .. } => NotifyEvent::Check,
            Notice::RunStarted { .. } | Notice::RunFinished { .. } => NotifyEvent::Run,
        }
    }

    /// The `event` field of the webhook JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Notice::CheckChanged { .. } => "check_changed",
            Notice::RunStarted { .. } => "run_started",
            Notice::RunFinished { .. } => "run_finished",
        }
    }

    /// Where on the dashboard this is shown: `runs/42`, `runbooks/RUNBOOK`
    /// under `public_url` (which may have a path of its own).
    pub fn link(&self, public_url: &Url) -> Url {
        let mut url = public_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            match self {
                // The runbook's page: the check's live state beside the
                // document that says what to do about it.
                Notice::CheckChanged { runbook, .. } => {
                    path.extend(["runbooks", runbook]);
                }
                Notice::RunStarted { run, .. } | Notice::RunFinished { run, .. } => {
                    path.extend(["runs", &run.to_string()]);
                }
            }
        }
        url
    }

    /// The body for a `webhook` receiver: the notice's fields, `event`, and
    /// `url` when the server's public URL is known.
    pub fn webhook_json(&self, public_url: Option<&Url>) -> String {
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(flatten)]
            notice: &'a Notice,
            #[serde(skip_serializing_if = "Option::is_none")]
            url: Option<String>,
        }
        let url = public_url.map(|base| self.link(base).to_string());
        // Strings, numbers and enums: serializing cannot fail.
        serde_json::to_string(&Body { notice: self, url }).unwrap_or_default()
    }

    /// The body for a Slack incoming webhook: `{"text": …}`.
    pub fn slack_json(&self, public_url: Option<&Url>) -> String {
        serde_json::json!({ "text": self.slack_text(public_url) }).to_string()
    }

    /// One line a person reads in a channel: what happened, to what, and
    /// why, with the subject linked to the dashboard when it can be.
    ///
    /// `runwell: tornado-vpn › admin-api is critical (was ok): connection refused`
    pub fn slack_text(&self, public_url: Option<&Url>) -> String {
        let linked = |text: String| match public_url {
            Some(base) => format!("<{}|{}>", self.link(base), text),
            None => text,
        };
        match self {
            Notice::CheckChanged { runbook, check, from, to, reason, .. } => {
                let subject = linked(format!("{} › {}", escape(runbook), escape(check)));
                let why = if reason.is_empty() { String::new() } else { format!(": {}", escape(&short(reason))) };
                format!("runwell: {subject} is {to} (was {from}){why}")
            }
            Notice::RunStarted { run, runbook, procedure, env, by, trigger } => {
                let subject = linked(format!("run {run}"));
                let env = env.as_ref().map(|env| format!(" in {}", escape(env))).unwrap_or_default();
                let trigger = trigger.as_ref().map(|t| format!(" for {}", escape(&short(t)))).unwrap_or_default();
                format!(
                    "runwell: {subject} of {} › {} started by {}{env}{trigger}",
                    escape(runbook),
                    escape(procedure),
                    escape(by)
                )
            }
            Notice::RunFinished { run, runbook, procedure, status, reason } => {
                let subject = linked(format!("run {run}"));
                let why = reason.as_ref().map(|r| format!(": {}", escape(&short(r)))).unwrap_or_default();
                format!("runwell: {subject} of {} › {} {status}{why}", escape(runbook), escape(procedure))
            }
        }
    }
}

impl From<&Change> for Notice {
    /// The scheduler's change, with the reason of the result that confirmed it.
    fn from(change: &Change) -> Notice {
        Notice::CheckChanged {
            runbook: change.key.runbook.clone(),
            check: change.key.check.clone(),
            from: change.from,
            to: change.to,
            reason: change.sample.reason.clone(),
            at: change.at,
        }
    }
}

/// Characters of a reason or trigger shown in a Slack message.
const SHORT: usize = 300;

/// `text` on one line and at most [`SHORT`] characters: a message, not a log.
fn short(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(SHORT).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// Slack's three control characters, as its formatting rules ask.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
