//! `pidfile`: the process a pid file names is running, and is the program
//! it should be.
//!
//! Fields: `pid`, `alive` (the process exists and is not a zombie),
//! `process` (its `comm`, the kernel's 15-character name) and `cmdline`
//! (its arguments joined by spaces, shortened).
//!
//! Parameter: `process`, the expected program name, compared with `comm`
//! and with the file name of `argv[0]`.

use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use super::{Failure, Fields, Observation, Params, Verdict, one_line};

/// A pid file holds a number and a newline; anything longer is not one.
const MAX_PIDFILE: u64 = 64;
/// What `comm` keeps of a longer program name.
const COMM_LENGTH: usize = 15;

pub async fn probe(target: &str, params: &Params, _timeout: Duration) -> Result<Observation, Failure> {
    let expected = params.text("process")?;
    let pid = read_pid(target).await?;
    let proc_dir = format!("/proc/{pid}");
    let comm = tokio::fs::read_to_string(format!("{proc_dir}/comm")).await.ok().map(|c| c.trim_end().to_owned());
    let argv = tokio::fs::read(format!("{proc_dir}/cmdline")).await.unwrap_or_default();
    let alive = comm.is_some() && !is_zombie(&proc_dir).await;
    let arguments: Vec<String> =
        argv.split(|&b| b == 0).filter(|a| !a.is_empty()).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    let mut fields = Fields::new();
    fields.insert("pid".to_owned(), pid.into());
    fields.insert("alive".to_owned(), alive.into());
    if !alive {
        let mut observation = Observation::new(
            fields,
            format!("pid {pid} not running"),
            Verdict::critical(format!("pid {pid} from {target} is not running (stale pidfile)")),
        );
        observation.missing.push(("process", format!("pid {pid} is not running")));
        return Ok(observation);
    }
    let comm = comm.unwrap_or_default();
    fields.insert("process".to_owned(), comm.clone().into());
    fields.insert("cmdline".to_owned(), one_line(&arguments.join(" "), 200).into());
    let argv0 =
        arguments.first().map(|a| Path::new(a).file_name().map_or(a.as_str(), |n| n.to_str().unwrap_or_default()));
    let default = match expected {
        Some(name) if !matches_name(&name, &comm, argv0) => {
            Verdict::critical(format!("pid {pid} from {target} is `{comm}`, expected `{name}`"))
        }
        _ => Verdict::ok(),
    };
    Ok(Observation::new(fields, format!("{comm} ({pid}) running"), default))
}

/// The pid in `path`, read no further than a pid file can be long.
async fn read_pid(path: &str) -> Result<u32, Failure> {
    let file = tokio::fs::File::open(path).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Failure::critical(format!("{path}: no such file")),
        _ => Failure::critical(format!("cannot read {path}: {e}")),
    })?;
    let mut text = Vec::new();
    file.take(MAX_PIDFILE + 1)
        .read_to_end(&mut text)
        .await
        .map_err(|e| Failure::critical(format!("cannot read {path}: {e}")))?;
    let not_a_pid = || Failure::critical(format!("{path} does not hold a pid"));
    if text.len() as u64 > MAX_PIDFILE {
        return Err(not_a_pid());
    }
    std::str::from_utf8(&text)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
        .filter(|pid| *pid > 0)
        .ok_or_else(not_a_pid)
}

/// A zombie has exited; only its entry in the process table is left.
async fn is_zombie(proc_dir: &str) -> bool {
    let stat = tokio::fs::read_to_string(format!("{proc_dir}/stat")).await.unwrap_or_default();
    // `pid (comm) S …`: comm may hold spaces and parentheses, the state follows the last `)`.
    stat.rsplit_once(')').is_none_or(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
}

/// `name` is the program: its `comm` (which the kernel cuts at 15
/// characters) or the file name of its `argv[0]`.
fn matches_name(name: &str, comm: &str, argv0: Option<&str>) -> bool {
    let cut: String = name.chars().take(COMM_LENGTH).collect();
    comm == name || comm == cut || argv0 == Some(name)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::{matches_name, probe};
    use crate::check::testing::params_of;
    use crate::check::{Failure, Status, Verdict};

    const TIMEOUT: Duration = Duration::from_secs(10);

    /// A `sleep` to point pid files at, killed when the test ends.
    fn sleeper() -> std::process::Child {
        std::process::Command::new("sleep").arg("1000").spawn().unwrap()
    }

    fn pidfile(dir: &tempfile::TempDir, content: &[u8]) -> String {
        let path = dir.path().join("app.pid");
        std::fs::write(&path, content).unwrap();
        path.to_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn a_running_process_is_ok_and_named() {
        let mut child = sleeper();
        let dir = tempfile::tempdir().unwrap();
        let path = pidfile(&dir, format!("{}\n", child.id()).as_bytes());
        let seen = probe(&path, &params_of(&json!({"process": "sleep"})), TIMEOUT).await;
        child.kill().unwrap();
        child.wait().unwrap();
        let seen = seen.unwrap();
        assert_eq!(seen.default, Verdict::ok());
        assert_eq!(seen.fields["pid"], json!(child.id()));
        assert_eq!(seen.fields["alive"], json!(true));
        assert_eq!(seen.fields["process"], json!("sleep"));
        assert_eq!(seen.fields["cmdline"], json!("sleep 1000"));
        assert_eq!(seen.observed, format!("sleep ({}) running", child.id()));
    }

    #[tokio::test]
    async fn another_program_under_the_pid_is_critical() {
        let mut child = sleeper();
        let dir = tempfile::tempdir().unwrap();
        let path = pidfile(&dir, child.id().to_string().as_bytes());
        let seen = probe(&path, &params_of(&json!({"process": "nginx"})), TIMEOUT).await;
        child.kill().unwrap();
        child.wait().unwrap();
        let reason = format!("pid {} from {path} is `sleep`, expected `nginx`", child.id());
        assert_eq!(seen.unwrap().default, Verdict::critical(reason));
    }

    #[tokio::test]
    async fn the_pid_of_an_exited_process_is_a_stale_pidfile() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = pidfile(&dir, format!("{}\n", child.id()).as_bytes());
        let seen = probe(&path, &params_of(&json!({})), TIMEOUT).await.unwrap();
        let reason = format!("pid {} from {path} is not running (stale pidfile)", child.id());
        assert_eq!(seen.default, Verdict::critical(reason));
        assert_eq!(seen.fields["alive"], json!(false));
    }

    #[tokio::test]
    async fn garbage_empty_and_huge_files_do_not_hold_a_pid() {
        let dir = tempfile::tempdir().unwrap();
        for content in [&b"nginx\n"[..], b"", b"-5", b"0", &[0xff, 0xfe], &vec![b'1'; 50_000_000]] {
            let path = pidfile(&dir, content);
            let failure = probe(&path, &params_of(&json!({})), TIMEOUT).await.unwrap_err();
            assert_eq!(failure, Failure::critical(format!("{path} does not hold a pid")));
        }
    }

    #[tokio::test]
    async fn a_missing_pidfile_is_critical() {
        let failure = probe("/nonexistent/app.pid", &params_of(&json!({})), TIMEOUT).await.unwrap_err();
        assert_eq!(failure.0.status, Status::Critical);
        assert_eq!(failure.0.reason, "/nonexistent/app.pid: no such file");
    }

    #[test]
    fn names_match_comm_cut_at_fifteen_or_argv0() {
        assert!(matches_name("postgres-exporter", "postgres-export", None));
        assert!(matches_name("python3", "gunicorn: maste", Some("python3")));
        assert!(!matches_name("nginx", "sleep", Some("sleep")));
    }
}
