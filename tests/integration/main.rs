//! Integration tests: one binary that drives the real `runwell` executable,
//! one module per feature.

mod examples;
mod fixtures;
mod fuzz_regressions;
mod lint;
mod list;
mod show;
mod test;
