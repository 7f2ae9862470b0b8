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

use super::{Error, files};
use crate::check::{self, Options};
use crate::runbook::Severity;
use crate::serve::app::{self, AppState, Loaded};
use crate::serve::auth::Access;
use crate::serve::config::{Config as ServeConfig, SchedulerConfig};
use crate::serve::scheduler::{Scheduled, Scheduler, Settings};
use crate::template::{Redactor, Values};

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Config {
    pub file: Option<PathBuf>,
    pub paths: Vec<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub env: Option<String>,
    pub sets: Vec<String>,
}

/// The runbooks and their checks, ready to schedule.
struct Prepared {
    runbooks: Vec<Loaded>,
    checks: Vec<Scheduled>,
    redactor: Redactor,
}

pub(super) fn run(config: &Config) -> Result<ExitCode, Error> {
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
    settings.binds_safely().map_err(Error::Refused)?;
    let loaded = load(&settings.runbooks, config.env.as_deref(), &config.sets)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(Error::Output)?;
    runtime.block_on(serve(&settings, loaded))?;
    Ok(ExitCode::SUCCESS)
}

/// Reads every runbook under `paths` and resolves each of its checks.
fn load(paths: &[PathBuf], env: Option<&str>, sets: &[String]) -> Result<Prepared, Error> {
    let mut loaded = Prepared { runbooks: Vec::new(), checks: Vec::new(), redactor: Redactor::default() };
    let mut err = anstream::stderr().lock();
    for path in files::discover(paths)? {
        let parsed = files::load(&path)?;
        let runbook = &parsed.runbook;
        let errors = parsed.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
        if errors > 0 {
            writeln!(
                err,
                "warning: `{}` has {errors} error(s); what could be read is served: `runwell lint {}` shows them",
                path.display(),
                path.display()
            )?;
        }
        if let Some(other) = loaded.runbooks.iter().find(|loaded| loaded.name == runbook.name) {
            writeln!(
                err,
                "warning: `{}` and `{}` are both runbook `{}`: the checks of the later replace those of the \
                 same name; give one a `runbook:` name of its own",
                other.path.display(),
                path.display(),
                runbook.name
            )?;
        }
        let secrets = Values::resolve(runbook, env, sets)?.with_secrets();
        loaded.redactor.extend(secrets.redactor());
        loaded.checks.extend(runbook.checks.iter().map(|spec| Scheduled::resolve(&runbook.name, spec, &secrets)));
        loaded.runbooks.push(Loaded {
            name: runbook.name.clone(),
            path: path.clone(),
            title: runbook.title.clone(),
            checks: runbook.checks.iter().map(|spec| spec.name.clone()).collect(),
        });
    }
    if loaded.runbooks.is_empty() {
        let searched: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
        writeln!(
            err,
            "warning: no runbooks (`*.md`) found in {}: /readyz answers 503 until there are some",
            searched.join(", ")
        )?;
    }
    Ok(loaded)
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

async fn serve(settings: &ServeConfig, loaded: Prepared) -> Result<(), Error> {
    let signalled = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| Error::Listen { address: settings.listen, source })?;
    let address = listener.local_addr().map_err(|source| Error::Listen { address: settings.listen, source })?;
    let options = Options {
        concurrency: settings.scheduler.concurrency.max(1),
        timeout: check::DEFAULT_TIMEOUT,
        redactor: loaded.redactor,
    };
    let scheduler = Arc::new(Scheduler::start(loaded.checks, options, scheduler_settings(&settings.scheduler)));
    let state = AppState {
        access: Access::new(settings),
        scheduler: Arc::clone(&scheduler),
        runbooks: Arc::from(loaded.runbooks),
        journal: settings.database.clone(),
    };
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

    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app::router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            signalled.await;
            let _ = stopping.send(());
        });
    let grace = settings.shutdown_timeout;
    tokio::select! {
        finished = std::future::IntoFuture::into_future(server) => finished.map_err(Error::Output)?,
        () = async move {
            // Only once a signal came: connections still open get `grace` to finish.
            if stopped.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => {
            writeln!(anstream::stderr(), "connections still open after {grace:?}: stopping anyway")?;
        }
    }
    match Arc::try_unwrap(scheduler) {
        Ok(scheduler) => scheduler.shutdown().await,
        // A connection cut short still holds the state: dropping it stops the checks too.
        Err(scheduler) => drop(scheduler),
    }
    writeln!(anstream::stdout(), "stopped")?;
    Ok(())
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
