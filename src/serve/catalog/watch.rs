//! Noticing that runbooks changed, so the server reloads them.
//!
//! The kernel says what changed (inotify on Linux, through the `notify`
//! crate) rather than the server polling the tree. Saving a file is
//! rarely one event: editors write a temporary file and rename it over
//! the original (vim, `sed -i`), or truncate and write in pieces. So events
//! are coalesced: a signal goes out once the tree has been quiet for
//! [`QUIET`], or at the latest [`LONGEST_WAIT`] after the first event of a
//! burst, so a file written continuously still gets reloaded.

use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use notify::event::{EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use super::Error;

/// How long the tree must be quiet before a burst of events is one change.
pub const QUIET: Duration = Duration::from_millis(300);

/// The longest a change waits for the tree to go quiet.
pub const LONGEST_WAIT: Duration = Duration::from_secs(2);

/// Keeps the watch alive: dropping it stops watching, and the receiver
/// [`watch`] returned then yields `None`.
pub struct Watcher {
    _inner: RecommendedWatcher,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

/// What to watch and which of its events matter.
#[derive(Debug, Clone, Default)]
struct Targets {
    /// Files given by name: any change to that name matters, whatever its extension.
    files: Vec<PathBuf>,
    /// Directories: changes to Markdown files anywhere below them matter.
    dirs: Vec<PathBuf>,
}

/// Watches `paths` — the server's runbook files and directories — and
/// sends `()` when a Markdown file under them changes, appears, is
/// removed or is renamed over (a burst of events is one `()`; an unread
/// `()` absorbs later ones, since one reload reads everything anyway).
///
/// A file is watched through its directory, so a save that replaces the
/// file (a new inode renamed over the old) is still seen, and so is every
/// save after it. Paths are resolved once, now: a directory created later
/// under a watched one is watched too, but a watched directory that is
/// itself removed and created again is not.
pub fn watch(paths: &[PathBuf]) -> Result<(Watcher, mpsc::Receiver<()>), Error> {
    let mut targets = Targets::default();
    let mut roots: Vec<(PathBuf, RecursiveMode)> = Vec::new();
    for path in paths {
        let resolved = std::fs::canonicalize(path).map_err(|source| Error::Read { path: path.clone(), source })?;
        if resolved.is_dir() {
            roots.push((resolved.clone(), RecursiveMode::Recursive));
            targets.dirs.push(resolved);
        } else {
            let parent = resolved.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
            roots.push((parent, RecursiveMode::NonRecursive));
            targets.files.push(resolved);
        }
    }

    let (events, raw) = std_mpsc::channel::<()>();
    let relevant = targets.clone();
    let mut inner = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // An error (a full kernel queue, a watch lost) may hide a change: reloading is the safe answer.
        if event.is_err() || event.is_ok_and(|event| relevant.matter(&event)) {
            // The receiving thread only stops when the watcher goes.
            let _ = events.send(());
        }
    })
    .map_err(|source| Error::Watch { path: paths.first().cloned().unwrap_or_default(), source })?;
    for (root, mode) in &roots {
        inner.watch(root, *mode).map_err(|source| Error::Watch { path: root.clone(), source })?;
    }

    let (signal, changes) = mpsc::channel(1);
    std::thread::Builder::new()
        .name("runwell-watch".to_owned())
        .spawn(move || debounce(&raw, &signal))
        .map_err(|source| Error::Watch { path: PathBuf::new(), source: notify::Error::io(source) })?;
    Ok((Watcher { _inner: inner }, changes))
}

/// Turns raw events into signals, one per burst; returns when the watcher
/// is dropped (no more events can come) or nobody listens any more.
fn debounce(raw: &std_mpsc::Receiver<()>, signal: &mpsc::Sender<()>) {
    while raw.recv().is_ok() {
        let deadline = Instant::now() + LONGEST_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match raw.recv_timeout(QUIET.min(left)) {
                Ok(()) => {}
                Err(std_mpsc::RecvTimeoutError::Timeout) => break,
                Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
        if let Err(mpsc::error::TrySendError::Closed(())) = signal.try_send(()) {
            return;
        }
    }
}

impl Targets {
    /// Whether `event` could change what a reload reads.
    fn matter(&self, event: &notify::Event) -> bool {
        if event.need_rescan() {
            return true;
        }
        if matches!(event.kind, EventKind::Access(_)) {
            return false;
        }
        // A directory created, removed or renamed may carry runbooks with it; its events name only the directory.
        let may_be_directory = matches!(event.kind, EventKind::Create(_) | EventKind::Remove(_))
            || matches!(event.kind, EventKind::Modify(ModifyKind::Name(_)));
        event.paths.iter().any(|path| {
            self.files.iter().any(|file| file == path)
                || (self.dirs.iter().any(|dir| path.starts_with(dir))
                    && (is_markdown(path) || (may_be_directory && path.extension().is_none())))
        })
    }
}

/// The extensions `cli::files::discover` reads.
fn is_markdown(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "md" || e == "markdown")
}

#[cfg(test)]
mod tests {
    use notify::event::{AccessKind, CreateKind, DataChange, Flag, RemoveKind, RenameMode};

    use super::*;

    fn event(kind: EventKind, paths: &[&str]) -> notify::Event {
        let mut event = notify::Event::new(kind);
        event.paths = paths.iter().map(PathBuf::from).collect();
        event
    }

    #[test]
    fn markdown_under_a_watched_directory_and_files_given_by_name_matter() {
        let targets = Targets { files: vec!["/etc/ops/runbook.txt".into()], dirs: vec!["/srv/runbooks".into()] };
        let write = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        let renamed = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
        for (kind, paths) in [
            (write, &["/srv/runbooks/db.md"][..]),
            (write, &["/srv/runbooks/deep/er/db.markdown"]),
            (renamed, &["/srv/runbooks/.db.md.swp-tmp", "/srv/runbooks/db.md"]),
            (EventKind::Remove(RemoveKind::File), &["/srv/runbooks/db.md"]),
            (EventKind::Create(CreateKind::Folder), &["/srv/runbooks/team"]),
            (EventKind::Modify(ModifyKind::Name(RenameMode::From)), &["/srv/runbooks/team"]),
            (write, &["/etc/ops/runbook.txt"]),
        ] {
            assert!(targets.matter(&event(kind, paths)), "{kind:?} {paths:?}");
        }
        assert!(targets.matter(&event(EventKind::Other, &[]).set_flag(Flag::Rescan)));
    }

    #[test]
    fn other_files_and_mere_reads_do_not_matter() {
        let targets = Targets { files: vec!["/etc/ops/runbook.txt".into()], dirs: vec!["/srv/runbooks".into()] };
        let write = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        for (kind, paths) in [
            (write, &["/srv/runbooks/notes.txt"][..]),
            (write, &["/srv/runbooks/.db.md.swp"]),
            (write, &["/etc/ops/other.md"]),
            (write, &["/srv/elsewhere/db.md"]),
            (EventKind::Access(AccessKind::Any), &["/srv/runbooks/db.md"]),
        ] {
            assert!(!targets.matter(&event(kind, paths)), "{kind:?} {paths:?}");
        }
    }
}
