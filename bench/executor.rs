//! Executor benchmark: what running a step through `procedure::run_shell`
//! costs, against the same work done by bash alone in the same run.
//!
//! - capture: a step writing 2 GB to stdout, streamed chunk by chunk to a
//!   recorder that counts, against `head -c 2G /dev/zero | cat >/dev/null`
//!   (the same bytes through one pipe with nobody recording them);
//! - per-step overhead: 100 steps of `true`, each its own `bash` in its own
//!   process group, against a bash script of the same 100 commands (`true`
//!   100 times) and against a bash script starting 100 `bash -c true`
//!   (the process creation every step pays).
//!
//! Run: `cargo bench --bench executor`. Journal writes are not included:
//! this measures the executor alone.

// Byte totals and counts here are far below 2^52; f64 is exact for them.
#![allow(clippy::cast_precision_loss)]

use std::process::Command;
use std::time::{Duration, Instant};

use runwell::procedure::{Recorder, ShellStep, Stream, run_shell};
use tokio_util::sync::CancellationToken;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BYTES: u64 = 2_000_000_000;
const STEPS: usize = 100;
const ROUNDS: usize = 3;

#[derive(Debug, Default)]
struct Counter(u64);

impl Recorder for Counter {
    fn output(&mut self, _stream: Stream, bytes: &[u8]) {
        self.0 += bytes.len() as u64;
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let abort = CancellationToken::new();

    let step = ShellStep::new("flood", format!("head -c {BYTES} /dev/zero"));
    let capture = best(|| {
        let mut counter = Counter::default();
        let outcome = runtime.block_on(run_shell(&step, &mut counter, &abort)).expect("bash runs");
        assert!(outcome.status.succeeded() && counter.0 == BYTES, "{outcome:?}");
    });
    let pipe = best(|| bash(&format!("head -c {BYTES} /dev/zero | cat > /dev/null")));
    let mb = BYTES as f64 / 1e6;
    println!(
        "capture   runwell {:>7.0} MB/s   bash pipe {:>7.0} MB/s   ({:.2}x the pipe's time)",
        mb / capture.as_secs_f64(),
        mb / pipe.as_secs_f64(),
        capture.as_secs_f64() / pipe.as_secs_f64()
    );

    let step = ShellStep::new("noop", "true");
    let steps = best(|| {
        for _ in 0..STEPS {
            let outcome = runtime.block_on(run_shell(&step, &mut Counter::default(), &abort)).expect("bash runs");
            assert!(outcome.status.succeeded());
        }
    });
    let script = best(|| bash(&"true\n".repeat(STEPS)));
    let processes = best(|| bash(&"bash -c true\n".repeat(STEPS)));
    let per_step = |total: Duration| total.as_secs_f64() * 1e3 / STEPS as f64;
    println!(
        "{STEPS} steps runwell {:.3} ms/step   bash script of `true` {:.3} ms/step   bash script of `bash -c true` {:.3} ms/step",
        per_step(steps),
        per_step(script),
        per_step(processes)
    );
    println!(
        "overhead per step: {:.3} ms over the script, {:.3} ms over starting bash",
        per_step(steps) - per_step(script),
        per_step(steps) - per_step(processes)
    );
}

fn bash(script: &str) {
    let status = Command::new("bash").args(["-c", script]).status().expect("bash runs");
    assert!(status.success());
}

/// The fastest of [`ROUNDS`] runs: the least disturbed by the machine.
fn best(mut work: impl FnMut()) -> Duration {
    (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}
