//! The examples' stand-in labs (`runwell-standin`) for tests: brought up
//! in a temporary directory and taken down when the test ends, passed or
//! not. The labs use fixed ports (the examples' `local` environments name
//! them), so tests that use one take turns.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use crate::test::{root, runwell};

static PORTS: Mutex<()> = Mutex::new(());

pub fn take_turn() -> MutexGuard<'static, ()> {
    PORTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn standin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runwell-standin")).args(args).output().expect("runwell-standin runs")
}

/// A lab that is taken down when the test ends, passed or not.
pub struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    pub fn up(example: &str) -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let output = standin(&["up", example, "--dir", dir.path().to_str().unwrap()]);
        assert!(output.status.success(), "up {example}: {}", String::from_utf8_lossy(&output.stderr));
        Lab { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `runwell COMMAND examples/EXAMPLE.md ARGS… --env local --set …` with
    /// the lab's shims first on PATH, its secrets in the environment and its
    /// paths set, as `. DIR/env` would give an operator.
    pub fn runwell(&self, command: &str, example: &str, args: &[&str]) -> Command {
        let runbook = root().join("examples").join(format!("{example}.md"));
        let mut runwell = runwell();
        runwell.args([command, runbook.to_str().unwrap()]).args(args).args(["--env", "local"]);
        for line in std::fs::read_to_string(self.path().join("sets")).unwrap().lines() {
            runwell.args(["--set", line]);
        }
        let bin = self.path().join("bin");
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        runwell.env("PATH", path);
        for (name, value) in secrets(self.path()) {
            runwell.env(name, value);
        }
        runwell
    }

    /// A secret the lab's env file exports (`TORNADO_REDIS_PASSWORD`).
    pub fn secret(&self, name: &str) -> String {
        secrets(self.path()).into_iter().find(|(n, _)| n == name).map(|(_, v)| v).unwrap_or_default()
    }

    /// `runwell check examples/EXAMPLE.md --env local --format json`: exit
    /// status, report, raw output.
    pub fn check(&self, example: &str) -> (i32, serde_json::Value, String) {
        let output = self.runwell("check", example, &["--format", "json"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let report = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
        (output.status.code().unwrap_or(-1), report, stdout)
    }

    /// The process groups of the lab's parts, from their pid files.
    pub fn groups(&self) -> Vec<i32> {
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(self.path().join("standin.json")).unwrap()).unwrap();
        state["parts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|part| std::fs::read_to_string(part["pidfile"].as_str()?).ok()?.trim().parse().ok())
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        standin(&["down", "--dir", self.dir.path().to_str().unwrap()]);
    }
}

/// `export NAME=value` lines of the env file, except the PATH and shim lines.
fn secrets(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("env"))
        .unwrap()
        .lines()
        .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
        .filter(|(name, _)| *name != "PATH")
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// Live (not zombie) processes in a process group.
pub fn live_members(pgid: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else { return false };
            let fields: Vec<&str> = rest.split(' ').collect();
            fields.len() > 2 && !matches!(fields[0], "Z" | "X") && fields[2].parse() == Ok(pgid)
        })
        .collect()
}
