//! How well the scheduler keeps time: lag (a run's start against the time it
//! was due) as quantiles, and counts of runs and overruns, since start.
//!
//! Lag is kept in an HDR histogram (microseconds, 3 significant digits):
//! exact enough for p99 and the maximum, in fixed memory whatever the
//! number of runs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;

/// The scheduler's numbers since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Checks scheduled.
    pub checks: usize,
    /// Checks running right now.
    pub in_flight: usize,
    /// Scheduled runs started.
    pub runs: u64,
    /// Runs started by `check_now`.
    pub manual_runs: u64,
    /// Scheduled runs skipped because the check was still running.
    pub overruns: u64,
    pub lag: Lag,
}

/// Quantiles of scheduled runs' lag: how late each started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lag {
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// Where the scheduler's tasks count.
#[derive(Debug)]
pub(super) struct Counters {
    lag: Mutex<Histogram<u64>>,
    runs: AtomicU64,
    manual_runs: AtomicU64,
    overruns: AtomicU64,
}

impl Counters {
    pub(super) fn new() -> Counters {
        // 1 µs to an hour (a lag past that counts as an hour), in about
        // 200 kB.
        let lag = Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds and precision");
        Counters {
            lag: Mutex::new(lag),
            runs: AtomicU64::new(0),
            manual_runs: AtomicU64::new(0),
            overruns: AtomicU64::new(0),
        }
    }

    /// A scheduled run started `lag` after it was due.
    pub(super) fn started(&self, lag: Duration) {
        self.runs.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX);
        self.lag.lock().unwrap_or_else(std::sync::PoisonError::into_inner).saturating_record(micros);
    }

    pub(super) fn manual(&self) {
        self.manual_runs.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn overrun(&self) {
        self.overruns.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn read(&self, checks: usize, in_flight: usize) -> Stats {
        let lag = {
            let histogram = self.lag.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if histogram.is_empty() {
                Lag::default()
            } else {
                Lag {
                    p50: Duration::from_micros(histogram.value_at_quantile(0.5)),
                    p99: Duration::from_micros(histogram.value_at_quantile(0.99)),
                    max: Duration::from_micros(histogram.max()),
                }
            }
        };
        Stats {
            checks,
            in_flight,
            runs: self.runs.load(Ordering::Relaxed),
            manual_runs: self.manual_runs.load(Ordering::Relaxed),
            overruns: self.overruns.load(Ordering::Relaxed),
            lag,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_what_was_recorded() {
        let counters = Counters::new();
        assert_eq!(counters.read(0, 0).lag, Lag::default(), "no run, no lag");
        for ms in 1..=100 {
            counters.started(Duration::from_millis(ms));
        }
        counters.overrun();
        counters.manual();
        let stats = counters.read(3, 1);
        assert_eq!((stats.checks, stats.in_flight, stats.runs, stats.overruns, stats.manual_runs), (3, 1, 100, 1, 1));
        // Three significant digits: within 0.1 % of the true value.
        let near = |d: Duration, ms: u64| d.abs_diff(Duration::from_millis(ms)) <= Duration::from_micros(ms);
        assert!(near(stats.lag.p50, 50), "{:?}", stats.lag);
        assert!(near(stats.lag.p99, 99), "{:?}", stats.lag);
        assert!(near(stats.lag.max, 100), "{:?}", stats.lag);
    }
}
