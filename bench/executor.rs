//! Executor benchmark: what running a step costs, against the same work
//! done by bash alone in the same run.
//!
//! The executor alone (`procedure::run_shell`, no journal):
//!
//! - capture: a step writing 2 GB to stdout, streamed chunk by chunk to a
//!   recorder that counts, against `head -c 2G /dev/zero | cat >/dev/null`
//!   (the same bytes through one pipe with nobody recording them);
//! - per-step overhead: 100 steps of `true`, each its own `bash` in its own
//!   process group, against a bash script of the same 100 commands (`true`
//!   100 times) and against a bash script starting 100 `bash -c true`
//!   (the process creation every step pays).
//!
//! End to end, through the real binary (`runwell run`, built by `cargo
//! bench` with the bench profile), its stdout to `/dev/null`, a fresh
//! journal file each round, so journal writes and terminal output count:
//!
//! - 100 steps: a generated runbook of 100 `true` steps against `bash
//!   script.sh` holding the same 100 commands (the issue's baseline), a
//!   script starting the very `bash` command line runwell starts per step,
//!   and a one-step run (runwell's fixed cost: start-up, parsing, creating
//!   the journal);
//! - capture: a step writing 2 GB to stdout against the bash pipe above.
//!
//! Each end-to-end round runs every variant once, in turn, so a busy moment
//! on the machine hits them alike; the median of the rounds is reported.
//!
//! Run: `cargo bench --bench executor`.

// Byte totals and counts here are far below 2^52; f64 is exact for them.
#![allow(clippy::cast_precision_loss)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runwell::procedure::{Recorder, ShellStep, Stream, run_shell};
use tokio_util::sync::CancellationToken;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BYTES: u64 = 2_000_000_000;
const STEPS: usize = 100;
const ROUNDS: usize = 3;
/// Rounds of the end-to-end measurements, after one warm-up round.
const E2E_ROUNDS: usize = 7;

/// The command line runwell gives each shell step (`procedure::shell`).
const STEP_BASH: &str = "bash -o errexit -o nounset -o pipefail -O inherit_errexit -c true step";

#[derive(Debug, Default)]
struct Counter(u64);

impl Recorder for Counter {
    fn output(&mut self, _stream: Stream, bytes: &[u8]) {
        self.0 += bytes.len() as u64;
    }
}

fn main() {
    executor_alone();
    end_to_end();
}

fn executor_alone() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let abort = CancellationToken::new();

    println!("the executor alone (procedure::run_shell, no journal), best of {ROUNDS}:");
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

fn end_to_end() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let dir = dir.path();
    let step = "```sh\ntrue\n```\n\n";
    write(dir, "steps.md", &format!("---\nrunbook: bench\n---\n# Bench\n\n## Steps\n\n{}", step.repeat(STEPS)));
    write(dir, "one.md", &format!("---\nrunbook: bench\n---\n# Bench\n\n## Steps\n\n{step}"));
    write(
        dir,
        "flood.md",
        &format!("---\nrunbook: bench\n---\n# Bench\n\n## Steps\n\n```sh\nhead -c {BYTES} /dev/zero\n```\n"),
    );
    write(dir, "script.sh", &"true\n".repeat(STEPS));
    write(dir, "spawns.sh", &format!("{STEP_BASH}\n").repeat(STEPS));

    let mut journals = 0;
    let mut run = |runbook: &str| {
        journals += 1;
        runwell_run(dir, runbook, &format!("journal-{journals}.db"))
    };
    let bash_file = |script: &str| timed(Command::new("bash").arg(script).current_dir(dir));
    let (mut steps, mut one, mut script, mut spawns) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..=E2E_ROUNDS {
        let times = [run("steps.md"), run("one.md"), bash_file("script.sh"), bash_file("spawns.sh")];
        if round > 0 {
            for (all, time) in [&mut steps, &mut one, &mut script, &mut spawns].into_iter().zip(times) {
                all.push(time);
            }
        }
    }
    let (steps, one, script, spawns) = (median(steps), median(one), median(script), median(spawns));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("\nend to end (`runwell run`, stdout to /dev/null, a fresh journal each run), median of {E2E_ROUNDS}:");
    println!(
        "{STEPS} steps of `true`   runwell {:.1} ms ({:.3} ms/step)   bash script.sh {:.1} ms ({:.3} ms/step)   ratio {:.1}x",
        ms(steps),
        per_step(steps),
        ms(script),
        per_step(script),
        steps.as_secs_f64() / script.as_secs_f64()
    );
    println!(
        "overhead per step over the script: {:.3} ms (target: under 2 ms, journal writes included)",
        per_step(steps.saturating_sub(script))
    );
    // Where it goes: a fixed cost per run, the bash each step starts, and
    // runwell's own work per step (journal, terminal, supervision).
    let marginal = (ms(steps) - ms(one)) / (STEPS - 1) as f64;
    println!(
        "  of which: a run's fixed cost {:.1} ms (a one-step run), starting the step's bash {:.3} ms/step ({:.1} ms for 100 in a script), runwell's own work {:.3} ms/step",
        ms(one),
        per_step(spawns),
        ms(spawns),
        marginal - per_step(spawns)
    );

    let (mut capture, mut pipe) = (Vec::new(), Vec::new());
    for round in 0..=E2E_ROUNDS.min(5) {
        let times = [run("flood.md"), bash_time(&format!("head -c {BYTES} /dev/zero | cat > /dev/null"))];
        if round > 0 {
            capture.push(times[0]);
            pipe.push(times[1]);
        }
    }
    let (capture, pipe) = (median(capture), median(pipe));
    let mb = BYTES as f64 / 1e6;
    println!(
        "capture, {:.0} GB to stdout   runwell {:>5.0} MB/s   bash pipe {:>5.0} MB/s   ({:.2}x the pipe's time; target: at least 100 MB/s)",
        BYTES as f64 / 1e9,
        mb / capture.as_secs_f64(),
        mb / pipe.as_secs_f64(),
        capture.as_secs_f64() / pipe.as_secs_f64()
    );
}

/// `runwell run RUNBOOK steps --db DB` in `dir`, output thrown away.
fn runwell_run(dir: &Path, runbook: &str, db: &str) -> Duration {
    timed(Command::new(env!("CARGO_BIN_EXE_runwell")).args(["run", runbook, "steps", "--db", db]).current_dir(dir))
}

/// How long `command` takes from spawn to exit; it must succeed.
fn timed(command: &mut Command) -> Duration {
    let start = Instant::now();
    let status = command.stdout(Stdio::null()).stderr(Stdio::null()).status().expect("the command starts");
    let elapsed = start.elapsed();
    assert!(status.success(), "{command:?} failed: {status}");
    elapsed
}

fn write(dir: &Path, name: &str, contents: &str) {
    std::fs::write(dir.join(name), contents).expect("the benchmark's files can be written");
}

fn per_step(total: Duration) -> f64 {
    total.as_secs_f64() * 1e3 / STEPS as f64
}

fn bash(script: &str) {
    let status = Command::new("bash").args(["-c", script]).status().expect("bash runs");
    assert!(status.success());
}

fn bash_time(script: &str) -> Duration {
    timed(Command::new("bash").args(["-c", script]))
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

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}
