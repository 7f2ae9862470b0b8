//! The runbooks `runwell serve` serves: read, linted, rendered and their
//! checks resolved, once per load — and reloaded without ever swapping a
//! working runbook for a broken one.
//!
//! At start everything that can be read is served, errors or not (a
//! runbook with one bad `checks` entry still has useful checks), and the
//! errors are listed as [`Problem`]s. On reload the server already has a
//! version that worked, so a file whose new text has lint errors — the
//! errors `runwell lint` reports — keeps its previous [`Entry`]: an edit
//! saved half-way through must not take a runbook's checks off the
//! dashboard. A new file with errors is not added; a deleted file is
//! dropped. [`watch`] says when to reload.
//!
//! Files are found and read by `cli::files`, the one place runbook files
//! are touched, so the server sees exactly the files and text `runwell
//! lint` and `runwell check` see.

mod watch;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use watch::{Watcher, watch};

use super::render;
use super::scheduler::Scheduled;
use crate::cli::{self, files};
use crate::lint::{self, Context};
use crate::runbook::{Diagnostic, Parsed, Runbook, Severity};
use crate::template::{self, Redactor, Values};

/// Why the runbooks could not be loaded at start. On reload nothing is
/// fatal: each of these becomes a [`Problem`] instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot search `{path}`: {message}")]
    Walk { path: PathBuf, message: String },
    #[error("`{path}`: {source}")]
    Template { path: PathBuf, source: template::Error },
    #[error("cannot watch `{path}` for changes: {source}")]
    Watch { path: PathBuf, source: notify::Error },
}

impl Error {
    /// The file or directory it is about.
    pub fn path(&self) -> &Path {
        match self {
            Error::Read { path, .. }
            | Error::Walk { path, .. }
            | Error::Template { path, .. }
            | Error::Watch { path, .. } => path,
        }
    }

    /// `cli::files` reports only `Read` and `Walk`; anything else it might
    /// one day return is still a walk problem at `path`.
    fn from_files(path: &Path, error: cli::Error) -> Error {
        match error {
            cli::Error::Read { path, source } => Error::Read { path, source },
            cli::Error::Walk { path, message } => Error::Walk { path, message },
            other => Error::Walk { path: path.to_owned(), message: other.to_string() },
        }
    }
}

/// Every runbook being served, and what is wrong with the files.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// In the order the files were found (paths as given, each directory
    /// sorted), which is the order checks are handed to the scheduler: of
    /// two runbooks with one name, the later's checks win.
    pub entries: Vec<Arc<Entry>>,
    /// In the same order; empty when every file loaded cleanly.
    pub problems: Vec<Problem>,
}

/// One runbook as served: everything a request needs, prepared once per
/// load rather than per request.
pub struct Entry {
    pub name: String,
    pub path: PathBuf,
    pub title: Option<String>,
    pub runbook: Arc<Runbook>,
    /// The text exactly as read: what a run started from this entry records.
    pub source: Arc<str>,
    /// The runbook page's body ([`render::render`]).
    pub html: Arc<str>,
    /// Everything `runwell lint` says about this version, warnings included.
    pub diagnostics: Vec<Diagnostic>,
    /// Its checks, rendered with real secrets: for the scheduler only.
    pub checks: Vec<Scheduled>,
    /// Masks this runbook's secret values in anything shown.
    pub redactor: Redactor,
}

/// Hand-written so that neither the rendered checks nor the redactor —
/// both hold secret values — can reach a log through `{:?}`.
impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("title", &self.title)
            .field("source", &format_args!("{} bytes", self.source.len()))
            .field("diagnostics", &self.diagnostics.len())
            .field("checks", &self.checks.len())
            .finish_non_exhaustive()
    }
}

/// Something wrong with one file (or one directory of `paths`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    /// What is wrong and what is served meanwhile, then each lint error as
    /// `runwell lint` prints it (`file:line:column: error[rule]: message`),
    /// one per line.
    pub message: String,
    /// The file's new version was refused and the version loaded before it
    /// is still served.
    pub kept_previous: bool,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Start or reload: what may be refused, and what a refusal falls back to.
#[derive(Clone, Copy)]
enum Mode<'c> {
    /// Serve everything readable; fail on what cannot be read at all.
    Start,
    /// Never fail; keep what `previous` served when a new version is worse.
    Reload { previous: &'c Catalog },
}

/// The variables every runbook is loaded with.
struct Variables<'v> {
    env: Option<&'v str>,
    sets: &'v [String],
    context: Context,
}

impl Catalog {
    /// Reads every runbook under `paths` for the server's start.
    ///
    /// Runbooks with lint errors are served as far as they could be read and
    /// listed in `problems`. A path that does not exist, a file that cannot
    /// be read, an unknown `env` or a bad `--set` stop the start: the
    /// operator is there to fix the command line.
    pub fn load(paths: &[PathBuf], env: Option<&str>, sets: &[String]) -> Result<Catalog, Error> {
        build(paths, &Variables { env, sets, context: today() }, Mode::Start)
    }

    /// Re-reads every runbook under `paths`, keeping from `self` whatever a
    /// new version would make worse:
    ///
    /// - a file whose new text has lint errors keeps its previous entry;
    /// - a new file with lint errors is not added;
    /// - a file that cannot be read (or whose values no longer resolve)
    ///   keeps its previous entry;
    /// - a file that is gone from its directory is dropped;
    /// - a path of `paths` itself that is gone or cannot be searched keeps
    ///   everything served from it: the operator named it, so its
    ///   disappearing is a problem to see, not a runbook to forget.
    ///
    /// Each refusal is a [`Problem`] with `kept_previous` saying whether an
    /// older version is still served. Secrets are read afresh for every
    /// entry, so a reload also picks up a rotated secret file.
    #[must_use = "the reloaded catalog replaces this one"]
    pub fn reload(&self, paths: &[PathBuf], env: Option<&str>, sets: &[String]) -> Catalog {
        match build(paths, &Variables { env, sets, context: today() }, Mode::Reload { previous: self }) {
            Ok(catalog) => catalog,
            // `Mode::Reload` turns every error into a problem, so this is only
            // a guard: a server keeps what it has rather than stop on a reload.
            Err(error) => {
                let mut kept = self.clone();
                kept.problems.push(Problem {
                    path: error.path().to_owned(),
                    message: format!("{error}; the previous versions are still served"),
                    kept_previous: true,
                });
                kept
            }
        }
    }

    /// Every runbook's checks in catalog order, for `Scheduler::start` and
    /// `Scheduler::replace` (where the later of two equal keys wins).
    pub fn checks(&self) -> Vec<Scheduled> {
        self.entries.iter().flat_map(|entry| entry.checks.iter().cloned()).collect()
    }

    /// Masks every served runbook's secrets: for output that is not tied
    /// to one runbook (the scheduler's, the server's logs).
    pub fn redactor(&self) -> Redactor {
        let mut redactor = Redactor::default();
        for entry in &self.entries {
            redactor.extend(&entry.redactor);
        }
        redactor
    }

    /// The runbook called `name`; of two with one name, the later, as with
    /// their checks.
    pub fn entry(&self, name: &str) -> Option<&Arc<Entry>> {
        self.entries.iter().rev().find(|entry| entry.name == name)
    }

    fn previous(&self, path: &Path) -> Option<&Arc<Entry>> {
        self.entries.iter().find(|entry| entry.path == path)
    }
}

fn today() -> Context {
    Context { today: jiff::ZonedDateTime::now().date() }
}

fn build(paths: &[PathBuf], variables: &Variables<'_>, mode: Mode<'_>) -> Result<Catalog, Error> {
    let mut catalog = Catalog::default();
    for root in paths {
        let found = match files::discover(std::slice::from_ref(root)) {
            Ok(found) => found,
            Err(error) => {
                let error = Error::from_files(root, error);
                let Mode::Reload { previous } = mode else { return Err(error) };
                // Keep serving what was under it: one unreadable directory is no reason to drop its runbooks.
                let kept: Vec<_> = previous.entries.iter().filter(|e| e.path.starts_with(root)).cloned().collect();
                catalog.problems.push(Problem {
                    path: root.clone(),
                    message: format!("{error}; {}", kept_note(!kept.is_empty())),
                    kept_previous: !kept.is_empty(),
                });
                catalog.entries.extend(kept);
                continue;
            }
        };
        for path in found {
            // A directory listed twice, or a file inside a directory also given.
            if catalog.entries.iter().any(|entry| entry.path == path) {
                continue;
            }
            load_file(&mut catalog, &path, variables, mode)?;
        }
    }
    for (i, entry) in catalog.entries.iter().enumerate() {
        if let Some(first) = catalog.entries[..i].iter().find(|earlier| earlier.name == entry.name) {
            catalog.problems.push(Problem {
                path: entry.path.clone(),
                message: format!(
                    "`{}` and `{}` are both runbook `{}`: the checks of the later replace those of the same name; \
                     give one a `runbook:` name of its own",
                    first.path.display(),
                    entry.path.display(),
                    entry.name
                ),
                kept_previous: false,
            });
        }
    }
    Ok(catalog)
}

/// Reads, lints and prepares one file into `catalog`, or keeps its
/// previous entry and says why.
fn load_file(catalog: &mut Catalog, path: &Path, variables: &Variables<'_>, mode: Mode<'_>) -> Result<(), Error> {
    let previous = match mode {
        Mode::Start => None,
        Mode::Reload { previous } => previous.previous(path),
    };
    let refuse = |catalog: &mut Catalog, what: String, details: Option<String>| {
        let mut message = format!("{what}; {}", kept_note(previous.is_some()));
        if let Some(details) = details {
            message.push_str(":\n");
            message.push_str(&details);
        }
        catalog.problems.push(Problem { path: path.to_owned(), message, kept_previous: previous.is_some() });
        catalog.entries.extend(previous.cloned());
    };
    let (parsed, text) = match files::load_with_text(path) {
        Ok(loaded) => loaded,
        // Deleted between the directory walk and the read: gone, like a file the walk did not find.
        Err(cli::Error::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => {
            let error = Error::from_files(path, error);
            if matches!(mode, Mode::Start) {
                return Err(error);
            }
            refuse(catalog, error.to_string(), None);
            return Ok(());
        }
    };
    let diagnostics = lint::lint(&parsed, variables.context);
    let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.severity == Severity::Error).collect();
    // The version already served, errors and all, is no worse than itself.
    let already_served = previous.is_some_and(|entry| *entry.source == *text);
    if !errors.is_empty() {
        let listing = lint_lines(path, &errors);
        let count = format!("`{}` has {} lint error{}", path.display(), errors.len(), plural(errors.len()));
        if matches!(mode, Mode::Start) || already_served {
            catalog.problems.push(Problem {
                path: path.to_owned(),
                message: format!("{count}; what could be read is served:\n{listing}"),
                kept_previous: false,
            });
        } else {
            refuse(catalog, count, Some(listing));
            return Ok(());
        }
    }
    match prepare(parsed, text, diagnostics, variables) {
        Ok(entry) => catalog.entries.push(Arc::new(entry)),
        Err(source) => {
            let error = Error::Template { path: path.to_owned(), source };
            if matches!(mode, Mode::Start) {
                return Err(error);
            }
            refuse(catalog, error.to_string(), None);
        }
    }
    Ok(())
}

/// What the end of a refusal's message says is served instead.
fn kept_note(kept: bool) -> &'static str {
    if kept { "the previous version is still served" } else { "it is not served until this is fixed" }
}

/// Resolves the values and secrets, the checks and the page of one runbook.
fn prepare(
    parsed: Parsed,
    text: String,
    diagnostics: Vec<Diagnostic>,
    variables: &Variables<'_>,
) -> Result<Entry, template::Error> {
    let runbook = parsed.runbook;
    let secrets = Values::resolve(&runbook, variables.env, variables.sets)?.with_secrets();
    let checks = runbook.checks.iter().map(|spec| Scheduled::resolve(&runbook.name, spec, &secrets)).collect();
    let html = render::render(&runbook, &text);
    Ok(Entry {
        name: runbook.name.clone(),
        path: runbook.path.clone(),
        title: runbook.title.clone(),
        checks,
        redactor: secrets.redactor().clone(),
        html: html.into(),
        source: text.into(),
        diagnostics,
        runbook: Arc::new(runbook),
    })
}

/// Errors as `runwell lint` prints them, without colour.
fn lint_lines(path: &Path, errors: &[&Diagnostic]) -> String {
    let lines: Vec<String> = errors
        .iter()
        .map(|d| {
            format!(
                "{}:{}:{}: {}[{}]: {}",
                path.display(),
                d.location.line,
                d.location.column,
                d.severity,
                d.rule,
                d.message
            )
        })
        .collect();
    lines.join("\n")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests;
