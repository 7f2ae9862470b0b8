//! Real servers the tests start on loopback ports of their own, and stop
//! when dropped. Readiness is a signal (the server answers), never a sleep.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().unwrap().port()
}

/// Polls until `ready` holds, for at most 20 s.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "{what} did not become ready within 20 s");
        std::thread::yield_now();
        std::thread::sleep(Duration::from_millis(10)); // poll interval, not a wait for readiness
    }
}

/// A `redis-server` of our own, keeping nothing on disk.
pub struct Redis {
    pub port: u16,
    child: Child,
}

impl Redis {
    pub fn start(dir: &Path) -> Redis {
        Redis::on_port(dir, free_port())
    }

    pub fn on_port(dir: &Path, port: u16) -> Redis {
        Redis::spawn(dir, port, &[])
    }

    /// A server that wants `password` (`requirepass`).
    pub fn with_password(dir: &Path, password: &str) -> Redis {
        Redis::spawn(dir, free_port(), &["--requirepass", password])
    }

    fn spawn(dir: &Path, port: u16, extra: &[&str]) -> Redis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(extra)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (scripts/setup installs it)");
        let redis = Redis { port, child };
        wait_until("redis-server", || redis.ping());
        redis
    }

    fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        // Any RESP answer (`+PONG`, or `-NOAUTH` from a server that wants a
        // password) says the server is up.
        let mut reply = [0u8; 1];
        stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut reply).is_ok() && matches!(&reply, b"+" | b"-")
    }

    /// Stops the server and waits until its port refuses connections.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP server that accepts connections and never says anything.
pub struct Silent {
    pub port: u16,
    _listener: TcpListener,
}

impl Silent {
    pub fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        // The kernel completes handshakes into the backlog: nothing need accept.
        Silent { port: listener.local_addr().unwrap().port(), _listener: listener }
    }
}
