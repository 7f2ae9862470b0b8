//! `command`: run a shell command (`sh -c`) and judge its exit status,
//! optionally as a Nagios plugin.
//!
//! Fields: `exit_code` (null when killed by a signal), `signal` (`SIGKILL`
//! when killed), `stdout`, `stderr` (each the first [`MAX_READ`](super::MAX_READ) bytes), and
//! with `nagios: true` `output` (the status text before `|`) and `perfdata`
//! (label → `{value, unit, warn, crit, min, max}`).
//!
//! The command runs in its own process group; everything in that group is
//! killed when the command exits, when the check times out or when the probe
//! is dropped, so a check never leaves processes behind.

mod child;
pub(super) mod perfdata;
#[cfg(test)]
mod tests;

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

pub use child::run;

use super::{Failure, Fields, Observation, Params, Verdict, one_line};

/// The exit status `sh` gives a command it cannot find.
const NOT_FOUND: i32 = 127;

pub async fn probe(target: &str, params: &Params, _timeout: Duration) -> Result<Observation, Failure> {
    let nagios = params.flag("nagios")?;
    let mut command = Command::new("sh");
    command.arg("-c").arg(target);
    if let Some(cwd) = params.text("cwd")? {
        if !std::path::Path::new(&cwd).is_dir() {
            return Err(Failure::unknown(format!("`cwd` {cwd} is not a directory")));
        }
        command.current_dir(cwd);
    }
    let finished = run(command).await.map_err(|e| Failure::unknown(format!("cannot run `sh`: {e}")))?;
    let code = finished.status.code();
    if code == Some(NOT_FOUND) {
        let program = target.split_whitespace().next().unwrap_or(target);
        return Err(Failure::unknown(format!("`{program}`: command not found")));
    }
    let (stdout, stderr) = (finished.stdout.text(), finished.stderr.text());
    let mut fields = Fields::new();
    fields.insert("exit_code".to_owned(), code.into());
    let signal = finished.status.signal().map(signal_name);
    if let Some(signal) = &signal {
        fields.insert("signal".to_owned(), signal.clone().into());
    }
    let headline = first_line(&stdout).or_else(|| first_line(&stderr)).unwrap_or_default();
    let mut observed = one_line(headline, 60);
    let default = if let Some(signal) = signal {
        Verdict::critical(format!("killed by {signal}"))
    } else if nagios {
        let plugin = perfdata::parse_output(&stdout);
        observed = one_line(&plugin.text, 60);
        let reason = if plugin.text.is_empty() { one_line(headline, 120) } else { one_line(&plugin.text, 120) };
        fields.insert("output".to_owned(), plugin.text.into());
        fields.insert("perfdata".to_owned(), Value::Object(plugin.perfdata));
        match code {
            Some(0) => Verdict::ok(),
            Some(1) => Verdict::warning(reason),
            Some(2) => Verdict::critical(reason),
            Some(3) => Verdict::unknown(reason),
            _ => Verdict::unknown(format!("exit status {}, not a Nagios state: {reason}", code.unwrap_or(-1))),
        }
    } else if code == Some(0) {
        Verdict::ok()
    } else {
        let why = first_line(&stderr).or_else(|| first_line(&stdout)).unwrap_or("no output");
        Verdict::critical(format!("exit status {}: {}", code.unwrap_or(-1), one_line(why, 120)))
    };
    if observed.is_empty() {
        observed = signal_or_exit(&fields);
    }
    for (name, captured) in [("stdout", &finished.stdout), ("stderr", &finished.stderr)] {
        if captured.truncated {
            observed = format!("{observed} ({name} larger than 1 MiB, read the first 1 MiB)");
        }
    }
    fields.insert("stdout".to_owned(), stdout.into());
    fields.insert("stderr".to_owned(), stderr.into());
    Ok(Observation::new(fields, observed, default))
}

/// The first line that says something.
fn first_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).find(|line| !line.is_empty())
}

fn signal_or_exit(fields: &Fields) -> String {
    match (fields.get("signal"), fields.get("exit_code")) {
        (Some(Value::String(signal)), _) => format!("killed by {signal}"),
        (_, Some(code)) => format!("exit {code}"),
        _ => String::new(),
    }
}

/// `SIGTERM` for 15: the names operators know.
fn signal_name(number: i32) -> String {
    let name = match number {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => return format!("signal {number}"),
    };
    name.to_owned()
}
