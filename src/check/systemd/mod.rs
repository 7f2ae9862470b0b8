//! `systemd`: a unit's state as `systemctl show` reports it.
//!
//! Fields: `load_state` (`loaded`, `not-found`, `masked`), `active_state`
//! (`active`, `failed`, …), `sub_state` (`running`, `dead`, …), `enabled`
//! (true when `unit_file_state` is `enabled` or `enabled-runtime`),
//! `unit_file_state`, `main_pid` (0 when none) and `active_since` (systemd's
//! `ActiveEnterTimestamp` text, null when never active).
//!
//! The program run is [`Context::systemctl`](super::engine::Context),
//! `systemctl` from `PATH` unless the run says otherwise: tests point it at a
//! stand-in printing real `systemctl show` output, since systemd cannot run
//! as PID 1 in a container.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::io::ErrorKind;
use std::time::Duration;

use tokio::process::Command;

use super::command::run;
use super::{Failure, Fields, Observation, Params, Verdict, one_line};

const PROPERTIES: &str = "LoadState,ActiveState,SubState,Result,UnitFileState,MainPID,ActiveEnterTimestamp";

pub async fn probe(target: &str, params: &Params, _timeout: Duration, systemctl: &str) -> Result<Observation, Failure> {
    let must_be_enabled = params.flag("enabled")?;
    let unit = target.trim();
    if unit.is_empty() || unit.starts_with('-') || unit.contains(char::is_whitespace) {
        return Err(Failure::unknown(format!("`{unit}` is not a unit name")));
    }
    let mut command = Command::new(systemctl);
    command.arg("show").arg(unit).arg(format!("--property={PROPERTIES}"));
    let finished = run(command).await.map_err(|e| match e.kind() {
        ErrorKind::NotFound => Failure::unknown(format!("`{systemctl}` is not installed here")),
        _ => Failure::unknown(format!("cannot run `{systemctl}`: {e}")),
    })?;
    let stdout = finished.stdout.text();
    if !finished.status.success() {
        let stderr = finished.stderr.text();
        let why = stderr.lines().chain(stdout.lines()).find(|l| !l.trim().is_empty()).unwrap_or("no output");
        return Err(Failure::unknown(format!("`systemctl show {unit}` failed: {}", one_line(why, 120))));
    }
    let properties: HashMap<&str, &str> = stdout.lines().filter_map(|line| line.split_once('=')).collect();
    let property = |name: &str| properties.get(name).copied().unwrap_or_default();
    let (load, active, sub) = (property("LoadState"), property("ActiveState"), property("SubState"));
    if load.is_empty() || active.is_empty() {
        return Err(Failure::unknown(format!(
            "`systemctl show {unit}` did not say LoadState and ActiveState: got `{}`",
            one_line(&stdout, 60)
        )));
    }
    let unit_file_state = property("UnitFileState");
    let enabled = matches!(unit_file_state, "enabled" | "enabled-runtime");
    let mut fields = Fields::new();
    fields.insert("load_state".to_owned(), load.into());
    fields.insert("active_state".to_owned(), active.into());
    fields.insert("sub_state".to_owned(), sub.into());
    fields.insert("enabled".to_owned(), enabled.into());
    fields.insert("unit_file_state".to_owned(), unit_file_state.into());
    fields.insert("main_pid".to_owned(), property("MainPID").parse::<u32>().unwrap_or(0).into());
    let since = property("ActiveEnterTimestamp");
    fields.insert("active_since".to_owned(), if since.is_empty() { serde_json::Value::Null } else { since.into() });
    let observed = match load {
        "loaded" if sub.is_empty() => active.to_owned(),
        "loaded" => format!("{active} ({sub})"),
        other => other.to_owned(),
    };
    let default = match (load, active) {
        ("not-found", _) => Verdict::critical(format!("unit {unit} not found")),
        ("masked", _) => Verdict::critical(format!("{unit} is masked")),
        (_, "active") if must_be_enabled && !enabled => {
            let state = if unit_file_state.is_empty() { "no unit file state" } else { unit_file_state };
            Verdict::critical(format!("{unit} is active but not enabled ({state})"))
        }
        (_, "active") => Verdict::ok(),
        (_, "activating" | "reloading" | "deactivating") => Verdict::warning(format!("{unit} is {active} ({sub})")),
        (_, "failed") => Verdict::critical(format!("{unit} is failed (Result: {})", property("Result"))),
        _ => Verdict::critical(format!("{unit} is {active} ({sub})")),
    };
    Ok(Observation::new(fields, observed, default))
}
