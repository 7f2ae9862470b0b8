//! Which process owns a run, told apart from a later process that reuses its
//! pid: a pid plus the process's start time, read from `/proc`.

use serde::{Deserialize, Serialize};

/// A process as the kernel knows it: pid and start time in clock ticks since
/// boot (`/proc/PID/stat` field 22). Pids are reused; the pair is not, until
/// a reboot — after which no process from before is alive anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessIdentity {
    pub pid: u32,
    pub start_ticks: u64,
}

impl ProcessIdentity {
    /// This process.
    pub fn current() -> Option<Self> {
        Self::of(std::process::id())
    }

    /// The live process with this pid, or `None` when there is none (a
    /// zombie counts as gone: it has exited, only its exit status remains).
    pub fn of(pid: u32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (state, start_ticks) = parse_stat(&stat)?;
        (state != 'Z' && state != 'X').then_some(ProcessIdentity { pid, start_ticks })
    }

    /// Whether this very process (not a later one with its pid) still runs.
    pub fn is_alive(&self) -> bool {
        Self::of(self.pid).is_some_and(|now| now == *self)
    }
}

/// State and start time from a `/proc/PID/stat` line. The command name (field
/// 2) is in parentheses and may itself contain spaces and `)`, so fields are
/// counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    // After the name: field 3 is the state, field 22 the start time.
    let state = fields.next()?.chars().next()?;
    let start_ticks = fields.nth(22 - 4)?.parse().ok()?;
    Some((state, start_ticks))
}

/// This machine's host name, as recorded with each run: `mark_interrupted`
/// judges only runs started on the same host.
pub fn host_name() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_a_name_with_spaces_and_parentheses() {
        let line = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100";
        assert_eq!(parse_stat(line), Some(('S', 987_654)));
    }

    #[test]
    fn this_process_is_alive_and_a_different_start_time_is_not() {
        let me = ProcessIdentity::current().expect("/proc/self/stat is readable");
        assert!(me.is_alive());
        let reused = ProcessIdentity { start_ticks: me.start_ticks + 1, ..me };
        assert!(!reused.is_alive());
    }
}
