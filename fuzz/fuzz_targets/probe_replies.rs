//! What servers and plugins send back: a Redis reply (whose end the framer
//! must find where the decoder does), a Nagios plugin's output and a
//! Prometheus metrics page must be read without a panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    runwell::check::fuzzing::redis_reply(data);
    if let Ok(text) = std::str::from_utf8(data) {
        runwell::check::fuzzing::plugin_output(text);
        runwell::check::fuzzing::metrics_page(text);
    }
});
