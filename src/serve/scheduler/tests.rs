//! The scheduler against real loopback servers, on tokio's paused clock.
//!
//! Time is virtual: when every task waits, tokio moves the clock straight to
//! the next timer, so each scheduled run starts exactly when due (to the
//! timer wheel's millisecond) and a ten-second interval passes at once.
//! Tests wait for the scheduler's own signals (an update, a change) rather
//! than for time; where a test must show that nothing happens, it lets
//! virtual time pass with `sleep`, which on a paused clock is exactly that.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::broadcast::{Receiver, error::TryRecvError};
use tokio::time::Instant;

use super::*;
use crate::check::Status;
use crate::check::testing::{Peer, fake_peer, free_port, resolved};
use crate::runbook::ProbeKind;
use crate::template::Redactor;

/// A loopback server answering each connection, once spoken to, with its
/// current word and the connection's number: `ok 3`.
struct Server {
    port: u16,
    word: Arc<Mutex<&'static str>>,
    connections: Arc<AtomicUsize>,
}

impl Server {
    async fn start(word: &'static str) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a test server");
        let port = listener.local_addr().expect("a bound address").port();
        let (word, connections) = (Arc::new(Mutex::new(word)), Arc::new(AtomicUsize::new(0)));
        let (shared_word, counter) = (word.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                let reply = format!("{} {n}\n", shared_word.lock().expect("the word"));
                tokio::spawn(async move {
                    let mut heard = [0u8; 64];
                    let _ = stream.read(&mut heard).await;
                    let _ = stream.write_all(reply.as_bytes()).await;
                });
            }
        });
        Server { port, word, connections }
    }

    fn say(&self, word: &'static str) {
        *self.word.lock().expect("the word") = word;
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// A `tcp` check of `port` that asks for a status line: ok when it says
/// `ok`, warning when it says `warn`, critical otherwise.
fn check(name: &str, port: u16, interval: u64) -> Scheduled {
    let mut check = resolved(ProbeKind::Tcp, &format!("127.0.0.1:{port}"), &json!({"send": "status\n"}));
    check.runbook = "app".to_owned();
    check.name = name.to_owned();
    check.expect = Some("'ok' in reply".to_owned());
    check.warn = Some("'warn' in reply".to_owned());
    Scheduled::new(check, Some(Duration::from_secs(interval)))
}

fn key(name: &str) -> CheckKey {
    CheckKey::new("app", name)
}

/// Thresholds 3 and 2, no jitter: runs exactly on the grid.
fn settings() -> Settings {
    Settings { jitter: 0.0, ..Settings::default() }
}

/// The next update of `key`, skipping others.
async fn next(updates: &mut Receiver<Update>, key: &CheckKey) -> Update {
    loop {
        let update = updates.recv().await.expect("the scheduler keeps sending updates");
        if update.key == *key {
            return update;
        }
    }
}

/// The changes received so far as `from>to` (`*` marks an initial one).
fn changes(changes: &mut Receiver<Change>) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        match changes.try_recv() {
            Ok(change) => seen.push(format!("{}{}>{}", if change.initial { "*" } else { "" }, change.from, change.to)),
            Err(TryRecvError::Empty) => return seen,
            Err(other) => panic!("the change channel failed: {other}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn states_follow_the_thresholds_and_each_change_is_broadcast_once() {
    let server = Server::start("ok").await;
    let scheduler = Scheduler::start(vec![check("api", server.port, 10)], Options::default(), settings());
    let (mut updates, mut changes_seen) = (scheduler.subscribe_updates(), scheduler.subscribe());
    let key = key("api");
    // (what the server says for the next run, the confirmed state after it)
    let script = [
        ("ok", Status::Ok),
        ("down", Status::Ok),
        ("down", Status::Ok),
        ("down", Status::Critical),
        ("ok", Status::Critical),
        ("down", Status::Critical),
        ("ok", Status::Critical),
        ("ok", Status::Ok),
        ("warn", Status::Ok),
        ("warn", Status::Ok),
        ("down", Status::Critical),
        ("warn", Status::Critical),
        ("warn", Status::Critical),
        ("warn", Status::Warning),
    ];
    for (run, (word, expected)) in script.into_iter().enumerate() {
        server.say(word);
        let update = next(&mut updates, &key).await;
        assert_eq!(update.sample.observed, format!("{word} {}", run + 1));
        assert_eq!(update.state, expected, "after run {} ({word})", run + 1);
        let state = scheduler.state(&key).expect("the check is scheduled");
        assert_eq!((state.state, state.last.as_ref().map(|s| s.status)), (expected, Some(update.sample.status)));
    }
    assert_eq!(
        changes(&mut changes_seen),
        ["*unknown>ok", "ok>critical", "critical>ok", "ok>critical", "critical>warning"]
    );
    let state = scheduler.state(&key).expect("the check is scheduled");
    assert_eq!(state.streak, 3);
    assert!(state.last.as_ref().is_some_and(|s| s.reason.contains("warn 14")), "{:?}", state.last);
}

#[tokio::test(start_paused = true)]
async fn the_first_result_sets_the_state() {
    let port = free_port();
    let scheduler = Scheduler::start(vec![check("gone", port, 10)], Options::default(), settings());
    let (mut updates, mut changes_seen) = (scheduler.subscribe_updates(), scheduler.subscribe());
    let key = key("gone");
    assert_eq!(scheduler.state(&key).expect("scheduled").state, Status::Unknown, "nothing known before a result");
    let update = next(&mut updates, &key).await;
    assert_eq!(update.state, Status::Critical, "no threshold for the first result");
    assert!(update.sample.reason.contains("connection refused"), "{}", update.sample.reason);
    assert_eq!(changes(&mut changes_seen), ["*unknown>critical"]);
    let state = scheduler.state(&key).expect("scheduled");
    assert_eq!(state.since, Some(update.sample.at));
}

#[tokio::test(start_paused = true)]
async fn history_is_bounded_newest_last() {
    let server = Server::start("ok").await;
    let settings = Settings { history: 3, ..settings() };
    let scheduler = Scheduler::start(vec![check("api", server.port, 10)], Options::default(), settings);
    let mut updates = scheduler.subscribe_updates();
    for _ in 0..5 {
        next(&mut updates, &key("api")).await;
    }
    let state = scheduler.state(&key("api")).expect("scheduled");
    let kept: Vec<&str> = state.history.iter().map(|s| s.observed.as_str()).collect();
    assert_eq!(kept, ["ok 3", "ok 4", "ok 5"]);
    assert_eq!(state.last.as_ref().map(|s| s.observed.as_str()), Some("ok 5"));
}

#[tokio::test(start_paused = true)]
async fn a_hung_check_delays_no_other_and_its_due_runs_are_overruns() {
    let silent = fake_peer(Peer::Silent).await;
    let mut hung = resolved(ProbeKind::Tcp, &silent.to_string(), &json!({"send": "hello\n"}));
    hung.runbook = "app".to_owned();
    hung.name = "hung".to_owned();
    hung.timeout = Some(Duration::from_secs(55));
    let server = Server::start("ok").await;
    let checks = vec![Scheduled::new(hung, Some(Duration::from_secs(10))), check("steady", server.port, 10)];
    let scheduler = Scheduler::start(checks, Options::default(), Settings { concurrency: 2, ..settings() });
    let mut updates = scheduler.subscribe_updates();

    let mut runs = Vec::new();
    for _ in 0..8 {
        next(&mut updates, &key("steady")).await;
        runs.push(Instant::now());
    }
    // The timer wheel counts milliseconds: a run may wake up to 1 ms after a
    // due time that is not on a millisecond.
    let tick = Duration::from_millis(1);
    for gap in runs.windows(2).map(|w| w[1] - w[0]) {
        assert!(gap.abs_diff(Duration::from_secs(10)) <= tick, "a steady run came {gap:?} after the previous");
    }
    let stats = scheduler.stats();
    assert!(stats.lag.max <= tick, "{stats:?}");

    // Eight steady runs took 70 s to 80 s: the hung check's first run
    // (within 10 s of the start) timed out after 55 s, its five runs due
    // meanwhile were skipped, and its second run, due 60 s after the first,
    // hangs again.
    let hung = scheduler.state(&key("hung")).expect("scheduled");
    let last = hung.last.as_ref().expect("the hung check's first run timed out");
    assert_eq!((last.status, last.reason.as_str()), (Status::Critical, "no answer within 55s"));
    assert_eq!(hung.history.len(), 1);
    assert_eq!((stats.overruns, stats.in_flight, stats.checks), (5, 1, 2));
}

#[tokio::test(start_paused = true)]
async fn check_now_runs_out_of_schedule_and_records_the_result() {
    let server = Server::start("warn").await;
    let scheduler = Scheduler::start(vec![check("api", server.port, 3600)], Options::default(), settings());
    let mut changes_seen = scheduler.subscribe();
    let outcome = scheduler.check_now(&key("api")).await.expect("a scheduled check");
    assert_eq!((outcome.status, outcome.observed.as_str()), (Status::Warning, "warn 1"));
    let state = scheduler.state(&key("api")).expect("scheduled");
    assert_eq!((state.state, state.history.len()), (Status::Warning, 1));
    assert_eq!(changes(&mut changes_seen), ["*unknown>warning"]);
    let counts = scheduler.stats();
    assert_eq!((counts.manual_runs, counts.runs), (1, 0));
    assert!(scheduler.check_now(&key("nope")).await.is_none());
}

#[tokio::test(start_paused = true)]
async fn the_generation_moves_with_every_result_and_reload_and_names_its_scheduler() {
    let server = Server::start("ok").await;
    let scheduler = Scheduler::start(vec![check("api", server.port, 3600)], Options::default(), settings());
    let other = Scheduler::start(vec![check("api", server.port, 3600)], Options::default(), settings());
    assert_ne!(scheduler.generation(), other.generation(), "each scheduler's generations are its own");

    let before = scheduler.generation();
    assert_eq!(scheduler.generation(), before, "nothing changed, nothing moved");
    scheduler.check_now(&key("api")).await.expect("a scheduled check");
    let recorded = scheduler.generation();
    assert_ne!(recorded, before, "a result moves it");
    assert_eq!(other.generation(), other.generation());

    scheduler.replace(vec![check("api", server.port, 3600), check("db", server.port, 3600)], Options::default());
    assert_ne!(scheduler.generation(), recorded, "a reload moves it");
}

#[tokio::test(start_paused = true)]
async fn replace_keeps_unchanged_checks_restarts_changed_ones_and_stops_removed_ones() {
    let (one, two) = (Server::start("ok").await, Server::start("ok").await);
    let checks = vec![check("same", one.port, 10), check("moved", one.port, 10), check("removed", one.port, 10)];
    let scheduler = Scheduler::start(checks, Options::default(), settings());
    let mut updates = scheduler.subscribe_updates();
    let mut seen = BTreeSet::new();
    while seen.len() < 3 {
        seen.insert(updates.recv().await.expect("updates").key.check);
    }
    let same = scheduler.state(&key("same")).expect("scheduled");

    let checks = vec![check("same", one.port, 10), check("moved", two.port, 10), check("new", one.port, 10)];
    scheduler.replace(checks, Options::default());
    assert_eq!(scheduler.state(&key("same")), Some(same.clone()), "state, history and schedule kept");
    let moved = scheduler.state(&key("moved")).expect("still scheduled");
    assert_eq!((moved.last.as_ref(), moved.target.clone()), (None, format!("127.0.0.1:{}", two.port)));
    assert!(scheduler.state(&key("new")).is_some_and(|s| s.last.is_none()));
    assert!(scheduler.state(&key("removed")).is_none());
    let keys: Vec<String> = scheduler.snapshot().iter().map(|s| s.key.check.clone()).collect();
    assert_eq!(keys, ["moved", "new", "same"]);

    // Two more intervals: the kept check goes on, the removed one is silent.
    let mut runs: BTreeMap<String, usize> = BTreeMap::new();
    while runs.get("same").copied().unwrap_or(0) < 2 {
        *runs.entry(updates.recv().await.expect("updates").key.check).or_default() += 1;
    }
    assert!(!runs.contains_key("removed"), "{runs:?}");
    assert_eq!(scheduler.state(&key("same")).expect("scheduled").history.len(), same.history.len() + 2);
}

#[tokio::test(start_paused = true)]
async fn first_runs_spread_over_the_first_interval_and_jitter_moves_runs_around_their_slots() {
    let server = Server::start("ok").await;
    let checks = (0..100).map(|n| check(&format!("c{n:03}"), server.port, 10)).collect();
    let settings = Settings { jitter: 0.2, ..settings() };
    let start = Instant::now();
    let scheduler = Scheduler::start(checks, Options::default(), settings);
    let mut updates = scheduler.subscribe_updates();
    let mut runs: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    while runs.len() < 100 || runs.values().any(|r| r.len() < 4) {
        let update = updates.recv().await.expect("updates");
        runs.entry(update.key.check).or_default().push(Instant::now() - start);
    }
    // The timer wheel counts milliseconds: a run due at 9.9996 s starts at 10 s.
    let tick = Duration::from_millis(1);
    let firsts: Vec<Duration> = runs.values().map(|r| r[0]).collect();
    assert!(
        firsts.iter().all(|f| *f <= Duration::from_secs(10) + tick),
        "first runs after the first interval: {firsts:?}"
    );
    let (earliest, latest) = (firsts.iter().min().expect("runs"), firsts.iter().max().expect("runs"));
    // Uniform over 10 s: a quarter of it left empty at either end by 100
    // draws has a chance of 0.75^100.
    assert!(*earliest < Duration::from_millis(2500) && *latest > Duration::from_millis(7500), "{firsts:?}");
    let distinct: BTreeSet<u128> = firsts.iter().map(Duration::as_millis).collect();
    assert!(distinct.len() > 50, "first runs bunched at {} instants", distinct.len());

    // Run n is within ±1 s (0.2 × 10 s / 2) of its slot, first + n × 10 s.
    let mut moved = 0;
    for times in runs.values() {
        for (n, at) in times.iter().enumerate().skip(1) {
            let slot = times[0] + Duration::from_secs(10) * n as u32;
            let off = at.abs_diff(slot);
            assert!(off <= Duration::from_secs(1) + tick, "run {n} is {off:?} off its slot");
            moved += usize::from(off > Duration::from_millis(100));
        }
    }
    assert!(moved > 100, "jitter moved only {moved} of 300 runs by more than 100 ms");
}

#[tokio::test(start_paused = true)]
async fn secrets_are_masked_in_states_updates_and_changes() {
    let server = Server::start("ok hunter2").await;
    let mut secret = check("api", server.port, 10);
    secret.check.shown_target = "127.0.0.1:********".to_owned();
    let mut redactor = Redactor::default();
    redactor.add("hunter2");
    let options = Options { redactor, ..Options::default() };
    let scheduler = Scheduler::start(vec![secret], options, settings());
    let (mut updates, mut changes_seen) = (scheduler.subscribe_updates(), scheduler.subscribe());
    let update = next(&mut updates, &key("api")).await;
    assert_eq!(update.sample.observed, "ok ******** 1");
    let change = changes_seen.try_recv().expect("the first result is a change");
    let shown = serde_json::to_string(&(scheduler.snapshot(), update, change)).expect("serializable");
    let target = format!("127.0.0.1:{}", server.port);
    assert!(!shown.contains("hunter2") && !shown.contains(&target), "{shown}");
    assert!(!format!("{scheduler:?}").contains(&target), "Debug shows no check's target");
}

#[tokio::test(start_paused = true)]
async fn shutdown_and_drop_stop_every_check() {
    let server = Server::start("ok").await;
    for shut_down in [true, false] {
        let scheduler = Scheduler::start(vec![check("api", server.port, 10)], Options::default(), settings());
        let mut updates = scheduler.subscribe_updates();
        next(&mut updates, &key("api")).await;
        if shut_down {
            scheduler.shutdown().await;
        } else {
            drop(scheduler);
        }
        let connections = server.connections();
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert_eq!(server.connections(), connections, "no run after {}", if shut_down { "shutdown" } else { "drop" });
        assert!(updates.recv().await.is_err(), "the update channel closes with the scheduler");
    }
}
