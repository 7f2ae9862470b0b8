//! runwell: operations runbooks that a person reads and a machine can check,
//! run and record.
//!
//! See `ARCHITECTURE.md` for the map of the code.

pub mod check;
pub mod cli;
pub mod journal;
pub mod lint;
pub mod procedure;
pub mod process;
pub mod report;
pub mod runbook;
pub mod serve;
pub mod template;
