//! The push gateway's push path, as far as its runbook's incidents need it:
//! the client-events subscriber (a consumer group on the stream the env
//! file names, read with `XREADGROUP` and acknowledged with `XACK`) and the
//! `SubscribeEvents` streams it fans entries out to. Each stream has a
//! bounded in-memory queue; when its client reads too slowly the queue
//! fills and the gateway closes that stream alone with `RESOURCE_EXHAUSTED`
//! `push stream overflowed`, as the real one does.
//!
//! A stream here is a TCP connection to the gRPC port whose first line is
//! `SUBSCRIBE USER_ID [DEVICE_SESSION_ID]`; the gateway answers a
//! `gateway.server_time` bootstrap line, then one line per push. The real
//! gateway speaks gRPC; what the runbook needs is the same back-pressure: a
//! client that stops reading fills its socket, then its queue.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::personas::log;
use crate::resp::{Reply, call};
use crate::serve::Service;

/// The consumer group the gateway reads both streams with.
pub const GROUP: &str = "push-gateway";

/// This process's name in the group.
const CONSUMER: &str = "gateway-1";

/// Pushes a stream may have queued before it counts as overflowed.
const QUEUE: usize = 64;

/// The client-events stream the env file named at start.
static CLIENT_STREAM: OnceLock<String> = OnceLock::new();

/// The open `SubscribeEvents` streams.
static STREAMS: Mutex<Vec<PushStream>> = Mutex::new(Vec::new());

static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

struct PushStream {
    id: u64,
    user: String,
    session: Option<String>,
    queue: mpsc::Sender<String>,
    closed: CancellationToken,
}

/// Remembers the client-events stream `GATEWAY_CLIENT_EVENTS_REDIS_STREAM` names.
pub fn configure(client_stream: Option<&str>) {
    let _ = CLIENT_STREAM.set(client_stream.unwrap_or("gateway:client-events").to_owned());
}

pub fn client_stream() -> &'static str {
    CLIENT_STREAM.get().map_or("gateway:client-events", String::as_str)
}

/// How many `SubscribeEvents` streams are open.
pub fn open_streams() -> usize {
    STREAMS.lock().map(|s| s.len()).unwrap_or_default()
}

/// The gRPC port: each connection that subscribes is a push stream; one
/// that sends nothing (a port probe) is held until it closes.
pub async fn push_streams(listener: TcpListener, service: Arc<Service>) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(subscribe(stream, service.clone()));
    }
}

async fn subscribe(stream: TcpStream, service: Arc<Service>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let Ok(Some(first)) = lines.next_line().await else { return };
    let mut words = first.split_whitespace();
    let (Some("SUBSCRIBE"), Some(user)) = (words.next(), words.next()) else { return };
    let (user, session) = (user.to_owned(), words.next().map(str::to_owned));
    let (queue, mut pushes) = mpsc::channel(QUEUE);
    let closed = CancellationToken::new();
    let id = NEXT_STREAM.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut streams) = STREAMS.lock() {
        streams.push(PushStream { id, user: user.clone(), session, queue, closed: closed.clone() });
    }
    log(&service, &format!("SubscribeEvents stream {id} opened for user_id={user}"));
    let bootstrap = format!("gateway.server_time {}\n", jiff::Timestamp::now());
    let _ = write.write_all(bootstrap.as_bytes()).await;
    loop {
        tokio::select! {
            () = closed.cancelled() => break,
            push = pushes.recv() => {
                let Some(push) = push else { break };
                tokio::select! {
                    () = closed.cancelled() => break,
                    written = write.write_all(push.as_bytes()) => if written.is_err() { break },
                }
            }
            line = lines.next_line() => if !matches!(line, Ok(Some(_))) { break },
        }
    }
    // Still registered: the client went away, not the gateway's doing.
    let ours = STREAMS.lock().ok().and_then(|mut streams| {
        let at = streams.iter().position(|s| s.id == id)?;
        Some(streams.remove(at))
    });
    if ours.is_some() {
        count(&service, "stream_closed_cancelled");
        log(&service, &format!("SubscribeEvents stream {id} for user_id={user} ended: CANCELLED by the client"));
    }
}

/// Queues `push` on each open stream of `user` (only `session`'s, when the
/// entry names one); a stream whose queue is full is closed. Returns how
/// many streams took it.
fn fan_out(service: &Service, user: &str, session: Option<&str>, push: &str) -> usize {
    let mut delivered = 0;
    let mut overflowed = Vec::new();
    if let Ok(mut streams) = STREAMS.lock() {
        streams.retain(|stream| {
            if stream.user != user || session.is_some_and(|s| stream.session.as_deref() != Some(s)) {
                return true;
            }
            match stream.queue.try_send(push.to_owned()) {
                Ok(()) => {
                    delivered += 1;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    stream.closed.cancel();
                    overflowed.push(stream.id);
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }
    for id in overflowed {
        count(service, "stream_closed_overflow");
        log(
            service,
            &format!(
                "SubscribeEvents stream {id} for user_id={user} closed: RESOURCE_EXHAUSTED push stream overflowed \
                 ({QUEUE} pushes queued, the client is not reading)"
            ),
        );
    }
    delivered
}

/// The client-events subscriber: reads what the group has not seen yet,
/// fans each entry out and acknowledges it; drops entries without a user
/// or an event type as malformed. Does nothing while stalled.
pub async fn consume(service: &Service) {
    let Some((port, password)) = &service.redis else { return };
    let stream = client_stream();
    while !service.stalled.load(Ordering::Relaxed) {
        let read = ["XREADGROUP", "GROUP", GROUP, CONSUMER, "COUNT", "200", "STREAMS", stream, ">"];
        let Some(reply) = call(*port, password.as_deref(), &read).await else { return };
        let entries = entries(&reply);
        if entries.is_empty() {
            return;
        }
        for (id, fields) in &entries {
            handle(service, id, fields);
        }
        let mut ack = vec!["XACK", stream, GROUP];
        ack.extend(entries.iter().map(|(id, _)| id.as_str()));
        let _ = call(*port, password.as_deref(), &ack).await;
    }
}

fn handle(service: &Service, id: &str, fields: &BTreeMap<String, String>) {
    count(service, "client_events_consumed");
    let field = |name: &str| fields.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let (Some(user), Some(kind)) = (field("user_id"), field("event_type")) else {
        let missing = if field("user_id").is_none() { "user_id" } else { "event_type" };
        count(service, "push_dropped_malformed");
        log(service, &format!("dropped malformed client event {id}: no {missing}"));
        return;
    };
    let session = field("device_session_id");
    let push = format!("{kind} {id} {}\n", field("payload").unwrap_or("{}"));
    let delivered = fan_out(service, user, session, &push);
    if let Ok(mut counters) = service.counters.lock() {
        *counters.entry("push_delivered".into()).or_default() +=
            f64::from(u32::try_from(delivered).unwrap_or(u32::MAX));
    }
    log(service, &format!("consumed client event {id} {kind} for user_id={user}: delivered to {delivered} stream(s)"));
}

fn count(service: &Service, counter: &str) {
    if let Ok(mut counters) = service.counters.lock() {
        *counters.entry(counter.into()).or_default() += 1.0;
    }
}

/// The entries of an `XREADGROUP` reply: `[[stream, [[id, [field, value, …]], …]]]`.
fn entries(reply: &Reply) -> Vec<(String, BTreeMap<String, String>)> {
    let Reply::Array(streams) = reply else { return Vec::new() };
    let mut found = Vec::new();
    for stream in streams {
        let Reply::Array(parts) = stream else { continue };
        let Some(Reply::Array(items)) = parts.get(1) else { continue };
        for item in items {
            let Reply::Array(entry) = item else { continue };
            let (Some(Reply::Bulk(id)), Some(Reply::Array(pairs))) = (entry.first(), entry.get(1)) else { continue };
            let text = |r: &Reply| if let Reply::Bulk(t) = r { t.clone() } else { String::new() };
            let fields = pairs.chunks(2).filter(|p| p.len() == 2).map(|p| (text(&p[0]), text(&p[1]))).collect();
            found.push((id.clone(), fields));
        }
    }
    found
}
