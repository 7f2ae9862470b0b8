//! Parse and lint arbitrary text: never panic, and every diagnostic points
//! inside the document.

#![no_main]

use libfuzzer_sys::fuzz_target;
use runwell::lint::{self, Context};
use runwell::runbook;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = runbook::parse(std::path::Path::new("fuzz.md"), &text);
    let lines = u32::try_from(runwell::runbook::source::line_count(&text)).unwrap_or(u32::MAX);
    let context = Context { today: jiff::civil::date(2026, 1, 1) };
    for diagnostic in lint::lint(&parsed, context) {
        assert!(diagnostic.location.line >= 1 && diagnostic.location.line <= lines, "{diagnostic:?}");
        assert!(diagnostic.location.column >= 1, "{diagnostic:?}");
    }
    for step in &parsed.runbook.steps {
        let _ = step.runnable_text();
    }
});
