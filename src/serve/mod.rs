//! `runwell serve`: the long-running server that watches every runbook's
//! checks on a schedule, serves the dashboard and the JSON API, and starts
//! runs for people and alert triggers.
//!
//! Each part is a library module with its own tests; the `serve` subcommand
//! wires them into one axum app.

pub mod app;
pub mod auth;
pub mod catalog;
pub mod config;
pub mod render;
pub mod scheduler;
