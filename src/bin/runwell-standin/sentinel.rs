//! Sentinel's upstream pool: the targets of the configuration it runs with
//! (read at start and at each reload that validates, kept when one does
//! not), each with its weight; the active health check; and the proxying
//! itself, over a keep-alive connection pool per target as a real proxy
//! keeps, so `ss` on the host sees the connections a drain waits for.
//!
//! A target of weight 0 gets no new requests and its pool is dropped at
//! the reload: its idle connections close, and one that carries a request
//! closes when the request ends.

use std::collections::BTreeMap;
use std::fs;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::personas::log;
use crate::serve::{Service, Shared};

#[derive(Debug, Clone)]
struct Target {
    address: String,
    weight: u32,
}

static TARGETS: Mutex<Vec<Target>> = Mutex::new(Vec::new());

/// Each target's connection pool (a client per target, so dropping it closes that target's connections).
static POOLS: Mutex<BTreeMap<String, reqwest::Client>> = Mutex::new(BTreeMap::new());

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Reads `target "HOST:PORT" [weight=N]` lines (weight 1 when not given)
/// and drops the pools of targets that are gone or weigh 0.
pub fn load_targets(service: &Service) -> anyhow::Result<()> {
    let Some(config) = &service.config else { return Ok(()) };
    let text = fs::read_to_string(config)?;
    let targets: Vec<Target> = text
        .lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("target \"")?;
            let (address, rest) = rest.split_once('"')?;
            let weight = rest.split_whitespace().find_map(|w| w.strip_prefix("weight=")?.parse().ok()).unwrap_or(1);
            Some(Target { address: address.to_owned(), weight })
        })
        .collect();
    if let Ok(mut pools) = POOLS.lock() {
        pools.retain(|address, _| targets.iter().any(|t| &t.address == address && t.weight > 0));
    }
    if let Ok(mut loaded) = TARGETS.lock() {
        *loaded = targets;
    }
    Ok(())
}

/// Each target, its weight and whether it accepts a connection now:
/// Sentinel's active health check.
async fn probe_targets() -> Vec<(Target, bool)> {
    let targets = TARGETS.lock().map(|t| t.clone()).unwrap_or_default();
    let mut probed = Vec::new();
    for target in targets {
        let connect = tokio::net::TcpStream::connect(target.address.clone());
        let up = matches!(tokio::time::timeout(Duration::from_millis(500), connect).await, Ok(Ok(_)));
        probed.push((target, up));
    }
    probed
}

/// The targets that may take a request: healthy, with a weight.
async fn serving() -> Vec<Target> {
    probe_targets().await.into_iter().filter(|(t, up)| *up && t.weight > 0).map(|(t, _)| t).collect()
}

/// The pool is healthy while one of its targets can take requests.
pub async fn pool_healthy() -> bool {
    !serving().await.is_empty()
}

/// A request through the proxy, to the serving targets in turn (by
/// weight): 502 when none answers.
pub async fn proxied(State(shared): State<Shared>, uri: axum::http::Uri) -> Response {
    let mut turns: Vec<Target> = Vec::new();
    for target in serving().await {
        turns.extend(std::iter::repeat_n(target.clone(), target.weight.min(100) as usize));
    }
    let answered = match turns.get(NEXT.fetch_add(1, Ordering::Relaxed) % turns.len().max(1)) {
        Some(target) => forward(&target.address, &uri).await,
        None => None,
    };
    if let Ok(mut counters) = shared.service.counters.lock() {
        *counters.entry(if answered.is_some() { "requests_2xx" } else { "requests_502" }.into()).or_default() += 1.0;
    }
    if let Some(body) = answered {
        return (StatusCode::OK, body).into_response();
    }
    log(&shared.service, "ERROR upstream api-backend: no healthy target; answered 502");
    (StatusCode::BAD_GATEWAY, "no healthy target in upstream api-backend\n").into_response()
}

async fn forward(address: &str, uri: &axum::http::Uri) -> Option<String> {
    let client = {
        let mut pools = POOLS.lock().ok()?;
        let client = pools.entry(address.to_owned()).or_insert_with(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().unwrap_or_default()
        });
        client.clone()
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let response = client.get(format!("http://{address}{path}")).send().await.ok()?;
    response.status().is_success().then_some(())?;
    response.text().await.ok()
}

pub async fn upstream_health(State(shared): State<Shared>, Path(upstream): Path<String>) -> Response {
    let fault = shared.fault.lock().map(|f| f.clone()).unwrap_or_default();
    let overridden = fault.metrics.get(&format!("sentinel_upstream_health{{upstream=\"{upstream}\"}}")).copied();
    let targets = probe_targets().await;
    let serving = targets.iter().any(|(t, up)| *up && t.weight > 0);
    let healthy = overridden.map_or(serving, |v| v >= 1.0);
    let targets: Vec<Value> =
        targets.iter().map(|(t, up)| json!({"address": t.address, "weight": t.weight, "healthy": up})).collect();
    Json(json!({"upstream": upstream, "healthy": healthy, "targets": targets})).into_response()
}
