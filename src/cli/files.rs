//! Finding and reading runbook files: the only place the CLI touches the
//! file system for runbooks.

use std::path::{Path, PathBuf};

use super::Error;
use crate::runbook::source::LineIndex;
use crate::runbook::{self, Diagnostic, Parsed};

/// Expands `paths` into runbook files: files as given, directories searched
/// for `*.md` and `*.markdown` (skipping hidden and git-ignored entries), in
/// a stable order.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|source| Error::Read { path: path.clone(), source })?;
        if !metadata.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut found = Vec::new();
        for entry in ignore::WalkBuilder::new(path).build() {
            let entry = entry.map_err(|e| Error::Walk { path: path.clone(), message: e.to_string() })?;
            let is_markdown = entry.path().extension().is_some_and(|e| e == "md" || e == "markdown");
            if is_markdown && entry.file_type().is_some_and(|t| t.is_file()) {
                found.push(entry.into_path());
            }
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// Reads and parses one runbook. Text that is not UTF-8 is read lossily and
/// reported, so the rest of the file is still checked.
pub fn load(path: &Path) -> Result<Parsed, Error> {
    load_with_text(path).map(|(parsed, _)| parsed)
}

/// [`load`], also giving the text exactly as it was parsed: what a run
/// records, read once so an edit between two reads cannot split them.
pub fn load_with_text(path: &Path) -> Result<(Parsed, String), Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok((runbook::parse(path, &text), text)),
        Err(error) => {
            let valid = error.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            // the text before the first invalid byte is the same in the lossy copy
            let location = LineIndex::new(&text).location(&text, valid);
            let mut parsed = runbook::parse(path, &text);
            parsed.diagnostics.insert(
                0,
                Diagnostic::error(
                    "encoding",
                    location,
                    "this file is not valid UTF-8 here; invalid bytes were read as `\u{fffd}` — save the file as UTF-8",
                ),
            );
            Ok((parsed, text))
        }
    }
}
