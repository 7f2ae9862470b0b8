//! Process groups, shared by everything that runs a program: the `command`
//! probe and the procedure executor. Each program runs as the leader of its
//! own group so that it and everything it starts can be signalled as one,
//! and found again afterwards through `/proc`.

use rustix::process::{Pid, Signal, kill_process_group, test_kill_process_group};

/// Kills a process group when dropped: whatever way the caller ends (a
/// timeout dropping its future, a panic), nothing the program started
/// outlives it. [`GroupGuard::disarm`] stands it down.
#[derive(Debug)]
pub struct GroupGuard(Option<Pid>);

impl GroupGuard {
    /// Guards the group led by `leader` (a child spawned with
    /// `process_group(0)`); `None` when the child has no pid (already reaped).
    pub fn new(leader: Option<u32>) -> GroupGuard {
        GroupGuard(leader.and_then(|id| Pid::from_raw(id.cast_signed())))
    }

    /// The group's id, while the guard is armed.
    pub fn group(&self) -> Option<Pid> {
        self.0
    }

    /// Kills the group now, once, and stands down, so that a pid reused
    /// later is never signalled.
    pub fn kill_now(&mut self) {
        if let Some(group) = self.0.take() {
            let _ = kill_process_group(group, Signal::KILL);
        }
    }

    /// Stops guarding: the group will not be killed on drop. Returns the
    /// group so the caller can still signal it deliberately.
    pub fn disarm(&mut self) -> Option<Pid> {
        self.0.take()
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            // ESRCH (the group is already gone) is the common, fine case.
            let _ = kill_process_group(group, Signal::KILL);
        }
    }
}

/// Sends `signal` to every process in `group`; false when none was left.
pub fn signal_group(group: Pid, signal: Signal) -> bool {
    kill_process_group(group, signal).is_ok()
}

/// The live (neither zombie nor dead) processes whose process group is
/// `group`, by pid, ascending.
///
/// Zombies are left out on purpose: a reaped-by-nobody orphan (in a
/// container whose PID 1 does not reap) holds no resources and cannot be
/// killed further, so for "is anything still running" it counts as gone.
pub fn group_members(group: Pid) -> Vec<u32> {
    // The common answer, "nobody", without reading all of /proc: signal 0
    // fails with ESRCH when the group has no process, zombie or not. (EPERM
    // means members we may not signal, such as a `sudo` child: look.)
    if test_kill_process_group(group) == Err(rustix::io::Errno::SRCH) {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let group = group.as_raw_nonzero().get();
    let mut members: Vec<u32> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| stat_of(*pid).is_some_and(|stat| stat.group == group && stat.alive))
        .collect();
    members.sort_unstable();
    members
}

/// Whether `pid` is a running process; zombies count as gone (see
/// [`group_members`]).
pub fn is_alive(pid: u32) -> bool {
    stat_of(pid).is_some_and(|stat| stat.alive)
}

struct Stat {
    group: i32,
    alive: bool,
}

/// Reads `/proc/PID/stat`: `pid (comm) S ppid pgrp …`. The command name may
/// hold spaces and parentheses, so fields are counted after the last `)`.
fn stat_of(pid: u32) -> Option<Stat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let _parent = fields.next()?;
    let group = fields.next()?.parse().ok()?;
    Some(Stat { group, alive: !state.starts_with(['Z', 'X']) })
}
