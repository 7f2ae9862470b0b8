//! An Alertmanager webhook body, as anyone who can reach the server may
//! post one: read without a panic whatever the bytes, errors short, and
//! what reads decided on with everything kept bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    runwell::serve::triggers::fuzzing::webhook(data);
});
