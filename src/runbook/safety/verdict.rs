//! The verdict on one command or statement, and how a finding names what
//! it does: short, in backticks, never the whole command.

use super::options::is_subcommand;

/// The verdict on one command or statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    Read,
    Write(String),
    Destructive(String),
}

pub(super) fn is_harmless_sink(path: &str) -> bool {
    matches!(path, "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty" | "-") || path.starts_with("/dev/fd/")
}

/// Writing to `file`, unless it is a harmless sink.
pub(super) fn writes(file: &str) -> Verdict {
    if is_harmless_sink(file) { Verdict::Read } else { Verdict::Write(format!("writes {}", code(file))) }
}

/// `text` in backticks, shortened: messages name a command, they do not
/// quote it whole.
pub(super) fn code(text: &str) -> String {
    const MAX: usize = 48;
    let text = text.trim();
    if text.chars().count() <= MAX {
        format!("`{text}`")
    } else {
        let short: String = text.chars().take(MAX - 1).collect();
        format!("`{}…`", short.trim_end())
    }
}

/// An unknown command: its name, and its subcommand when it has one.
pub(super) fn generic(name: &str, args: &[&str]) -> String {
    // Commands whose first argument is a file, never a subcommand.
    const FILE_FIRST: &[&str] = &[
        "cp", "mv", "ln", "chmod", "chown", "chgrp", "mkdir", "rmdir", "touch", "install", "rsync", "scp", "tar",
        "zip", "unzip", "gzip", "gunzip", "xz", "unlink", "patch", "vi", "vim", "nano", "emacs", "source", ".",
        "python", "python3", "perl", "ruby", "node",
    ];
    if name.is_empty() {
        return "a command with an empty name".to_owned();
    }
    match args.first() {
        Some(sub) if is_subcommand(sub) && !FILE_FIRST.contains(&name) => code(&format!("{name} {sub}")),
        _ => code(name),
    }
}
