//! Runs a program for a probe: in its own process group, output read up to
//! [`MAX_READ`] per stream, and the whole group killed when the probe ends
//! or is dropped (the engine drops a probe's future when it times out).

use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::check::MAX_READ;
use crate::process::GroupGuard;

/// How long to keep reading after the program exited, for output still
/// buffered in the pipes; a descendant that escaped the process group and
/// holds a pipe open must not keep the probe waiting.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// What a finished program left.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Captured,
    pub stderr: Captured,
}

/// One output stream: the first [`MAX_READ`] bytes and whether there was more.
#[derive(Debug, Default)]
pub struct Captured {
    pub bytes: Vec<u8>,
    pub truncated: bool,
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Runs `command` to completion with stdin closed, stdout and stderr
/// captured. `Err` only when it cannot be started.
pub async fn run(mut command: Command) -> io::Result<Finished> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = command.spawn()?;
    // Declared after `child` so it drops first: the group is killed while
    // the leader is still unreaped, so its pid cannot have been reused.
    let mut guard = GroupGuard::new(child.id());
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let mut out = Captured::default();
    let mut err = Captured::default();
    let status = {
        let reading = async {
            tokio::join!(drain(stdout.as_mut(), &mut out), drain(stderr.as_mut(), &mut err));
        };
        tokio::pin!(reading);
        let (status, read_all) = tokio::select! {
            status = child.wait() => (status?, false),
            () = &mut reading => (child.wait().await?, true),
        };
        // What the program left running in its group (`cmd &`) would hold the
        // pipes open; it goes now, once, and the guard stands down so a
        // reused pid is never signalled later.
        guard.kill_now();
        if !read_all {
            let _ = tokio::time::timeout(DRAIN_GRACE, &mut reading).await;
        }
        status
    };
    Ok(Finished { status, stdout: out, stderr: err })
}

/// Reads `stream` to its end, keeping the first [`MAX_READ`] bytes and
/// discarding the rest so a chatty program never blocks on a full pipe.
async fn drain(stream: Option<&mut (impl AsyncRead + Unpin)>, into: &mut Captured) {
    let Some(stream) = stream else { return };
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let room = MAX_READ.saturating_sub(into.bytes.len());
                into.bytes.extend_from_slice(&chunk[..n.min(room)]);
                into.truncated |= n > room;
            }
        }
    }
}
