//! `runwell serve`: the long-running server's parts — checks kept running
//! on a schedule, and (from other modules) the dashboard, the JSON API,
//! access control and alert triggers.

pub mod scheduler;
