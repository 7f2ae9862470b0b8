//! Scheduler benchmark: 1,000 runbooks × 10 checks (`tcp` against local
//! listeners, `interval: 10s`) kept running by `serve::scheduler`, against
//! baselines measured in the same run on the same schedule:
//!
//! - timers: 10,000 tasks sleeping on `sleep_until` until each run is due and
//!   doing nothing (the timer wheel's own cost and lag);
//! - connects: the same tasks opening and closing a `TcpStream` to the same
//!   listeners at each due time (the network work alone: no engine, no
//!   judging, no state).
//!
//! Each prints lag (a run's start against its due time) p50/p99/max over
//! every run, and the process's CPU time (`getrusage`: user + system) as a
//! fraction of one core over the measured window, which starts after the
//! first interval (start-up: reading the runbooks, spawning the tasks). The
//! listeners run in a child process (this same program) so the CPU measured
//! is the scheduler's side alone, not the accepting side's.
//!
//! The runbooks go the way `runwell serve` takes them: Markdown parsed,
//! values resolved, each check through `Scheduled::resolve`.
//!
//! Run: `cargo bench --bench scheduler` (about 3 minutes; on a quiet machine).

// Counts here are far below 2^52; f64 is exact for them.
#![allow(clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use nix::sys::resource::{UsageWho, getrusage};
use runwell::check::{Options, Status};
use runwell::serve::scheduler::{Scheduled, Scheduler, Settings};
use runwell::template::Values;
use tokio::time::Instant;

// The same allocator as the `runwell` binary, so figures match it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RUNBOOKS: usize = 1_000;
const CHECKS: usize = 10;
const INTERVAL: Duration = Duration::from_secs(10);
/// Measured after the first interval, for this long.
const SCHEDULER_WINDOW: Duration = Duration::from_secs(60);
const BASELINE_WINDOW: Duration = Duration::from_secs(30);
/// Set in the child that serves the listeners.
const LISTENER_ENV: &str = "RUNWELL_BENCH_LISTENERS";

fn main() {
    if std::env::var_os(LISTENER_ENV).is_some() {
        listen();
        return;
    }
    let mut child = Command::new(std::env::current_exe().expect("this program's path"))
        .env(LISTENER_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the listeners");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("the child's stdout")).read_line(&mut line).expect("the ports");
    let addresses: Vec<SocketAddr> =
        line.split_whitespace().map(|port| SocketAddr::from(([127, 0, 0, 1], port.parse().expect("a port")))).collect();
    assert_eq!(addresses.len(), CHECKS, "one listener per check of a runbook");

    let runtime = || tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let checks = RUNBOOKS * CHECKS;
    println!(
        "{RUNBOOKS} runbooks x {CHECKS} checks = {checks} checks, tcp to {CHECKS} local listeners, every {}s",
        INTERVAL.as_secs()
    );
    println!("{:<28}{:>10}{:>10}{:>10}{:>10}{:>16}", "", "lag p50", "lag p99", "lag max", "runs", "CPU of 1 core");
    let timers = runtime().block_on(baseline(&addresses, false));
    timers.print("timers alone (no probe)");
    let connects = runtime().block_on(baseline(&addresses, true));
    connects.print("bare TcpStream::connect");
    let scheduler = runtime().block_on(scheduler(&addresses));
    scheduler.print("runwell scheduler");
    println!(
        "scheduler CPU: {:.2}x the bare connects'; {} overruns; {}/{checks} checks ok at the end",
        scheduler.cpu / connects.cpu,
        scheduler.overruns,
        scheduler.ok
    );
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
}

/// What one variant measured.
#[derive(Debug, Default)]
struct Figures {
    lag: [Duration; 3],
    runs: u64,
    /// CPU seconds per wall-clock second over the window.
    cpu: f64,
    overruns: u64,
    ok: usize,
}

impl Figures {
    fn print(&self, name: &str) {
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
        println!(
            "{name:<28}{:>10}{:>10}{:>10}{:>10}{:>15.1}%",
            ms(self.lag[0]),
            ms(self.lag[1]),
            ms(self.lag[2]),
            self.runs,
            self.cpu * 100.0
        );
    }
}

async fn scheduler(addresses: &[SocketAddr]) -> Figures {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut checks = Vec::with_capacity(RUNBOOKS * CHECKS);
    for n in 0..RUNBOOKS {
        let path = dir.path().join(format!("service-{n:04}.md"));
        std::fs::write(&path, runbook(n, addresses)).expect("write a runbook");
        let parsed = runwell::runbook::parse(&path, &std::fs::read_to_string(&path).expect("read a runbook"));
        let runbook = &parsed.runbook;
        let secrets = Values::resolve(runbook, None, &[]).expect("values resolve").with_secrets();
        checks.extend(runbook.checks.iter().map(|spec| Scheduled::resolve(&runbook.name, spec, &secrets)));
    }
    assert_eq!(checks.len(), RUNBOOKS * CHECKS, "every check parsed");
    assert!(checks.iter().all(|c| c.interval == Some(INTERVAL)), "every check at its own interval");
    let scheduler = Scheduler::start(checks, Options::default(), Settings::default());
    tokio::time::sleep(INTERVAL).await;
    let cpu = cpu_over(SCHEDULER_WINDOW).await;
    let stats = scheduler.stats();
    let ok = scheduler.snapshot().iter().filter(|s| s.state == Status::Ok).count();
    scheduler.shutdown().await;
    Figures { lag: [stats.lag.p50, stats.lag.p99, stats.lag.max], runs: stats.runs, cpu, overruns: stats.overruns, ok }
}

/// Ten tasks per runbook on the scheduler's schedule (first runs spread
/// over the first interval), each sleeping until due and then, with
/// `connect`, connecting to its listener.
async fn baseline(addresses: &[SocketAddr], connect: bool) -> Figures {
    let lag = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("a histogram")));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..RUNBOOKS * CHECKS {
        let (lag, address) = (lag.clone(), addresses[n % CHECKS]);
        let mut due = Instant::now() + INTERVAL.mul_f64(rand::random::<f64>());
        tasks.spawn(async move {
            loop {
                tokio::time::sleep_until(due).await;
                let late = Instant::now().saturating_duration_since(due);
                lag.lock().expect("the histogram").saturating_record(late.as_micros() as u64);
                if connect {
                    drop(tokio::net::TcpStream::connect(address).await.expect("the listener accepts"));
                }
                due += INTERVAL;
            }
        });
    }
    tokio::time::sleep(INTERVAL).await;
    let cpu = cpu_over(BASELINE_WINDOW).await;
    tasks.shutdown().await;
    let lag = lag.lock().expect("the histogram");
    let quantile = |q: f64| Duration::from_micros(lag.value_at_quantile(q));
    Figures {
        lag: [quantile(0.5), quantile(0.99), Duration::from_micros(lag.max())],
        runs: lag.len(),
        cpu,
        ..Figures::default()
    }
}

/// CPU seconds this process used per second of `window`.
async fn cpu_over(window: Duration) -> f64 {
    let (cpu_before, wall_before) = (cpu_time(), std::time::Instant::now());
    tokio::time::sleep(window).await;
    cpu_time().saturating_sub(cpu_before).as_secs_f64() / wall_before.elapsed().as_secs_f64()
}

/// User and system CPU time of this process so far, every thread included.
fn cpu_time() -> Duration {
    let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let micros = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec().unsigned_abs()) + Duration::from_micros(t.tv_usec().unsigned_abs())
    };
    micros(usage.user_time()) + micros(usage.system_time())
}

/// Runbook `n`: ten `tcp` checks, one per listener.
fn runbook(n: usize, addresses: &[SocketAddr]) -> String {
    let mut text = format!("---\nrunbook: service-{n:04}\n---\n# Service {n}\n\n## Health\n\n```checks\n");
    for (i, address) in addresses.iter().enumerate() {
        let _ = write!(text, "- name: port-{i}\n  layer: Network\n  tcp: \"{address}\"\n  interval: 10s\n");
    }
    text.push_str("```\n");
    text
}

/// The child: one listener per check of a runbook, accepting and closing
/// every connection, until the parent closes our stdin.
fn listen() {
    let listeners: Vec<TcpListener> =
        (0..CHECKS).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a listener")).collect();
    let ports: Vec<String> = listeners.iter().map(|l| l.local_addr().expect("an address").port().to_string()).collect();
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", ports.join(" ")).and_then(|()| stdout.flush()).expect("tell the ports");
    for listener in listeners {
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                drop(stream);
            }
        });
    }
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}
