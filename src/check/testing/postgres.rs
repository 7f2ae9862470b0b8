//! `PostgreSQL` for tests: a client of the machine's server (trust on
//! 127.0.0.1:5432) to set up what a test reads, and a password-protected
//! server of our own that a test may stop.

use tokio::process::Child;
use tokio_postgres::{Client, NoTls};

use super::{dir_owned_by, free_port, interrupt, run_as, spawn, wait_until};

/// The machine's server, as the `postgres` superuser.
pub const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A client that may write, to set up what a check or step then reads.
pub async fn setup_client(target: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(target, NoTls).await.expect("connect for set-up");
    tokio::spawn(connection);
    client
}

/// A postgres of our own, password-protected over TCP (`postgres` /
/// [`PostgresServer::PASSWORD`]), stopped when dropped.
#[derive(Debug)]
pub struct PostgresServer {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl PostgresServer {
    pub const PASSWORD: &str = "s3cret";

    pub async fn start() -> PostgresServer {
        let dir = dir_owned_by("postgres");
        let data = dir.path().join("data").display().to_string();
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, format!("{}\n", Self::PASSWORD)).expect("write the password file");
        let bin = postgres_bin();
        let pwfile = format!("--pwfile={}", pwfile.display());
        let args = ["-D", &data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", &pwfile];
        run_as("postgres", &format!("{bin}/initdb"), &args).await;
        let port = free_port();
        let (port_text, socket_dir) = (port.to_string(), dir.path().display().to_string());
        let args =
            ["-D", &data, "-p", &port_text, "-k", &socket_dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"];
        let child = spawn(&format!("{bin}/postgres"), &args, Some("postgres"));
        let server = PostgresServer { port, child, _dir: dir };
        let url = server.url();
        wait_until("our postgres", || async { tokio_postgres::connect(&url, NoTls).await.is_ok() }).await;
        server
    }

    /// The URL with the password in it.
    pub fn url(&self) -> String {
        format!("postgres://postgres:{}@127.0.0.1:{}/postgres", Self::PASSWORD, self.port)
    }

    /// Stops the server as `kill -INT` would (a fast shutdown) and waits.
    pub async fn stop(&mut self) {
        interrupt(&mut self.child).await;
    }
}

fn postgres_bin() -> String {
    let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed")
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().expect("a PostgreSQL with initdb").display().to_string()
}
