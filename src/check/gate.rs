//! Check gates: a `checks` block inside a procedure, run until its checks
//! pass or a deadline passes — the answer to `sleep 5` and hoping.
//!
//! ````markdown
//! ```checks {wait=30s interval=2s}
//! - use: admin-api
//! ```
//! ````

use std::time::{Duration, Instant};

use super::{Options, Outcome, Resolved, Status, run};

/// How a gate ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// Every check ok in the last round.
    pub passed: bool,
    /// The last round's outcomes.
    pub outcomes: Vec<Outcome>,
    /// Rounds run: 1 when the checks passed at once.
    pub rounds: u32,
    pub waited: Duration,
}

/// Runs `checks` once, then again every `interval` while any is not ok,
/// until `wait` has passed (no waiting when `wait` is zero). `on_round` sees
/// each round's outcomes, for progress and the journal.
pub async fn gate(
    checks: &[Resolved],
    options: &Options,
    wait: Duration,
    interval: Duration,
    mut on_round: impl FnMut(u32, &[Outcome]),
) -> Gate {
    let started = Instant::now();
    let deadline = started + wait;
    let mut rounds = 0;
    loop {
        rounds += 1;
        let round_started = Instant::now();
        let outcomes = run(checks.to_vec(), options, None).await;
        on_round(rounds, &outcomes);
        let passed = outcomes.iter().all(|o| o.status == Status::Ok);
        let next = round_started + interval;
        if passed || next >= deadline {
            return Gate { passed, outcomes, rounds, waited: started.elapsed() };
        }
        tokio::time::sleep_until(next.into()).await;
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use serde_json::json;

    use super::*;
    use crate::check::testing::{free_port, resolved};
    use crate::runbook::ProbeKind;

    #[tokio::test]
    async fn a_gate_waits_until_its_check_passes() {
        let port = free_port();
        let check = resolved(ProbeKind::Tcp, &format!("127.0.0.1:{port}"), &json!({}));
        let mut listener = None;
        // The service "comes up" after the first failed round.
        let gate = gate(
            &[check],
            &Options::default(),
            Duration::from_secs(20),
            Duration::from_millis(50),
            |round, outcomes| {
                if round == 1 {
                    assert_eq!(outcomes[0].status, Status::Critical);
                    listener = Some(TcpListener::bind(("127.0.0.1", port)).expect("the port is still free"));
                }
            },
        )
        .await;
        assert!(gate.passed);
        assert_eq!(gate.rounds, 2);
    }

    #[tokio::test]
    async fn a_gate_fails_at_its_deadline_with_the_last_reasons() {
        let port = free_port();
        let check = resolved(ProbeKind::Tcp, &format!("127.0.0.1:{port}"), &json!({}));
        let gate =
            gate(&[check], &Options::default(), Duration::from_millis(200), Duration::from_millis(50), |_, _| {}).await;
        assert!(!gate.passed);
        assert!(gate.rounds >= 2, "{} rounds", gate.rounds);
        assert_eq!(gate.outcomes[0].reason, format!("connection refused by 127.0.0.1:{port}"));
    }

    #[tokio::test]
    async fn without_wait_a_gate_runs_once() {
        let port = free_port();
        let check = resolved(ProbeKind::Tcp, &format!("127.0.0.1:{port}"), &json!({}));
        let gate = gate(&[check], &Options::default(), Duration::ZERO, Duration::from_secs(2), |_, _| {}).await;
        assert!(!gate.passed);
        assert_eq!(gate.rounds, 1);
    }
}
