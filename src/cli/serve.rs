//! `runwell serve [--config FILE] [RUNBOOK_DIR]... [--listen ADDR]`: load
//! the runbooks, keep every check running on its schedule and serve the
//! dashboard, the JSON API and the metrics until Ctrl-C or SIGTERM.
//!
//! Flags override the configuration file; without one, the defaults hold
//! (`127.0.0.1:7070`, the current directory, the default journal). Without
//! any `[[tokens]]` the server refuses to listen beyond this machine, since
//! anyone reaching the port would act as admin, and says it serves loopback
//! only. It exits 0 after a clean stop and 2 when it cannot start.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Error;
use crate::check::{self, Options};
use crate::serve::alerting::{self, AlertRuns};
use crate::serve::app::{self, AppState, Library};
use crate::serve::auth::Access;
use crate::serve::catalog::Catalog;
use crate::serve::config::{Config as ServeConfig, SchedulerConfig};
use crate::serve::notify::{Notifier, OnError};
use crate::serve::runs::{Defaults, Runs};
use crate::serve::scheduler::{Scheduler, Settings};
use crate::serve::triggers::Triggers;

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: Option<PathBuf>,
    pub paths: Vec<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub db: Option<PathBuf>,
    pub env: Option<String>,
    pub sets: Vec<String>,
}

pub(super) fn run(config: &Config) -> Result<ExitCode, Error> {
    init_logging();
    let mut settings = match &config.file {
        Some(path) => ServeConfig::load(path)?,
        None => ServeConfig::from_str("", Path::new("runwell.toml"))?,
    };
    if !config.paths.is_empty() {
        settings.runbooks.clone_from(&config.paths);
    }
    if let Some(listen) = config.listen {
        settings.listen = listen;
    }
    if let Some(db) = &config.db {
        settings.database.clone_from(db);
    }
    settings.binds_safely().map_err(Error::Refused)?;
    let loaded = load(&settings.runbooks, config.env.as_deref(), &config.sets)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(Error::Output)?;
    runtime.block_on(serve(&settings, loaded, config.env.clone(), &config.sets))?;
    Ok(ExitCode::SUCCESS)
}

/// Reads every runbook under `paths`, saying on stderr what did not load cleanly.
fn load(paths: &[PathBuf], env: Option<&str>, sets: &[String]) -> Result<Catalog, Error> {
    let catalog = Catalog::load(paths, env, sets).map_err(|error| Error::Unsupported(error.to_string()))?;
    let mut err = anstream::stderr().lock();
    for problem in &catalog.problems {
        writeln!(err, "warning: {problem}")?;
    }
    if catalog.entries.is_empty() {
        let searched: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
        writeln!(
            err,
            "warning: no runbooks (`*.md`) found in {}: /readyz answers 503 until there are some",
            searched.join(", ")
        )?;
    }
    Ok(catalog)
}

/// What a reload needs: where the runbooks are and the values they take.
struct Reloading {
    paths: Vec<PathBuf>,
    env: Option<String>,
    sets: Vec<String>,
    concurrency: usize,
}

impl Reloading {
    /// Re-reads the runbooks; a broken edit keeps the version served so far
    /// and is reported in the log and on the dashboard.
    fn apply(&self, library: &Library, scheduler: &Scheduler, triggers: &Triggers, why: &str) {
        let current = library.current();
        let catalog = current.reload(&self.paths, self.env.as_deref(), &self.sets);
        for problem in &catalog.problems {
            tracing::warn!(path = %problem.path.display(), kept_previous = problem.kept_previous, "{}", problem.message);
        }
        let options =
            Options { concurrency: self.concurrency, timeout: check::DEFAULT_TIMEOUT, redactor: catalog.redactor() };
        scheduler.replace(catalog.checks(), options);
        triggers.replace_rules(alerting::rules(&catalog));
        tracing::info!(
            runbooks = catalog.entries.len(),
            problems = catalog.problems.len(),
            trigger = why,
            "runbooks reloaded"
        );
        library.replace(catalog);
    }
}

/// What tells the server to reload: SIGHUP and changes to the runbook
/// files. Both are set up before the server answers its first request, so
/// an edit made as soon as it is up is not missed.
struct Reloads {
    hangup: Option<tokio::signal::unix::Signal>,
    watcher: Option<crate::serve::catalog::Watcher>,
    changed: Option<tokio::sync::mpsc::Receiver<()>>,
}

impl Reloads {
    fn listen(paths: &[PathBuf]) -> Reloads {
        use tokio::signal::unix::{SignalKind, signal};
        let hangup = signal(SignalKind::hangup())
            .inspect_err(|error| tracing::warn!(%error, "SIGHUP cannot reload the runbooks"))
            .ok();
        let (watcher, changed) = match crate::serve::catalog::watch(paths) {
            Ok((watcher, changed)) => (Some(watcher), Some(changed)),
            Err(error) => {
                tracing::warn!(%error, "runbook files are not watched: send SIGHUP to reload them");
                (None, None)
            }
        };
        Reloads { hangup, watcher, changed }
    }

    /// Reloads on each signal or change until `stop`.
    async fn run(
        mut self,
        reloading: Reloading,
        library: Library,
        scheduler: Arc<Scheduler>,
        triggers: Arc<Triggers>,
        stop: CancellationToken,
    ) {
        loop {
            let hangup = async {
                match &mut self.hangup {
                    Some(hangup) => hangup.recv().await,
                    None => std::future::pending().await,
                }
            };
            let changed = async {
                match &mut self.changed {
                    Some(changed) => changed.recv().await,
                    None => std::future::pending().await,
                }
            };
            let why = tokio::select! {
                () = stop.cancelled() => break,
                Some(()) = hangup => "SIGHUP",
                Some(()) = changed => "a file changed",
            };
            tokio::task::block_in_place(|| reloading.apply(&library, &scheduler, &triggers, why));
        }
        drop(self.watcher);
    }
}

fn scheduler_settings(config: &SchedulerConfig) -> Settings {
    Settings {
        default_interval: config.interval,
        jitter: config.jitter,
        fail_threshold: config.fail_threshold,
        success_threshold: config.success_threshold,
        history: config.history,
        concurrency: config.concurrency,
    }
}

async fn serve(settings: &ServeConfig, catalog: Catalog, env: Option<String>, sets: &[String]) -> Result<(), Error> {
    let signalled = shutdown_signal()?;
    let reloads = Reloads::listen(&settings.runbooks);
    let listener = listen(settings.listen).map_err(|source| Error::Listen { address: settings.listen, source })?;
    let address = listener.local_addr().map_err(|source| Error::Listen { address: settings.listen, source })?;
    let concurrency = settings.scheduler.concurrency.max(1);
    let options = Options { concurrency, timeout: check::DEFAULT_TIMEOUT, redactor: catalog.redactor() };
    let scheduler = Arc::new(Scheduler::start(catalog.checks(), options, scheduler_settings(&settings.scheduler)));
    let defaults = Defaults { env: env.clone(), sets: sets.to_vec() };
    let runs = Arc::new(Runs::open(settings.database.clone()).map_err(Error::Journal)?.with_defaults(defaults));
    let triggers = Arc::new(Triggers::new(alerting::rules(&catalog), settings.alerts.clone()));
    let notifier = (!settings.notify.is_empty()).then(|| {
        let on_error: OnError = Arc::new(|error| tracing::warn!(%error, "a notification was not delivered"));
        Arc::new(Notifier::new(settings.notify.clone(), settings.public_url.clone(), on_error))
    });
    let library = Library::new(catalog);
    // Outlives the shutdown: runs ending while the server drains are announced too.
    let announcing = CancellationToken::new();
    let state = AppState {
        access: Access::new(settings),
        scheduler: Arc::clone(&scheduler),
        library: library.clone(),
        runs: Arc::clone(&runs),
        alerts: Some(Arc::new(AlertRuns { triggers: Arc::clone(&triggers), library, runs: Arc::clone(&runs) })),
        shutdown: CancellationToken::new(),
        checks_body: app::ChecksBody::default(),
    };
    tokio::spawn(alerting::announce(
        Arc::clone(&scheduler),
        Arc::clone(&runs),
        notifier.clone(),
        Arc::clone(&triggers),
        announcing.clone(),
    ));
    let reloading = Reloading { paths: settings.runbooks.clone(), env: env.clone(), sets: sets.to_vec(), concurrency };
    tokio::spawn(reloads.run(
        reloading,
        state.library.clone(),
        Arc::clone(&scheduler),
        Arc::clone(&triggers),
        state.shutdown.clone(),
    ));
    {
        let mut out = anstream::stdout().lock();
        writeln!(out, "listening on http://{address}")?;
        if settings.tokens.is_empty() {
            writeln!(
                out,
                "loopback only: no `[[tokens]]` are configured, so only this machine may connect (as the local admin); \
                 add `[[tokens]]` to the configuration to serve others"
            )?;
        }
        out.flush()?;
    }

    let shutdown = state.shutdown.clone();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            signalled.await;
            shutdown.cancel();
        }
    });
    let service = app::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let mut server = tokio::spawn(
        axum::serve(listener, service).with_graceful_shutdown(shutdown.clone().cancelled_owned()).into_future(),
    );
    // The server ends by itself once the shutdown begins (or when it fails).
    let mut ended = false;
    tokio::select! {
        finished = &mut server => {
            finished.map_err(|error| Error::Output(std::io::Error::other(error)))?.map_err(Error::Output)?;
            ended = true;
        }
        () = shutdown.cancelled() => {}
    }
    let grace = settings.shutdown_timeout;
    tracing::info!(grace = ?grace, "stopping: no new runs; running steps may finish within the grace");
    let stopped = runs.drain(grace).await;
    if stopped > 0 {
        tracing::warn!(
            runs = stopped,
            "steps still running after the shutdown timeout were stopped; their runs are interrupted"
        );
    }
    announcing.cancel();
    if let Some(notifier) = &notifier {
        notifier.shutdown(Duration::from_secs(5)).await;
    }
    // Live streams end with the shutdown; other requests get a moment.
    if !ended && tokio::time::timeout(Duration::from_secs(5), server).await.is_err() {
        writeln!(anstream::stderr(), "connections still open after the shutdown: stopping anyway")?;
    }
    match Arc::try_unwrap(scheduler) {
        Ok(scheduler) => scheduler.shutdown().await,
        // A connection cut short still holds the state: dropping it stops the checks too.
        Err(scheduler) => drop(scheduler),
    }
    writeln!(anstream::stdout(), "stopped")?;
    Ok(())
}

/// The listening socket, with a backlog for every dashboard reconnecting at
/// once after a restart: with tokio's default of 128, a thousand live clients
/// overflow the queue and wait a second for the kernel to retry them.
fn listen(address: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if address.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(1024)
}

/// Ctrl-C or SIGTERM (what service managers send). Both handlers are
/// installed before this returns, so a signal that comes as soon as the
/// address is printed still stops the server cleanly rather than killing it.
fn shutdown_signal() -> Result<impl Future<Output = ()>, Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).map_err(Error::Output)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(Error::Output)?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// Structured logs on stderr, filtered by `RUST_LOG` (default: runwell's
/// own at `info`). Never a token: requests are logged by caller name.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("runwell=info"));
    // Fails only when a subscriber is already set, which then logs instead.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
