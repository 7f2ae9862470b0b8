//! A line of a `redis` step, split as `redis-cli` splits it: never a panic,
//! and the arguments of a line that splits come back the same when each is
//! quoted as `redis-cli` shows it and the result split again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runwell::procedure::split_command;
use runwell::runbook::redis::quote;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    if let Ok(arguments) = split_command(&line) {
        let quoted: Vec<String> = arguments.iter().map(|argument| quote(argument.as_bytes())).collect();
        assert_eq!(split_command(&quoted.join(" ")), Ok(arguments));
    }
});
