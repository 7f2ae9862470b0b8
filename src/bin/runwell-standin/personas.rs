//! What each stand-in service answers: the JSON the examples' `expect:`
//! expressions read, the Prometheus series their `metric` checks select, and
//! the admin endpoints their procedures call. Health endpoints that depend on
//! Redis or PostgreSQL really ask them, so stopping a real part turns its
//! dependants unhealthy, as on a real host.

use std::fmt::Write as _;
use std::fs;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde_json::{Value, json};

use crate::resp::{Reply, call, ping};
use crate::serve::{Service, Shared, port_open};

/// Tornado's microservices that keep a pid file beside the master's.
const TORNADO_SERVICES: [&str; 5] = ["auth", "session", "ipam", "wg-manager", "key-rotator"];

/// The Redis set of unallocated tunnel addresses (the example's `ipam_pool_key`).
const IPAM_POOL: &str = "tornado:ipam:free";

/// A key the IPAM service keeps in Redis to notice Redis lost its data.
const IPAM_MARKER: &str = "tornado:ipam:initialised";

/// The image the template's app runs: its deployment's newest revision when
/// it started (`kubectl set image` and `rollout undo` write it, then restart).
static APP_IMAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The streams the push gateway reads; it creates them (with its consumer group) on start.
const GATEWAY_STREAMS: [&str; 2] = ["gateway:session-events", "gateway:client-events"];

pub fn routes(persona: &str, role: &str) -> Router<Shared> {
    match (persona, role) {
        ("tornado", "admin") => Router::new()
            .route("/health", get(tornado_health))
            .route("/relay/health", bearer(json!({"status": "ok", "circuits": 3})))
            .route(
                "/services/status",
                bearer(json!({"auth": "running", "session": "running", "ipam": "running",
                "wg-manager": "running", "tor-manager": "running", "key-rotator": "running", "log": "running"})),
            )
            .route("/sessions/config", bearer(json!({"heartbeat_interval": 30, "heartbeat_ttl": 90})))
            .route(
                "/keys/rotation",
                bearer(json!({"current_key_id": "jwt-current", "overlap_seconds": 3600, "last_rotation": "ok"})),
            )
            .route("/services/wg-manager/restart", post(restart_wg_manager)),
        ("tornado", "client") => Router::new().route("/health", get(|| async { Json(json!({"status": "ok"})) })),
        ("push-gateway", "public") => Router::new()
            .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
            // Process-local, as the real gateway's: it does not ask Redis after start-up.
            .route("/readyz", get(|| async { Json(json!({"status": "ready"})) })),
        ("push-gateway", "admin") => Router::new().route("/metrics", get(metrics)),
        ("axiomdb-gateway", _) => Router::new()
            .route("/health", get(axiomdb_health))
            .route("/api/branches/{id}/migrations/run", post(migration_queued))
            .route("/api/branches/{id}/network-grants", post(grant_added)),
        ("axiomdb-ops", _) => Router::new().route("/api/health", get(|| async { Json(json!({"status": "ok"})) })),
        ("sentinel-proxy", "proxy") => Router::new()
            .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
            .route("/ready", get(|| async { Json(json!({"status": "ready"})) }))
            .fallback(crate::sentinel::proxied),
        ("sentinel-proxy", "admin") => Router::new()
            .route("/metrics", get(metrics))
            .route("/admin/upstreams/{upstream}/health", get(crate::sentinel::upstream_health))
            .route("/admin/upstreams/{upstream}/check", post(crate::sentinel::upstream_health)),
        ("api-backend", _) => Router::new()
            .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
            .fallback(|| async { "answered by api-backend\n" }),
        ("app", _) => Router::new()
            .route("/health/live", get(|| async { Json(json!({"status": "alive"})) }))
            .route("/health/ready", get(app_ready))
            .route("/health/db", get(app_db))
            .route("/api/orders", get(app_orders)),
        _ => Router::new(),
    }
}

/// What a service does before it listens: the Tornado WireGuard manager
/// brings its interfaces up; the push gateway creates its streams.
pub async fn on_start(service: &Service) -> anyhow::Result<()> {
    log(service, "started");
    match service.persona.as_str() {
        "tornado" => {
            fs::write(service.dir.join("run/wg-interfaces"), "wg0 wg1\n")?;
            // One process plays every microservice: each has its pid file,
            // which the key rotator signals.
            // The lab writes the master's pid file there only once this process runs.
            let pid_dir = service.dir.join("run/tornado");
            fs::create_dir_all(&pid_dir)?;
            for name in TORNADO_SERVICES {
                fs::write(pid_dir.join(format!("{name}.pid")), format!("{}\n", std::process::id()))?;
            }
            log(service, "key-rotator: rotation ok, current key jwt-current, overlap 3600 s");
            // The session service's log lines the sessions incident counts.
            for (session, reason) in [("4f1c", "heartbeat_lost"), ("9a0e", "heartbeat_lost"), ("b7d2", "hard_cleanup")]
            {
                log(service, &format!("session-service: session {session} ended reason={reason}"));
            }
            rebuild_ipam_pool(service, true).await;
        }
        "sentinel-proxy" => crate::sentinel::load_targets(service)?,
        "app" => {
            let (revision, image) = crate::shims::revisions(&service.dir, "app").pop().unwrap_or_default();
            log(service, &format!("level=info msg=\"serving release {image} (revision {revision})\""));
            let _ = APP_IMAGE.set(image);
        }
        "push-gateway" => {
            gateway_config(service)?;
            ensure_streams(service).await;
        }
        _ => {}
    }
    Ok(())
}

/// The push gateway's start-up checks on `etc/gateway.env`, which fail fast
/// as the real ones do: removed settings are refused, and the response
/// signer key must be a PKCS#8 Ed25519 key (`openssl pkey` says which it is).
fn gateway_config(service: &Service) -> anyhow::Result<()> {
    let env = fs::read_to_string(service.dir.join("etc/gateway.env"))?;
    let setting = |name: &str| env.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix('='));
    for removed in ["GATEWAY_REDIS_TLS_ENABLED", "GATEWAY_REDIS_USERNAME"] {
        if setting(removed).is_some() {
            log(service, &format!("startup failed: `{removed}` is no longer accepted"));
            anyhow::bail!("`{removed}` is no longer accepted");
        }
    }
    crate::gateway::configure(setting("GATEWAY_CLIENT_EVENTS_REDIS_STREAM"));
    let key = setting("GATEWAY_RESPONSE_SIGNER_PRIVATE_KEY_PEM_PATH").unwrap_or_default();
    let output = std::process::Command::new("openssl").args(["pkey", "-noout", "-text", "-in", key]).output()?;
    if !String::from_utf8_lossy(&output.stdout).starts_with("ED25519 Private-Key") {
        log(service, &format!("startup failed: cannot load the response signer key `{key}` as Ed25519"));
        anyhow::bail!("cannot load the response signer key `{key}` as Ed25519");
    }
    Ok(())
}

/// Keeps doing what the real service keeps doing: the gateway recreates its
/// streams when Redis comes back empty and consumes its client events;
/// Tornado's IPAM service refills its address pool when Redis lost it.
pub async fn background(service: std::sync::Arc<Service>) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        match service.persona.as_str() {
            "push-gateway" => {
                ensure_streams(&service).await;
                crate::gateway::consume(&service).await;
            }
            "tornado" => rebuild_ipam_pool(&service, false).await,
            _ => {}
        }
    }
}

/// SIGHUP: reread the configuration. Sentinel validates it, keeps the
/// previous one when it does not validate, counts the outcome and logs it
/// in its own words (`Configuration reload completed`).
pub fn reload(service: &Service) {
    let outcome = match &service.config {
        Some(config) => {
            match fs::read_to_string(config).map_err(|e| e.to_string()).and_then(|t| crate::shims::validate_kdl(&t)) {
                Ok(()) => "success",
                Err(error) => {
                    log(
                        service,
                        &format!("ERROR Configuration reload failed: {error}; keeping the previous configuration"),
                    );
                    "failure"
                }
            }
        }
        None => "success",
    };
    if let Ok(mut counters) = service.counters.lock() {
        *counters.entry(format!("reload_{outcome}")).or_default() += 1.0;
    }
    if service.persona == "sentinel-proxy" {
        if outcome == "success" {
            let _ = crate::sentinel::load_targets(service);
            log(service, "INFO Configuration reload completed");
        }
    } else {
        log(service, &format!("reload: {outcome}"));
    }
}

/// A line in the service's log (Sentinel's log file; the lab's log for the others).
pub fn log(service: &Service, message: &str) {
    let path = if service.persona == "sentinel-proxy" {
        service.dir.join("log/sentinel/sentinel.log")
    } else {
        service.dir.join("log").join(format!("{}.log", service.persona))
    };
    if let Ok(mut file) = fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = std::io::Write::write_all(&mut file, format!("{} {message}\n", jiff::Timestamp::now()).as_bytes());
    }
}

/// The IPAM service fills its free address pool when it starts and when
/// Redis lost its data (its marker key is gone: a restart without
/// persistence). A pool emptied while Redis kept running (leaked
/// addresses) stays empty until Tornado restarts, as the runbook says.
async fn rebuild_ipam_pool(service: &Service, starting: bool) {
    let Some((port, password)) = &service.redis else { return };
    // `OK` when the marker was missing (and is set now); nil when it was there.
    let marked = call(*port, password.as_deref(), &["SET", IPAM_MARKER, "1", "NX"]).await;
    if !starting && marked != Some(Reply::Line("OK".to_owned())) {
        return;
    }
    let addresses: Vec<String> = (2..=254).map(|host| format!("10.8.0.{host}")).collect();
    let mut command = vec!["SADD", IPAM_POOL];
    command.extend(addresses.iter().map(String::as_str));
    let _ = call(*port, password.as_deref(), &command).await;
}

async fn ensure_streams(service: &Service) {
    let Some((port, password)) = &service.redis else { return };
    for stream in GATEWAY_STREAMS {
        // Refused (`BUSYGROUP`) when the group is there already: nothing to do.
        let _ = call(*port, password.as_deref(), &["XGROUP", "CREATE", stream, crate::gateway::GROUP, "$", "MKSTREAM"])
            .await;
    }
}

async fn redis_ok(service: &Service) -> bool {
    let Some((port, password)) = &service.redis else { return true };
    ping(*port, password.as_deref()).await
}

async fn postgres_ok(service: &Service) -> bool {
    match service.postgres {
        Some(port) => port_open(port).await,
        None => true,
    }
}

fn word(up: bool) -> &'static str {
    if up { "connected" } else { "disconnected" }
}

async fn tornado_health(State(shared): State<Shared>) -> Response {
    let (pg, redis) = (postgres_ok(&shared.service).await, redis_ok(&shared.service).await);
    if pg && redis {
        Json(json!({"status": "healthy"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "degraded", "postgres": word(pg), "redis": word(redis)})),
        )
            .into_response()
    }
}

/// A GET route that answers `body` to the admin token's bearer only.
fn bearer(body: Value) -> MethodRouter<Shared> {
    get(move |State(shared): State<Shared>, headers: HeaderMap| {
        let body = body.clone();
        async move { authorized(&shared, &headers, body) }
    })
}

async fn migration_queued(Path(id): Path<String>) -> Response {
    (StatusCode::ACCEPTED, Json(json!({"branch": id, "status": "queued"}))).into_response()
}

async fn grant_added(Path(id): Path<String>) -> Response {
    (StatusCode::CREATED, Json(json!({"branch": id, "status": "granted"}))).into_response()
}

fn authorized(shared: &Shared, headers: &HeaderMap, body: Value) -> Response {
    let expected = shared.service.admin_token.as_deref().map(|t| format!("Bearer {t}"));
    let given = headers.get("authorization").and_then(|v| v.to_str().ok());
    if expected.is_some() && given == expected.as_deref() {
        Json(body).into_response()
    } else {
        (StatusCode::UNAUTHORIZED, Json(json!({"error": "missing or wrong bearer token"}))).into_response()
    }
}

async fn restart_wg_manager(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let response = authorized(&shared, &headers, json!({"status": "restarting"}));
    if response.status() != StatusCode::OK {
        return response;
    }
    match fs::write(shared.service.dir.join("run/wg-interfaces"), "wg0 wg1\n") {
        Ok(()) => {
            (StatusCode::ACCEPTED, Json(json!({"service": "wg-manager", "status": "restarting"}))).into_response()
        }
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": error.to_string()}))).into_response(),
    }
}

async fn axiomdb_health(State(shared): State<Shared>) -> Response {
    let (pg, redis) = (postgres_ok(&shared.service).await, redis_ok(&shared.service).await);
    let body = json!({"status": if pg && redis { "healthy" } else { "degraded" }, "version": "1.2.3", "postgres": word(pg), "redis": word(redis)});
    let status = if pg && redis { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

async fn app_ready(State(shared): State<Shared>) -> Response {
    let (pg, redis) = (postgres_ok(&shared.service).await, redis_ok(&shared.service).await);
    if pg && redis {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "database": word(pg), "cache": word(redis)})),
        )
            .into_response()
    }
}

async fn app_db(State(shared): State<Shared>) -> Response {
    let started = Instant::now();
    if postgres_ok(&shared.service).await {
        let latency = (started.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
        Json(json!({"status": "ok", "latency_ms": latency})).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "down"}))).into_response()
    }
}

/// The template app's one API route, what users call. A release whose image
/// tag ends in `-bad` plays a deploy with a bug: its query names a column no
/// migration added, so every request fails with a 500 and an error in the
/// log, while the health endpoints stay green — as a real bad deploy does.
async fn app_orders(State(shared): State<Shared>) -> Response {
    let image = APP_IMAGE.get().map_or("", String::as_str);
    if image.ends_with("-bad") {
        log(
            &shared.service,
            &format!(
                "level=error msg=\"GET /api/orders failed\" release={image} error=\"column orders.region does not exist\""
            ),
        );
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": "internal server error"}))).into_response();
    }
    if postgres_ok(&shared.service).await {
        Json(json!({"orders": [], "release": image})).into_response()
    } else {
        log(&shared.service, "level=error msg=\"GET /api/orders failed\" error=\"database unreachable\"");
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"error": "database unreachable"}))).into_response()
    }
}

/// Prometheus text exposition of the service's series, with the fault's overrides.
async fn metrics(State(shared): State<Shared>) -> Response {
    let counters = shared.service.counters.lock().map(|c| c.clone()).unwrap_or_default();
    let count = |name: &str| counters.get(name).copied().unwrap_or(0.0);
    let series: Vec<(&str, &str, String, f64)> = if shared.service.persona == "sentinel-proxy" {
        // The breaker opens while the pool has no healthy target.
        let healthy = f64::from(u8::from(crate::sentinel::pool_healthy().await));
        vec![
            ("sentinel_upstream_health", "gauge", "upstream=\"api-backend\"".into(), healthy),
            ("sentinel_circuit_breaker_state", "gauge", "upstream=\"api-backend\"".into(), 1.0 - healthy),
            (
                "sentinel_requests_total",
                "counter",
                "upstream=\"api-backend\",status=\"200\"".into(),
                count("requests_2xx"),
            ),
            (
                "sentinel_requests_total",
                "counter",
                "upstream=\"api-backend\",status=\"502\"".into(),
                count("requests_502"),
            ),
            ("sentinel_config_reloads_total", "counter", "result=\"success\"".into(), count("reload_success")),
            ("sentinel_config_reloads_total", "counter", "result=\"failure\"".into(), count("reload_failure")),
        ]
    } else {
        let open = f64::from(u32::try_from(crate::gateway::open_streams()).unwrap_or(u32::MAX));
        vec![
            ("gateway_client_events_consumed_total", "counter", String::new(), count("client_events_consumed")),
            ("gateway_push_delivered_total", "counter", String::new(), count("push_delivered")),
            ("gateway_push_dropped_total", "counter", "reason=\"malformed\"".into(), count("push_dropped_malformed")),
            ("gateway_stream_subscribers", "gauge", String::new(), open),
            ("gateway_stream_closed_total", "counter", "reason=\"overflow\"".into(), count("stream_closed_overflow")),
            ("gateway_stream_closed_total", "counter", "reason=\"cancelled\"".into(), count("stream_closed_cancelled")),
            ("gateway_redis_up", "gauge", String::new(), f64::from(u8::from(redis_ok(&shared.service).await))),
        ]
    };
    let overrides = shared.fault.lock().map(|f| f.metrics.clone()).unwrap_or_default();
    let mut text = String::new();
    let mut last = "";
    for (name, kind, labels, value) in &series {
        if *name != last {
            let _ = writeln!(text, "# TYPE {name} {kind}");
            last = name;
        }
        let key = if labels.is_empty() { (*name).to_owned() } else { format!("{name}{{{labels}}}") };
        let value = overrides.get(&key).copied().unwrap_or(*value);
        let _ = writeln!(text, "{key} {value}");
    }
    ([("content-type", "text/plain; version=0.0.4")], text).into_response()
}
