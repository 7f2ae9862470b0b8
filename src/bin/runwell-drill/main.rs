//! `runwell-drill`: the incident drills. For each system it stands up the
//! example's lab, a `runwell serve` and Alertmanager, breaks the lab the
//! way the system's incidents do, and proves the runbook detects the
//! fault, diagnoses it with evidence in the journal, resolves it and
//! verifies recovery — through the CLI and through an alert. `drills/run`
//! builds and runs it; `docs/drills.md` describes the drills.
//!
//! Exit status: 0 every drill passed, 1 one failed or left a process
//! running, 2 the drills could not be read.

mod drill;
mod plan;
mod site;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;

use crate::plan::{Kind, System};
use crate::site::{Site, Tools};

/// Break each system's lab as its incidents do and prove its runbook gets an operator through.
#[derive(Debug, Parser)]
#[command(name = "runwell-drill", version, max_term_width = 100)]
struct Arguments {
    /// Systems to drill (`drills/SYSTEM.toml`); all of them without any.
    systems: Vec<String>,
    /// Where the drill files are.
    #[arg(long, default_value = "drills")]
    drills: PathBuf,
    /// Run only the drills with these names (repeatable).
    #[arg(long = "only", value_name = "DRILL")]
    only: Vec<String>,
    /// Keep each system's work directory (journal, reports, logs) even when its drills pass.
    #[arg(long)]
    keep: bool,
    /// List the drills and the incidents they stand for; run nothing.
    #[arg(long)]
    list: bool,
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let systems = match load(&arguments) {
        Ok(systems) => systems,
        Err(error) => {
            eprintln!("runwell-drill: {error:#}");
            return ExitCode::from(2);
        }
    };
    if arguments.list {
        for system in &systems {
            for drill in &system.drills {
                println!("{:<17} {:<34} {}", system.name, drill.name, drill.incident);
            }
        }
        return ExitCode::SUCCESS;
    }
    let tools = match tools() {
        Ok(tools) => tools,
        Err(error) => {
            eprintln!("runwell-drill: {error:#}");
            return ExitCode::from(2);
        }
    };
    let mut tally = Tally::default();
    for system in &systems {
        drill_system(&tools, system, &arguments, &mut tally);
    }
    println!("{} passed, {} failed", tally.passed, tally.failed);
    if tally.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn load(arguments: &Arguments) -> anyhow::Result<Vec<System>> {
    let mut files: Vec<PathBuf> = if arguments.systems.is_empty() {
        std::fs::read_dir(&arguments.drills)
            .with_context(|| format!("reading {}", arguments.drills.display()))?
            .filter_map(|entry| Some(entry.ok()?.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .collect()
    } else {
        arguments.systems.iter().map(|system| arguments.drills.join(format!("{system}.toml"))).collect()
    };
    files.sort();
    files.iter().map(|file| System::load(file)).collect()
}

/// `runwell` and `runwell-standin` beside this binary; the repository
/// is the working directory.
fn tools() -> anyhow::Result<Tools> {
    let exe = std::env::current_exe()?;
    let bin = exe.parent().context("the binary's directory")?;
    let tools =
        Tools { runwell: bin.join("runwell"), standin: bin.join("runwell-standin"), root: std::env::current_dir()? };
    for tool in [&tools.runwell, &tools.standin] {
        anyhow::ensure!(tool.exists(), "{} is missing: `cargo build --bins` first (drills/run does)", tool.display());
    }
    Ok(tools)
}

#[derive(Debug, Default)]
struct Tally {
    passed: usize,
    failed: usize,
}

impl Tally {
    fn report(&mut self, system: &str, drill: &str, started: Instant, result: &anyhow::Result<String>) {
        let seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(detail) => {
                self.passed += 1;
                println!("ok    {system:<17} {drill:<34} {seconds:>5.1} s  {detail}");
            }
            Err(error) => {
                self.failed += 1;
                // The first line says what failed; what runwell showed follows, indented.
                let text = format!("{error:#}");
                let mut lines = text.lines();
                println!("FAIL  {system:<17} {drill:<34} {seconds:>5.1} s  {}", lines.next().unwrap_or_default());
                for line in lines {
                    println!("      {line}");
                }
            }
        }
        let _ = std::io::stdout().flush();
    }
}

fn drill_system(tools: &Tools, system: &System, arguments: &Arguments, tally: &mut Tally) {
    let only = &arguments.only;
    let drills: Vec<_> = system.drills.iter().filter(|d| only.is_empty() || only.contains(&d.name)).collect();
    if drills.is_empty() {
        return;
    }
    let mut site: Option<(Site, WorkDir)> = None;
    for drill in drills {
        let started = Instant::now();
        if site.is_none() {
            match bring_up(tools, &system.name) {
                Ok(up) => site = Some(up),
                Err(error) => {
                    tally.report(&system.name, &drill.name, started, &Err(error.context("bringing the lab up")));
                    continue;
                }
            }
        }
        let Some((current, _)) = &site else { continue };
        let result = match &drill.kind {
            Kind::Incident(incident) => drill::incident(current, incident).map(|runs| listed(&runs)),
            Kind::Lint(lint) => drill::lint(current, lint).map(|()| "lint caught it".to_owned()),
            Kind::Services(services) => drill::services(current, services).map(|runs| listed(&runs)),
        };
        tally.report(&system.name, &drill.name, started, &result);
        if result.is_err() {
            // The next drill starts from a fresh lab, not from this one's wreck.
            if let Some((failed, dir)) = site.take() {
                let _ = failed.down();
                println!("      its logs are in {}", dir.keep().display());
            }
        }
    }
    if let Some((site, dir)) = site {
        let started = Instant::now();
        let result = site.down().and_then(|()| nothing_left(dir.path())).map(|()| "nothing left running".to_owned());
        if result.is_err() {
            tally.report(&system.name, "(teardown)", started, &result);
        }
        if result.is_err() || arguments.keep {
            println!("      {}: its journal, reports and logs are in {}", system.name, dir.keep().display());
        }
    }
}

/// `runs 3, 4`.
fn listed(runs: &[i64]) -> String {
    let runs: Vec<String> = runs.iter().map(ToString::to_string).collect();
    format!("runs {}", runs.join(", "))
}

fn bring_up(tools: &Tools, system: &str) -> anyhow::Result<(Site, WorkDir)> {
    let dir = WorkDir::new(system)?;
    match Site::up(tools, system, dir.path()) {
        Ok(site) => Ok((site, dir)),
        Err(error) => Err(error.context(format!("its logs are in {}", dir.keep().display()))),
    }
}

/// A site's files: removed when dropped, unless kept for a failure's logs.
#[derive(Debug)]
struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    fn new(system: &str) -> anyhow::Result<WorkDir> {
        let stamp = jiff::Timestamp::now().as_millisecond();
        let path = std::env::temp_dir().join(format!("runwell-drill-{system}-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(WorkDir { path, keep: false })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn keep(mut self) -> PathBuf {
        self.keep = true;
        self.path.clone()
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// No process still names the work directory in its command line or
/// environment (every lab part, step and shim has its `PATH` there).
fn nothing_left(work: &Path) -> anyhow::Result<()> {
    let needle = work.to_string_lossy().into_owned();
    let mut left = Vec::new();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else { continue };
        if pid == std::process::id().cast_signed() {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let mentions = |bytes: &[u8]| String::from_utf8_lossy(bytes).contains(&needle);
        if mentions(&cmdline) || mentions(&environ) {
            let status = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            if status.split(") ").nth(1).is_some_and(|rest| rest.starts_with('Z')) {
                continue;
            }
            left.push(format!("{pid} {}", String::from_utf8_lossy(&cmdline).replace('\0', " ").trim()));
        }
    }
    anyhow::ensure!(left.is_empty(), "left running: {}", left.join("; "));
    Ok(())
}
