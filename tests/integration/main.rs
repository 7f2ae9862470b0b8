//! Integration tests: one binary that drives the real `runwell` executable,
//! one module per feature.

mod alertmanager;
mod browser;
mod check;
mod drills;
mod examples;
mod fixtures;
mod fuzz_regressions;
mod labs;
mod lint;
mod list;
mod playbooks;
mod procedures;
mod report;
mod run;
mod run_faults;
mod serve;
mod servers;
mod services;
mod show;
mod standins;
mod test;
