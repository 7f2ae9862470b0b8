//! `serve`: one stand-in service process (the Tornado master, the push
//! gateway, the AxiomDB gateway and console, the Sentinel proxy, the
//! template's app). Each `--listen ROLE=PORT` is a loopback listener whose
//! routes `personas` defines.
//!
//! Every HTTP listener has a fault switch for drills, answering only on
//! loopback: `POST /_standin/fault {"status":503,"delay_ms":2000,"metrics":{"series":0}}`
//! makes its other routes answer that status after that delay (and
//! `/metrics` report those values); `{"stalled":true}` stops the service's
//! background work, as a hung worker would (the push gateway stops
//! consuming its client-events stream); `DELETE /_standin/fault` clears it;
//! `GET` shows it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use crate::personas;

#[derive(Debug, clap::Args)]
pub struct Arguments {
    /// Which service to stand in for.
    #[arg(long)]
    persona: String,
    /// The lab's directory.
    #[arg(long)]
    dir: PathBuf,
    /// `ROLE=PORT`: a listener (repeatable).
    #[arg(long = "listen", value_parser = parse_listen)]
    listen: Vec<(String, u16)>,
}

fn parse_listen(text: &str) -> Result<(String, u16), String> {
    let (role, port) = text.split_once('=').ok_or("expected ROLE=PORT")?;
    Ok((role.to_owned(), port.parse().map_err(|_| format!("`{port}` is not a port"))?))
}

/// What a stand-in knows about itself and the servers it depends on.
#[derive(Debug)]
pub struct Service {
    pub persona: String,
    pub dir: PathBuf,
    pub redis: Option<(u16, Option<String>)>,
    pub postgres: Option<u16>,
    pub admin_token: Option<String>,
    pub config: Option<PathBuf>,
    pub counters: Mutex<BTreeMap<String, f64>>,
    /// The fault switch's `stalled`: background work stops until it is cleared or the process restarts.
    pub stalled: AtomicBool,
}

/// A listener's state: its service and its own fault switch.
#[derive(Debug, Clone)]
pub struct Shared {
    pub service: Arc<Service>,
    pub fault: Arc<Mutex<Fault>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Fault {
    /// Answer every route with this status.
    #[serde(default)]
    pub status: Option<u16>,
    /// Wait this long before answering.
    #[serde(default)]
    pub delay_ms: u64,
    /// `/metrics` reports these values for these series (`name{label="v"}`).
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// Stop the service's background work (it stays stopped until cleared).
    #[serde(default)]
    pub stalled: bool,
}

pub fn run(arguments: &Arguments) -> anyhow::Result<()> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let service = Arc::new(Service {
        persona: arguments.persona.clone(),
        dir: arguments.dir.clone(),
        redis: env("STANDIN_REDIS").and_then(|p| p.parse().ok()).map(|p| (p, env("STANDIN_REDIS_PASSWORD"))),
        postgres: env("STANDIN_POSTGRES").and_then(|p| p.parse().ok()),
        admin_token: env("STANDIN_ADMIN_TOKEN"),
        config: env("STANDIN_CONFIG").map(PathBuf::from),
        counters: Mutex::new(BTreeMap::new()),
        stalled: AtomicBool::new(false),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        personas::on_start(&service).await?;
        let mut tasks = tokio::task::JoinSet::new();
        for (role, port) in &arguments.listen {
            let listener = TcpListener::bind(("127.0.0.1", *port)).await?;
            if role == "grpc" && service.persona == "push-gateway" {
                tasks.spawn(crate::gateway::push_streams(listener, service.clone()));
                continue;
            }
            if role == "grpc" {
                tasks.spawn(hold_connections(listener));
                continue;
            }
            let shared = Shared { service: service.clone(), fault: Arc::default() };
            let app = app(personas::routes(&service.persona, role), shared);
            tasks.spawn(async move {
                let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
            });
        }
        tasks.spawn(personas::background(service.clone()));
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        loop {
            tokio::select! {
                _ = hangup.recv() => personas::reload(&service),
                _ = tasks.join_next() => anyhow::bail!("a listener stopped"),
            }
        }
    })
}

/// A listener's router with the fault switch in front of its routes.
pub fn app(routes: Router<Shared>, shared: Shared) -> Router {
    routes
        .layer(middleware::from_fn_with_state(shared.clone(), apply_fault))
        .route("/_standin/fault", get(show_fault).post(set_fault).delete(clear_fault))
        .with_state(shared)
}

async fn apply_fault(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let fault = shared.fault.lock().map(|f| f.clone()).unwrap_or_default();
    if fault.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
    }
    if let Some(status) = fault.status.and_then(|s| StatusCode::from_u16(s).ok()) {
        let body = serde_json::json!({"status": "fault", "error": "fault injected by runwell-standin"});
        return (status, Json(body)).into_response();
    }
    next.run(request).await
}

/// The refusal for a peer that is not on loopback (the listeners bind
/// 127.0.0.1, so this guards against a future change of that).
fn loopback_only(peer: SocketAddr) -> Option<Response> {
    (!peer.ip().is_loopback())
        .then(|| (StatusCode::FORBIDDEN, "the fault switch answers on loopback only\n").into_response())
}

async fn show_fault(ConnectInfo(peer): ConnectInfo<SocketAddr>, State(shared): State<Shared>) -> Response {
    if let Some(refused) = loopback_only(peer) {
        return refused;
    }
    Json(shared.fault.lock().map(|f| f.clone()).unwrap_or_default()).into_response()
}

async fn set_fault(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(shared): State<Shared>,
    Json(fault): Json<Fault>,
) -> Response {
    if let Some(refused) = loopback_only(peer) {
        return refused;
    }
    if let Some(status) = fault.status
        && StatusCode::from_u16(status).is_err()
    {
        return (StatusCode::UNPROCESSABLE_ENTITY, format!("{status} is not an HTTP status\n")).into_response();
    }
    shared.service.stalled.store(fault.stalled, Ordering::Relaxed);
    if let Ok(mut current) = shared.fault.lock() {
        *current = fault.clone();
    }
    Json(fault).into_response()
}

async fn clear_fault(ConnectInfo(peer): ConnectInfo<SocketAddr>, State(shared): State<Shared>) -> Response {
    if let Some(refused) = loopback_only(peer) {
        return refused;
    }
    shared.service.stalled.store(false, Ordering::Relaxed);
    if let Ok(mut current) = shared.fault.lock() {
        *current = Fault::default();
    }
    StatusCode::NO_CONTENT.into_response()
}

/// The gRPC port: accepts connections and keeps them open, reading and
/// discarding whatever arrives, as a listener that does not speak first.
async fn hold_connections(listener: TcpListener) {
    while let Ok((mut stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let mut sink = [0u8; 4096];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        });
    }
}

/// Whether a TCP port on loopback accepts a connection within half a second.
pub async fn port_open(port: u16) -> bool {
    matches!(tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(("127.0.0.1", port))).await, Ok(Ok(_)))
}
