//! `runwell-standin`: the local lab for demos, tests and drills. It stands
//! up each example runbook's system on loopback ports — real redis-server,
//! PostgreSQL, PgBouncer and NGINX where the example uses them, small
//! stand-in services of ours for the rest — so `runwell check
//! examples/NAME.md --env local` runs against something real.
//!
//! Exit status: 0 done, 1 it could not be done (a port is taken, a tool is
//! missing, a part did not become ready); shims answer as the tool they
//! stand for would.

// Product names (PostgreSQL, PgBouncer, NGINX, WireGuard) are words here, not code.
#![allow(clippy::doc_markdown)]

mod examples;
mod gateway;
mod lab;
mod personas;
mod prepare;
mod resp;
mod sentinel;
mod serve;
mod shims;
mod up;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The local lab: stand up an example runbook's system on loopback ports.
#[derive(Debug, Parser)]
#[command(name = "runwell-standin", version, max_term_width = 100)]
struct Arguments {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start every part of EXAMPLE in the background, wait until each is ready, write DIR/env.
    Up {
        /// tornado-vpn, push-gateway, axiomdb, sentinel-proxy or service-template.
        example: String,
        /// Where the lab lives (default: /tmp/runwell-standin/EXAMPLE, the path the examples' `local` environment uses).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Stop everything the lab in DIR started (whole process groups).
    Down {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Show each part of the lab in DIR: running, stopped or failed.
    Status {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Start one stopped part (by part or unit name), waiting until it is ready.
    Start {
        part: String,
        #[arg(long)]
        dir: PathBuf,
    },
    /// Stop one part (by part or unit name).
    Stop {
        part: String,
        #[arg(long)]
        dir: PathBuf,
    },
    /// Run a stand-in service (what the lab's parts run; not for people).
    #[command(hide = true)]
    Serve(serve::Arguments),
    /// The `systemctl` shim in DIR/bin.
    #[command(hide = true)]
    Systemctl {
        #[arg(long)]
        dir: PathBuf,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The `wg` shim in DIR/bin.
    #[command(hide = true)]
    Wg {
        #[arg(long)]
        dir: PathBuf,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The `journalctl -u UNIT` shim in DIR/bin.
    #[command(hide = true)]
    Journalctl {
        #[arg(long)]
        dir: PathBuf,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The `cmctl renew CERTIFICATE` shim in DIR/bin (service-template).
    #[command(hide = true)]
    Cmctl {
        #[arg(long)]
        dir: PathBuf,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The `kubectl` shim in DIR/bin (service-template): describe certificate, rollout, set image, logs.
    #[command(hide = true)]
    Kubectl {
        #[arg(long)]
        dir: PathBuf,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The `sentinel-proxy --validate --config FILE` shim in DIR/bin.
    #[command(hide = true)]
    SentinelProxy {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let arguments = Arguments::parse();
    let result = match arguments.command {
        Command::Up { example, dir } => {
            let dir = dir.unwrap_or_else(|| examples::default_dir(&example));
            up::up(&example, &dir).map(|()| 0)
        }
        Command::Down { dir } => up::down(&dir).map(|()| 0),
        Command::Status { dir } => up::status(&dir),
        Command::Start { part, dir } => up::start_one(&dir, &part).map(|()| 0),
        Command::Stop { part, dir } => up::stop_one(&dir, &part).map(|()| 0),
        Command::Serve(arguments) => serve::run(&arguments).map(|()| 0),
        Command::Systemctl { dir, args } => shims::systemctl(&dir, &args),
        Command::Wg { dir, args } => shims::wg(&dir, &args),
        Command::Journalctl { dir, args } => shims::journalctl(&dir, &args),
        Command::Cmctl { dir, args } => shims::cmctl(&dir, &args),
        Command::Kubectl { dir, args } => shims::kubectl(&dir, &args),
        Command::SentinelProxy { args } => Ok(shims::sentinel_proxy(&args)),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("runwell-standin: {error:#}");
            ExitCode::FAILURE
        }
    }
}
