//! Render arbitrary text as the runbook page: never panic, and whatever the
//! input, the page holds only the elements and attributes the renderer
//! writes, no `<script`, and no link to a `javascript:` (or `data:`,
//! `vbscript:`, `file:`) URL.

#![no_main]

use libfuzzer_sys::fuzz_target;
use runwell::runbook;
use runwell::serve::render;

#[path = "../../src/serve/render/audit.rs"]
mod audit;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = runbook::parse(std::path::Path::new("fuzz.md"), &text);
    let html = render::render(&parsed.runbook, &text);
    assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
    if let Err(problem) = audit::audit(&html) {
        panic!("{problem}\n{html}");
    }
});
