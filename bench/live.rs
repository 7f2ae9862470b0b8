//! Live-stream benchmark: how soon 1,000 dashboards learn that a check
//! changed, through the real `runwell serve` (the release binary `cargo
//! bench` builds) and `GET /api/events`.
//!
//! The server runs one `tcp` check against a port this program holds,
//! every second (the shortest interval the scheduler keeps), no jitter,
//! thresholds 1/1, so one result confirms a change. 1,000 clients open the
//! event stream; once every one has its response headers (the server
//! subscribes them before it answers), each round opens the port (the flip)
//! after a random pause, so flips land anywhere on the check's schedule,
//! and waits until every client has the `check` event saying `ok`; then it
//! closes the port and waits until every client has heard `critical`.
//!
//! Per client and round it prints, from the flip:
//!
//! - detection (the baseline): the event's `at`, when the scheduler took
//!   in the result that confirmed the change, minus the flip. The check's
//!   interval bounds it: a flip just after a run waits a whole interval;
//! - seen: when the client had the event, minus the flip;
//! - fan-out: seen − detection, what the server's broadcast, each
//!   stream's serialising and writing, loopback TCP and the client's
//!   reading add.
//!
//! Clients and server share the machine's cores, as they would in a test
//! on one host; the clients' own parsing counts in "seen". The flip's time
//! and `at` come from the same wall clock (one host).
//!
//! Run: `cargo bench --bench live` (about a minute).

// Counts and milliseconds here are far below 2^52; f64 is exact for them.
#![allow(clippy::cast_precision_loss)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use jiff::Timestamp;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const CLIENTS: usize = 1_000;
const ROUNDS: usize = 20;
/// The check's interval: the scheduler's minimum (`MIN_INTERVAL`).
const INTERVAL: Duration = Duration::from_secs(1);
/// What the issue asks: every client sees the change within this.
const TARGET: Duration = Duration::from_secs(1);
/// How long a round waits for its events before counting the rest missed.
const PATIENCE: Duration = Duration::from_secs(10);
const CHECK: &str = "flip";

fn main() {
    raise_open_files();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(bench());
}

async fn bench() {
    let mut target = Target::new();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Server::start(dir.path(), target.address);
    // reqwest is built without a TLS provider of its own; plain HTTP still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().no_proxy().build().expect("an HTTP client");
    println!(
        "runwell serve: 1 tcp check every {}s, no jitter, thresholds 1/1; {CLIENTS} clients on GET /api/events; \
         {ROUNDS} flips",
        INTERVAL.as_secs()
    );

    let idle_rss = server.rss_mb();
    let (events, mut seen) = mpsc::unbounded_channel();
    let (connected, mut connections) = mpsc::channel(CLIENTS);
    let started = std::time::Instant::now();
    let clients: Vec<JoinHandle<()>> = (0..CLIENTS)
        .map(|id| {
            let (http, url, connected, events) =
                (http.clone(), server.url("/api/events"), connected.clone(), events.clone());
            tokio::spawn(async move {
                if let Err(error) = listen(id, &http, &url, &connected, &events).await {
                    eprintln!("bench: client {id}: {error}");
                    std::process::exit(1);
                }
            })
        })
        .collect();
    for _ in 0..CLIENTS {
        tokio::time::timeout(PATIENCE * 3, connections.recv())
            .await
            .expect("every client gets its response headers")
            .expect("the clients are running");
    }
    println!(
        "{CLIENTS} streams open in {:.2} s; the server's resident memory {idle_rss:.1} MB before them, {:.1} MB with them",
        started.elapsed().as_secs_f64(),
        server.rss_mb()
    );

    // The check starts down: wait until the server says so.
    server.wait_for_state(&http, "critical").await;
    let mut figures = Figures::default();
    for _ in 0..ROUNDS {
        tokio::time::sleep(INTERVAL.mul_f64(rand::random::<f64>())).await;
        let flip = Timestamp::now();
        target.open();
        let round = gather(&mut seen, "ok").await;
        figures.add(flip, &round);
        tokio::time::sleep(INTERVAL.mul_f64(rand::random::<f64>())).await;
        target.close().await;
        gather(&mut seen, "critical").await;
    }
    figures.print();
    for client in clients {
        client.abort();
    }
}

/// What a client heard: a `check` event of the benchmark's check.
#[derive(Debug)]
struct Seen {
    client: usize,
    state: String,
    at: Timestamp,
    received: Timestamp,
}

/// One client: opens the stream, says so, then passes on every `check`
/// event of the benchmark's check with the moment it arrived.
async fn listen(
    id: usize,
    http: &reqwest::Client,
    url: &str,
    connected: &mpsc::Sender<()>,
    events: &mpsc::UnboundedSender<Seen>,
) -> Result<(), String> {
    let mut response = http.get(url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("GET {url}: {}", response.status()));
    }
    connected.send(()).await.map_err(|e| e.to_string())?;
    let mut buffer = String::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("reading the stream: {e}"))? {
        let received = Timestamp::now();
        buffer.push_str(std::str::from_utf8(&chunk).map_err(|e| e.to_string())?);
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if let Some((state, at)) = check_event(&event) {
                // The receiver goes only when the benchmark is over.
                let _ = events.send(Seen { client: id, state, at, received });
            }
        }
    }
    Err("the server ended the stream".to_owned())
}

/// The state and `at` of a `check` event about the benchmark's check.
fn check_event(event: &str) -> Option<(String, Timestamp)> {
    let mut lines = event.lines();
    if lines.next()? != "event: check" {
        return None;
    }
    let data: serde_json::Value = serde_json::from_str(lines.next()?.strip_prefix("data: ")?).ok()?;
    if data["check"] != CHECK {
        return None;
    }
    Some((data["state"].as_str()?.to_owned(), data["at"].as_str()?.parse().ok()?))
}

/// Waits until every client has heard `state` (or `PATIENCE` passed);
/// returns what each heard, in the order they heard it. Events of other
/// states (late ones of the round before) are skipped.
async fn gather(seen: &mut mpsc::UnboundedReceiver<Seen>, state: &str) -> Vec<Seen> {
    let mut heard = vec![false; CLIENTS];
    let mut round = Vec::with_capacity(CLIENTS);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while round.len() < CLIENTS {
        let Ok(Some(event)) = tokio::time::timeout_at(deadline, seen.recv()).await else {
            break;
        };
        if event.state == state && !std::mem::replace(&mut heard[event.client], true) {
            round.push(event);
        }
    }
    round
}

/// Every round's figures, in milliseconds.
#[derive(Debug, Default)]
struct Figures {
    detection: Vec<f64>,
    seen: Vec<f64>,
    fan_out: Vec<f64>,
    missed: usize,
}

impl Figures {
    fn add(&mut self, flip: Timestamp, round: &[Seen]) {
        let ms = |from: Timestamp, to: Timestamp| to.duration_since(from).as_secs_f64() * 1000.0;
        if let Some(first) = round.first() {
            self.detection.push(ms(flip, first.at));
        }
        for event in round {
            self.seen.push(ms(flip, event.received));
            self.fan_out.push(ms(event.at, event.received));
        }
        self.missed += CLIENTS - round.len();
    }

    fn print(mut self) {
        let target = TARGET.as_secs_f64() * 1000.0;
        let detection = Quantiles::of(&mut self.detection);
        let seen = Quantiles::of(&mut self.seen);
        let fan_out = Quantiles::of(&mut self.fan_out);
        let within = |values: &[f64]| values.iter().filter(|&&ms| ms <= target).count();
        let expected = CLIENTS * ROUNDS;
        println!("{:<40}{:>10}{:>10}{:>10}{:>24}", "", "p50", "p99", "max", "within 1 s");
        detection.print("detection: at - flip (baseline)", &format!("{}/{ROUNDS} flips", within(&self.detection)));
        seen.print("a client sees it: received - flip", &format!("{}/{expected} clients", within(&self.seen)));
        fan_out.print("fan-out: received - at", &format!("{}/{expected} clients", within(&self.fan_out)));
        println!(
            "seen / detection: {:.3}x at p50, {:.3}x at p99 (fan-out adds {:.1} ms at p50, {:.1} ms at p99); \
             events that never came (each round waits {} s): {}",
            seen.p50 / detection.p50,
            seen.p99 / detection.p99,
            fan_out.p50,
            fan_out.p99,
            PATIENCE.as_secs(),
            self.missed,
        );
    }
}

#[derive(Debug)]
struct Quantiles {
    p50: f64,
    p99: f64,
    max: f64,
}

impl Quantiles {
    fn of(values: &mut [f64]) -> Quantiles {
        values.sort_by(f64::total_cmp);
        // The value at or below which `percent` of them lie.
        let at = |percent: usize| values.get((values.len() * percent).div_ceil(100).saturating_sub(1)).copied();
        Quantiles {
            p50: at(50).unwrap_or(f64::NAN),
            p99: at(99).unwrap_or(f64::NAN),
            max: values.last().copied().unwrap_or(f64::NAN),
        }
    }

    fn print(&self, name: &str, within: &str) {
        println!("{name:<40}{:>7.1} ms{:>7.1} ms{:>7.1} ms{within:>24}", self.p50, self.p99, self.max);
    }
}

/// The port the check probes: listening (up) or only bound (down, so a
/// connection is refused and nobody else takes the port).
struct Target {
    address: SocketAddr,
    closed: Option<TcpSocket>,
    accepting: Option<JoinHandle<()>>,
}

impl Target {
    fn new() -> Target {
        let socket = Target::bound(SocketAddr::from(([127, 0, 0, 1], 0)));
        Target { address: socket.local_addr().expect("the target's address"), closed: Some(socket), accepting: None }
    }

    fn bound(address: SocketAddr) -> TcpSocket {
        let socket = TcpSocket::new_v4().expect("a socket");
        // Connections the target closed linger in TIME_WAIT on its port.
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket.bind(address).expect("bind the target's port");
        socket
    }

    /// Listens, accepting and closing every connection.
    fn open(&mut self) {
        let listener = self.closed.take().expect("the target is down").listen(1024).expect("listen");
        self.accepting = Some(tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        }));
    }

    /// Stops listening; the port stays ours.
    async fn close(&mut self) {
        let accepting = self.accepting.take().expect("the target is up");
        accepting.abort();
        // Aborted is the expected end; the listener is gone once it returns.
        let _ = accepting.await;
        self.closed = Some(Target::bound(self.address));
    }
}

/// `runwell serve` with the benchmark's runbook, killed when dropped.
struct Server {
    child: Child,
    address: SocketAddr,
}

impl Server {
    fn start(dir: &std::path::Path, target: SocketAddr) -> Server {
        std::fs::create_dir(dir.join("runbooks")).expect("create the runbooks directory");
        std::fs::write(
            dir.join("runbooks/live.md"),
            format!("---\nrunbook: live\n---\n# Live\n\n```checks\n- name: {CHECK}\n  tcp: \"{target}\"\n```\n"),
        )
        .expect("write the runbook");
        std::fs::write(
            dir.join("runwell.toml"),
            format!(
                "listen = \"127.0.0.1:0\"\nrunbooks = [\"runbooks/\"]\ndatabase = \"journal.db\"\n\n[scheduler]\n\
                 interval = \"{}s\"\njitter = 0\nfail_threshold = 1\nsuccess_threshold = 1\n",
                INTERVAL.as_secs()
            ),
        )
        .expect("write the configuration");
        let mut child = Command::new(env!("CARGO_BIN_EXE_runwell"))
            .args(["serve", "--config", "runwell.toml"])
            .current_dir(dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start runwell serve");
        // Its first line says where it listens: the port it was given.
        let mut stdout = BufReader::new(child.stdout.take().expect("the server's stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("its address");
        // The rest is read and dropped: a closed pipe would stop the server at its next line.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let address = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|address| address.parse().ok())
            .unwrap_or_else(|| panic!("runwell serve did not start: it said {line:?}"));
        Server { child, address }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Polls `GET /api/checks` until the check's confirmed state is `state`.
    async fn wait_for_state(&self, http: &reqwest::Client, state: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let body = http.get(self.url("/api/checks")).send().await.and_then(reqwest::Response::error_for_status);
            let checks: Option<serde_json::Value> = match body {
                Ok(response) => response.bytes().await.ok().and_then(|body| serde_json::from_slice(&body).ok()),
                Err(_) => None,
            };
            if checks.is_some_and(|checks| checks[0]["state"] == state) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "the check never became {state}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Its resident set, from `/proc`.
    fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kb = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
        kb.map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two descriptors per client (its socket here and the server's, which
/// inherits this limit), and some to spare: the soft limit goes up to the
/// hard one.
fn raise_open_files() {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    let needed = CLIENTS as u64 + 256;
    if soft < needed {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("raise RLIMIT_NOFILE to its hard limit");
    }
    assert!(
        hard >= needed,
        "{CLIENTS} clients need {needed} open files, but the hard limit is {hard}: raise it (`ulimit -Hn`) as root"
    );
}
