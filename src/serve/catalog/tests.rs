//! Loading and reloading real files in a temporary directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{Catalog, Error, Problem, watch};

/// A runbook with one check, named `check`, in a procedure `## Health`.
fn runbook(name: &str, title: &str, check: &str) -> String {
    format!(
        "---\nrunbook: {name}\n---\n# {title}\n\n## Health\n\n```checks\n- name: {check}\n  tcp: \"127.0.0.1:1\"\n```\n"
    )
}

/// The same runbook with a `checks` entry that is not a mapping: a lint
/// error on line 14, column 3.
fn broken(name: &str, title: &str) -> String {
    format!("{}\n```checks\n- just a string\n```\n", runbook(name, title, "fine"))
}

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        Dir { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn paths(&self) -> Vec<PathBuf> {
        vec![self.dir.path().to_owned()]
    }

    fn load(&self) -> Catalog {
        Catalog::load(&self.paths(), None, &[]).unwrap()
    }
}

fn names(catalog: &Catalog) -> Vec<(&str, Option<&str>)> {
    catalog.entries.iter().map(|e| (e.name.as_str(), e.title.as_deref())).collect()
}

fn check_names(catalog: &Catalog) -> Vec<String> {
    catalog.checks().iter().map(|c| c.check.name.clone()).collect()
}

fn only_problem(catalog: &Catalog) -> &Problem {
    assert_eq!(catalog.problems.len(), 1, "{:#?}", catalog.problems);
    &catalog.problems[0]
}

#[test]
fn at_start_every_runbook_is_served_and_lint_errors_are_listed() {
    let dir = Dir::new();
    dir.write("a.md", &runbook("alpha", "Alpha", "alpha-port"));
    let b = dir.write("b.md", &broken("beta", "Beta"));
    dir.write("notes.txt", "not a runbook");
    let catalog = dir.load();
    assert_eq!(names(&catalog), [("alpha", Some("Alpha")), ("beta", Some("Beta"))]);
    assert_eq!(check_names(&catalog), ["alpha-port", "fine"]);
    let problem = only_problem(&catalog);
    assert_eq!(problem.path, b);
    assert!(!problem.kept_previous);
    assert_eq!(
        problem.message,
        format!(
            "`{b}` has 1 lint error; what could be read is served:\n\
             {b}:14:3: error[checks-syntax]: each check is a mapping with a `name` and a probe, not a string",
            b = b.display()
        )
    );
}

#[test]
fn an_entry_holds_the_text_as_read_and_its_page() {
    let dir = Dir::new();
    let text = runbook("alpha", "Alpha", "alpha-port");
    dir.write("a.md", &text);
    let catalog = dir.load();
    let entry = catalog.entry("alpha").unwrap();
    assert_eq!(&*entry.source, text);
    assert!(entry.html.contains("<h2 id=\"health\">Health</h2>"), "{}", entry.html);
    assert!(entry.html.contains("data-state-for=\"alpha-port\""), "{}", entry.html);
    assert!(entry.diagnostics.is_empty(), "{:?}", entry.diagnostics);
    assert!(catalog.problems.is_empty());
}

#[test]
fn a_reload_picks_up_an_edit() {
    let dir = Dir::new();
    dir.write("a.md", &runbook("alpha", "Alpha", "alpha-port"));
    let first = dir.load();
    dir.write("a.md", &runbook("alpha", "Alpha, edited", "alpha-http"));
    let second = first.reload(&dir.paths(), None, &[]);
    assert_eq!(names(&second), [("alpha", Some("Alpha, edited"))]);
    assert_eq!(check_names(&second), ["alpha-http"]);
    assert!(second.problems.is_empty(), "{:?}", second.problems);
}

#[test]
fn a_broken_edit_keeps_the_previous_version_and_says_where_the_error_is() {
    let dir = Dir::new();
    let a = dir.write("a.md", &runbook("alpha", "Alpha", "alpha-port"));
    let first = dir.load();
    dir.write("a.md", &broken("alpha", "Alpha, half-edited"));
    let second = first.reload(&dir.paths(), None, &[]);
    assert!(Arc::ptr_eq(&first.entries[0], &second.entries[0]), "the entry served before is served still");
    assert_eq!(check_names(&second), ["alpha-port"]);
    let problem = only_problem(&second);
    assert!(problem.kept_previous);
    assert_eq!(
        problem.message,
        format!(
            "`{a}` has 1 lint error; the previous version is still served:\n\
             {a}:14:3: error[checks-syntax]: each check is a mapping with a `name` and a probe, not a string",
            a = a.display()
        )
    );

    dir.write("a.md", &runbook("alpha", "Alpha, fixed", "alpha-port"));
    let third = second.reload(&dir.paths(), None, &[]);
    assert_eq!(names(&third), [("alpha", Some("Alpha, fixed"))]);
    assert!(third.problems.is_empty(), "{:?}", third.problems);
}

#[test]
fn a_broken_file_served_since_start_is_not_said_to_be_a_previous_version() {
    let dir = Dir::new();
    dir.write("b.md", &broken("beta", "Beta"));
    let first = dir.load();
    let second = first.reload(&dir.paths(), None, &[]);
    assert_eq!(names(&second), [("beta", Some("Beta"))]);
    let problem = only_problem(&second);
    assert!(!problem.kept_previous);
    assert!(problem.message.contains("what could be read is served"), "{}", problem.message);
}

#[test]
fn a_deleted_file_disappears() {
    let dir = Dir::new();
    dir.write("a.md", &runbook("alpha", "Alpha", "alpha-port"));
    let b = dir.write("b.md", &runbook("beta", "Beta", "beta-port"));
    let first = dir.load();
    std::fs::remove_file(b).unwrap();
    let second = first.reload(&dir.paths(), None, &[]);
    assert_eq!(names(&second), [("alpha", Some("Alpha"))]);
    assert_eq!(check_names(&second), ["alpha-port"]);
    assert!(second.problems.is_empty(), "{:?}", second.problems);
}

#[test]
fn a_new_broken_file_is_not_added() {
    let dir = Dir::new();
    dir.write("a.md", &runbook("alpha", "Alpha", "alpha-port"));
    let first = dir.load();
    let c = dir.write("c.md", &broken("gamma", "Gamma"));
    let second = first.reload(&dir.paths(), None, &[]);
    assert_eq!(names(&second), [("alpha", Some("Alpha"))]);
    let problem = only_problem(&second);
    assert_eq!(problem.path, c);
    assert!(!problem.kept_previous);
    assert!(
        problem
            .message
            .starts_with(&format!("`{}` has 1 lint error; it is not served until this is fixed:\n", c.display())),
        "{}",
        problem.message
    );
    assert!(problem.message.contains(":14:3: error[checks-syntax]"), "{}", problem.message);

    let d = dir.write("d.md", &runbook("delta", "Delta", "delta-port"));
    let third = second.reload(&dir.paths(), None, &[]);
    assert_eq!(names(&third), [("alpha", Some("Alpha")), ("delta", Some("Delta"))]);
    assert_eq!(third.problems.iter().map(|p| &p.path).collect::<Vec<_>>(), [&c]);
    assert_eq!(third.entries[1].path, d);
}

#[test]
fn an_unreadable_file_keeps_its_previous_version() {
    let dir = Dir::new();
    let real = dir.write("real.md", &runbook("alpha", "Alpha", "alpha-port"));
    // Given by name through a link, so pointing the link at a file whose
    // read fails (EIO, even for root) makes the runbook unreadable.
    let link = dir.path("alpha.md");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let paths = vec![link.clone()];
    let first = Catalog::load(&paths, None, &[]).unwrap();
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("/proc/self/mem", &link).unwrap();
    let second = first.reload(&paths, None, &[]);
    assert!(Arc::ptr_eq(&first.entries[0], &second.entries[0]));
    let problem = only_problem(&second);
    assert!(problem.kept_previous);
    assert!(problem.message.starts_with(&format!("cannot read `{}`: ", link.display())), "{}", problem.message);
    assert!(problem.message.ends_with("; the previous version is still served"), "{}", problem.message);
    assert!(matches!(Catalog::load(&paths, None, &[]), Err(Error::Read { .. })), "at start it is an error");
}

#[test]
fn a_missing_path_stops_the_start_but_not_a_reload() {
    let dir = Dir::new();
    let sub = dir.path("team");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("a.md"), runbook("alpha", "Alpha", "alpha-port")).unwrap();
    let paths = vec![sub.clone()];
    let first = Catalog::load(&paths, None, &[]).unwrap();
    std::fs::remove_dir_all(&sub).unwrap();
    let second = first.reload(&paths, None, &[]);
    assert_eq!(names(&second), [("alpha", Some("Alpha"))]);
    let problem = only_problem(&second);
    assert_eq!(problem.path, sub);
    assert!(problem.kept_previous);
    let error = Catalog::load(&paths, None, &[]).unwrap_err();
    assert!(matches!(&error, Error::Read { path, .. } if *path == sub), "{error}");
}

#[test]
fn values_that_no_longer_resolve_keep_the_previous_version() {
    let dir = Dir::new();
    dir.write("a.md", &runbook("alpha", "Alpha", "alpha-port"));
    let first = dir.load();
    let second = first.reload(&dir.paths(), Some("staging"), &[]);
    assert!(Arc::ptr_eq(&first.entries[0], &second.entries[0]));
    let problem = only_problem(&second);
    assert!(problem.kept_previous);
    assert!(problem.message.contains("has no environment `staging`"), "{}", problem.message);
    let error = Catalog::load(&dir.paths(), Some("staging"), &[]).unwrap_err();
    assert!(matches!(error, Error::Template { .. }), "{error}");
}

#[test]
fn two_runbooks_with_one_name_are_both_served_and_reported() {
    let dir = Dir::new();
    let a = dir.write("a.md", &runbook("ops", "First", "first-port"));
    let b = dir.write("b.md", &runbook("ops", "Second", "second-port"));
    let catalog = dir.load();
    assert_eq!(names(&catalog), [("ops", Some("First")), ("ops", Some("Second"))]);
    assert_eq!(catalog.entry("ops").unwrap().path, b, "the later wins, as its checks do");
    let problem = only_problem(&catalog);
    assert_eq!(problem.path, b);
    assert_eq!(
        problem.message,
        format!(
            "`{}` and `{}` are both runbook `ops`: the checks of the later replace those of the same name; \
             give one a `runbook:` name of its own",
            a.display(),
            b.display()
        )
    );
}

#[test]
fn secrets_are_masked_per_runbook_and_together_and_never_debug_printed() {
    let dir = Dir::new();
    let secret = "s3cr3t-Hq8vLx2";
    let file = dir.write("token", &format!("{secret}\n"));
    dir.write(
        "a.md",
        &format!(
            "---\nrunbook: alpha\nsecrets:\n  token: {{ file: {} }}\n---\n# Alpha\n\n```checks\n- name: api\n  http: \"http://user:{{{{ token }}}}@127.0.0.1:1/\"\n```\n",
            file.display()
        ),
    );
    dir.write("b.md", &runbook("beta", "Beta", "beta-port"));
    let catalog = dir.load();
    assert!(catalog.problems.is_empty(), "{:?}", catalog.problems);
    let alpha = catalog.entry("alpha").unwrap();
    assert_eq!(alpha.redactor.redact(&format!("token={secret}")), "token=********");
    assert_eq!(catalog.redactor().redact(secret), "********");
    assert!(catalog.entry("beta").unwrap().redactor.is_empty());
    let debug = format!("{catalog:?}");
    assert!(!debug.contains(secret), "{debug}");

    // A rotated secret file is read again on reload, though no runbook changed.
    std::fs::write(&file, "n3w-Zp4kW7").unwrap();
    let reloaded = catalog.reload(&dir.paths(), None, &[]);
    assert_eq!(reloaded.redactor().redact("n3w-Zp4kW7"), "********");
}

/// Awaits the next change signal; the timeout only guards against a hang.
async fn changed(changes: &mut tokio::sync::mpsc::Receiver<()>) {
    let signal = tokio::time::timeout(Duration::from_secs(30), changes.recv()).await;
    assert_eq!(signal, Ok(Some(())), "no change was signalled");
}

/// What vim and `sed -i` do: write a new file, rename it over the old.
fn save_by_rename(path: &Path, text: &str) {
    let temporary = path.with_file_name(".runwell-test-save.tmp");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

#[tokio::test]
async fn a_rename_over_save_in_a_watched_directory_is_noticed() {
    let dir = Dir::new();
    let a = dir.write("a.md", &runbook("alpha", "Alpha", "alpha-port"));
    let (_watcher, mut changes) = watch(&dir.paths()).unwrap();
    save_by_rename(&a, &runbook("alpha", "Alpha, edited", "alpha-port"));
    changed(&mut changes).await;
    let catalog = dir.load();
    assert_eq!(names(&catalog), [("alpha", Some("Alpha, edited"))]);
}

#[tokio::test]
async fn a_file_watched_by_name_is_still_watched_after_it_was_replaced() {
    let dir = Dir::new();
    let a = dir.write("a.md", &runbook("alpha", "Alpha", "alpha-port"));
    let (_watcher, mut changes) = watch(std::slice::from_ref(&a)).unwrap();
    save_by_rename(&a, &runbook("alpha", "Alpha, once", "alpha-port"));
    changed(&mut changes).await;
    save_by_rename(&a, &runbook("alpha", "Alpha, twice", "alpha-port"));
    changed(&mut changes).await;
}

#[tokio::test]
async fn new_and_removed_files_in_new_directories_are_noticed() {
    let dir = Dir::new();
    let (_watcher, mut changes) = watch(&dir.paths()).unwrap();
    let sub = dir.path("team");
    std::fs::create_dir(&sub).unwrap();
    changed(&mut changes).await;
    std::fs::write(sub.join("b.md"), runbook("beta", "Beta", "beta-port")).unwrap();
    changed(&mut changes).await;
    std::fs::remove_file(sub.join("b.md")).unwrap();
    changed(&mut changes).await;
}

#[tokio::test]
async fn dropping_the_watcher_ends_the_signals() {
    let dir = Dir::new();
    let (watcher, mut changes) = watch(&dir.paths()).unwrap();
    drop(watcher);
    let end = tokio::time::timeout(Duration::from_secs(30), changes.recv()).await;
    assert_eq!(end, Ok(None));
}
