//! Inputs the fuzzer once crashed on (`tests/fuzz-regressions/`): each must
//! parse and lint without panicking, with every diagnostic inside the file.

use std::path::Path;

use runwell::lint::{self, Context};
use runwell::runbook::{self, safety, shell};

use crate::test::root;

#[test]
fn fuzz_regressions_parse_and_lint_cleanly() {
    let dir = root().join("tests/fuzz-regressions");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let parsed = runbook::parse(Path::new("fuzz.md"), &text);
        let lines = u32::try_from(runbook::source::line_count(&text)).unwrap();
        for diagnostic in lint::lint(&parsed, Context { today: jiff::civil::date(2026, 1, 1) }) {
            let location = diagnostic.location;
            assert!(
                location.line >= 1 && location.line <= lines && location.column >= 1,
                "{}: {diagnostic:?}",
                path.display()
            );
        }
        let _ = shell::parse(&text);
        let _ = safety::assess_shell(&text, safety::Context::default());
        count += 1;
    }
    assert!(count > 0, "no regression inputs found in {}", dir.display());
}
