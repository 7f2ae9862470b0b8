//! Lex arbitrary shell and classify its safety: never panic, and quoting
//! at any offset is defined.

#![no_main]

use libfuzzer_sys::fuzz_target;
use runwell::runbook::{safety, shell};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let script = shell::parse(&text);
    for command in &script.commands {
        assert!(command.range.end <= text.len());
    }
    let _ = safety::assess_shell(&text, safety::Context::default());
    let _ = safety::assess_sql(&text);
    let _ = safety::assess_redis(&text);
    for offset in (0..text.len()).step_by(7) {
        let _ = shell::quote_context(&text, offset);
    }
});
