//! The server's check scheduler: keeps every runbook's checks running, each
//! on its own interval, and holds what they found for the dashboard, the
//! JSON API and the notifiers.
//!
//! How it keeps time, and why:
//!
//! - One tokio task per check, asleep on tokio's timer wheel until its next
//!   run is due. Ten thousand sleeping tasks cost a few megabytes and no CPU,
//!   and a check that misbehaves only ever holds up its own task.
//! - Runs keep to a grid: run n is due at `first + n × interval`, moved by
//!   up to half of `jitter × interval` either way, never "an interval after
//!   the previous one finished", so lateness does not add up. First runs are
//!   spread uniformly over the first interval: ten thousand checks loaded
//!   together do not fire together.
//! - A check still running when its next run is due is not started twice:
//!   the due run is skipped and counted as an overrun. `check_now` and the
//!   scheduled runs share the same lock, so they never overlap either.
//! - A semaphore bounds the checks in flight; every run is bounded by its
//!   timeout (and retries), so a hung check holds one permit for that long
//!   and delays nobody else.
//! - Lag, from the time a run was due to the moment its probe starts
//!   (waiting for a permit included), goes into [`Stats`].
//! - Every change to the states moves the scheduler's [`Generation`] on, so
//!   what is derived from a snapshot (the API's JSON) can be kept until it
//!   moves instead of being made again for every request.
//!
//! What results mean — thresholds, confirmed state, changes — is
//! [`state`]'s business. Secrets: the engine redacts what outcomes say, and
//! states carry the shown target only; the real one stays in the prepared
//! check that the check's task runs.

mod state;
mod stats;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{Semaphore, broadcast};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use state::{Change, CheckKey, CheckState, Latencies, Sample, Update};
pub use stats::{Lag, Stats};

use crate::check::{self, Context, Options, Outcome, Prepared, Resolved};
use crate::runbook::CheckSpec;
use crate::template::Secrets;
use stats::Counters;

/// How the scheduler runs checks and judges their results.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// For checks without an `interval:`.
    pub default_interval: Duration,
    /// How far a run may move from its slot on the grid, as a fraction of
    /// the interval: 0.1 puts each run within ±5 % of the interval of its
    /// slot. Clamped to 0..=1.
    pub jitter: f64,
    /// Consecutive results that are not ok before an ok check turns bad (and
    /// of a new bad state before a bad check changes to it).
    pub fail_threshold: u32,
    /// Consecutive ok results before a bad check turns ok.
    pub success_threshold: u32,
    /// Samples kept per check.
    pub history: usize,
    /// Checks in flight at once.
    pub concurrency: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            default_interval: Duration::from_secs(30),
            jitter: 0.1,
            fail_threshold: 3,
            success_threshold: 2,
            history: 120,
            concurrency: 256,
        }
    }
}

impl Settings {
    /// The interval a check runs at: its own or the default, at least
    /// [`MIN_INTERVAL`].
    pub fn interval(&self, own: Option<Duration>) -> Duration {
        own.unwrap_or(self.default_interval).max(MIN_INTERVAL)
    }
}

/// The shortest interval kept: probing one target more often than every
/// second is a load test, not a health check (and an interval of zero would
/// never let the clock move on).
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// How many changes and updates a subscriber may fall behind before it
/// misses some (it is told: `RecvError::Lagged`, and should take a
/// snapshot).
const CHANGES: usize = 1024;
const UPDATES: usize = 4096;

/// A check to keep running, and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    pub check: Resolved,
    /// Its `interval:`; the settings' default when `None`.
    pub interval: Option<Duration>,
}

impl Scheduled {
    pub fn new(check: Resolved, interval: Option<Duration>) -> Scheduled {
        Scheduled { check, interval }
    }

    /// `spec` of `runbook` rendered with `secrets`, at its own `interval:`.
    pub fn resolve(runbook: &str, spec: &CheckSpec, secrets: &Secrets) -> Scheduled {
        Scheduled::new(check::resolve(runbook, spec, secrets), spec.interval)
    }
}

impl From<Resolved> for Scheduled {
    fn from(check: Resolved) -> Scheduled {
        Scheduled::new(check, None)
    }
}

/// Which states a [`Scheduler::snapshot`] shows: which scheduler, and how
/// many changes it had made when the generation was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation {
    scheduler: u64,
    changes: u64,
}

/// Numbers each scheduler of the process, so no two share a [`Generation`].
static SCHEDULERS: AtomicU64 = AtomicU64::new(0);

/// Runs checks on their schedules until shut down or dropped.
pub struct Scheduler {
    shared: Arc<Shared>,
}

/// What the scheduler and its tasks share.
struct Shared {
    /// This scheduler's number among the process's.
    id: u64,
    /// Changes to any state or to the set of checks, counted after each is
    /// made (with `AcqRel`, so a reader that sees the count sees the change).
    generation: AtomicU64,
    settings: Settings,
    concurrency: usize,
    /// Replaced on reload: a new secret needs a new redactor.
    options: RwLock<Arc<Options>>,
    /// Connection pools and clients, kept across runs.
    context: Context,
    permits: Semaphore,
    slots: RwLock<BTreeMap<CheckKey, Arc<Slot>>>,
    changes: broadcast::Sender<Change>,
    updates: broadcast::Sender<Update>,
    counters: Counters,
}

/// One scheduled check.
struct Slot {
    check: Prepared,
    interval: Duration,
    live: Mutex<Live>,
    /// Held while the check runs: a scheduled run and `check_now` never
    /// overlap.
    running: tokio::sync::Mutex<()>,
    task: Mutex<Option<JoinHandle<()>>>,
}

struct Live {
    state: Arc<CheckState>,
    /// Removed or replaced: a run still finishing records nothing.
    retired: bool,
}

impl Scheduler {
    /// Starts running `checks`, first runs spread over their first interval.
    /// Call it inside a tokio runtime: each check gets a task.
    pub fn start(checks: Vec<Scheduled>, options: Options, settings: Settings) -> Scheduler {
        let concurrency = settings.concurrency.max(1);
        let shared = Arc::new(Shared {
            id: SCHEDULERS.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            settings,
            concurrency,
            options: RwLock::new(Arc::new(options)),
            context: Context::default(),
            permits: Semaphore::new(concurrency),
            slots: RwLock::new(BTreeMap::new()),
            changes: broadcast::channel(CHANGES).0,
            updates: broadcast::channel(UPDATES).0,
            counters: Counters::new(),
        });
        let scheduler = Scheduler { shared };
        scheduler.install(checks);
        scheduler
    }

    /// Every check's state, ordered by key. Cheap: the states are shared,
    /// not copied, and a running check copies its own before changing it.
    pub fn snapshot(&self) -> Vec<Arc<CheckState>> {
        read(&self.shared.slots).values().map(|slot| lock(&slot.live).state.clone()).collect()
    }

    /// Moves on with every change to what [`snapshot`](Self::snapshot)
    /// shows — a result recorded, a next run moved, checks replaced — and
    /// names this scheduler: what is derived from a snapshot may be kept and
    /// used again while the generation stays the same. Read it before taking
    /// the snapshot, which is then at least as new as the generation says.
    pub fn generation(&self) -> Generation {
        Generation { scheduler: self.shared.id, changes: self.shared.generation.load(Ordering::Acquire) }
    }

    pub fn state(&self, key: &CheckKey) -> Option<Arc<CheckState>> {
        read(&self.shared.slots).get(key).map(|slot| lock(&slot.live).state.clone())
    }

    /// Changes of confirmed state, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.shared.changes.subscribe()
    }

    /// Every new result, from now on: for live views.
    pub fn subscribe_updates(&self) -> broadcast::Receiver<Update> {
        self.shared.updates.subscribe()
    }

    /// Runs the check now, out of schedule (after a run in progress
    /// finishes), records its result and returns it. `None` for a key not
    /// scheduled.
    pub async fn check_now(&self, key: &CheckKey) -> Option<Outcome> {
        let slot = read(&self.shared.slots).get(key).cloned()?;
        let _running = slot.running.lock().await;
        let outcome = {
            let _permit = self.shared.permits.acquire().await.expect("the scheduler never closes its semaphore");
            self.shared.counters.manual();
            check::run_one(&slot.check, &self.shared.context, &self.shared.options()).await
        };
        self.shared.record(&slot, &outcome, None);
        Some(outcome)
    }

    /// Reloads: checks whose key and definition (target, parameters,
    /// expectations, interval…) are unchanged keep their state, history and
    /// schedule; changed ones start afresh; removed ones stop; new ones
    /// start. Every run from now on uses `options` (a new secret needs a new
    /// redactor). A key given twice: the later definition wins.
    pub fn replace(&self, checks: Vec<Scheduled>, options: Options) {
        *write(&self.shared.options) = Arc::new(options);
        self.install(checks);
    }

    pub fn stats(&self) -> Stats {
        let checks = read(&self.shared.slots).len();
        let in_flight = self.shared.concurrency - self.shared.permits.available_permits();
        self.shared.counters.read(checks, in_flight)
    }

    /// Stops every check and waits until their tasks are gone.
    pub async fn shutdown(self) {
        for task in self.stop() {
            // Aborted: a cancelled task is the expected end.
            let _ = task.await;
        }
    }

    fn install(&self, checks: Vec<Scheduled>) {
        let (resolved, intervals): (Vec<Resolved>, Vec<Option<Duration>>) =
            checks.into_iter().map(|s| (s.check, s.interval)).unzip();
        let mut slots = write(&self.shared.slots);
        let mut old = std::mem::take(&mut *slots);
        for (check, interval) in Prepared::all(resolved).into_iter().zip(intervals) {
            let interval = self.shared.settings.interval(interval);
            let key = CheckKey::new(&check.check().runbook, &check.check().name);
            let slot = match old.remove(&key) {
                Some(slot) if slot.check.check() == check.check() && slot.interval == interval => slot,
                changed => {
                    if let Some(changed) = changed {
                        changed.retire();
                    }
                    Shared::spawn(&self.shared, key.clone(), check, interval)
                }
            };
            if let Some(displaced) = slots.insert(key, slot) {
                displaced.retire();
            }
        }
        for removed in old.into_values() {
            removed.retire();
        }
        self.shared.changed();
    }

    /// Retires every check; returns their (aborted) tasks.
    fn stop(&self) -> Vec<JoinHandle<()>> {
        let slots = std::mem::take(&mut *write(&self.shared.slots));
        self.shared.changed();
        slots.into_values().filter_map(|slot| slot.retire()).collect()
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for Scheduler {
    /// Counts only: a check's definition holds its real target, secrets
    /// included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("checks", &read(&self.shared.slots).len())
            .field("settings", &self.shared.settings)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// A slot for `check` and the task that runs it.
    fn spawn(shared: &Arc<Shared>, key: CheckKey, check: Prepared, interval: Duration) -> Arc<Slot> {
        let resolved = check.check();
        let mut state = CheckState::new(key, resolved.layer.clone(), resolved.shown_target.clone(), interval);
        let first = Instant::now() + interval.mul_f64(rand::random::<f64>());
        state.next_at = Some(timestamp(first));
        let slot = Arc::new(Slot {
            check,
            interval,
            live: Mutex::new(Live { state: Arc::new(state), retired: false }),
            running: tokio::sync::Mutex::new(()),
            task: Mutex::new(None),
        });
        let task = tokio::spawn(drive(shared.clone(), slot.clone(), first));
        *lock(&slot.task) = Some(task);
        slot
    }

    /// Counts a change just made to a state or to the set of checks.
    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn options(&self) -> Arc<Options> {
        read(&self.options).clone()
    }

    /// Takes in `outcome` for `slot`, with the time its next run is due.
    fn record(&self, slot: &Slot, outcome: &Outcome, next: Option<Instant>) {
        let sample = Sample::new(outcome, Timestamp::now());
        let mut live = lock(&slot.live);
        if live.retired {
            return;
        }
        let state = Arc::make_mut(&mut live.state);
        if let Some(next) = next {
            state.next_at = Some(timestamp(next));
        }
        // Cloned for updates only when someone listens: most of the time
        // nobody has the dashboard open.
        let update = (self.updates.receiver_count() > 0).then(|| sample.clone());
        let change = state.record(sample, &self.settings);
        self.changed();
        if let Some(sample) = update {
            let _ = self.updates.send(Update { key: state.key.clone(), state: state.state, sample });
        }
        if let Some(change) = change {
            // No subscriber is not an error: the state holds the news.
            let _ = self.changes.send(change);
        }
    }

    /// The next run's due time after `slot_at`, the grid slot of the run
    /// just made, skipping (and counting) the slots already past.
    fn next_due(&self, slot_at: &mut Instant, interval: Duration) -> Instant {
        let spread = interval.mul_f64(self.settings.jitter.clamp(0.0, 1.0));
        let now = Instant::now();
        loop {
            *slot_at += interval;
            let early = slot_at.checked_sub(spread / 2).unwrap_or(*slot_at);
            let due = early + spread.mul_f64(rand::random::<f64>());
            if due >= now {
                return due;
            }
            self.counters.overrun();
        }
    }
}

impl Slot {
    /// Stops recording and aborts the task; returns the task to wait for.
    fn retire(&self) -> Option<JoinHandle<()>> {
        lock(&self.live).retired = true;
        let task = lock(&self.task).take();
        if let Some(task) = &task {
            task.abort();
        }
        task
    }
}

/// A check's task: sleep until due, run, record, forever.
async fn drive(shared: Arc<Shared>, slot: Arc<Slot>, first: Instant) {
    let mut slot_at = first;
    let mut due = first;
    loop {
        tokio::time::sleep_until(due).await;
        let Ok(_running) = slot.running.try_lock() else {
            // `check_now` is running it.
            shared.counters.overrun();
            due = shared.next_due(&mut slot_at, slot.interval);
            let mut live = lock(&slot.live);
            Arc::make_mut(&mut live.state).next_at = Some(timestamp(due));
            shared.changed();
            continue;
        };
        let outcome = {
            let _permit = shared.permits.acquire().await.expect("the scheduler never closes its semaphore");
            shared.counters.started(Instant::now().saturating_duration_since(due));
            check::run_one(&slot.check, &shared.context, &shared.options()).await
        };
        due = shared.next_due(&mut slot_at, slot.interval);
        shared.record(&slot, &outcome, Some(due));
    }
}

/// The wall-clock time of `instant`.
fn timestamp(instant: Instant) -> Timestamp {
    let now = Timestamp::now();
    now.checked_add(instant.saturating_duration_since(Instant::now())).unwrap_or(now)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
