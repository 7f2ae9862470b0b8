//! Outgoing notifications: check state changes and runs, posted to the
//! `[[notify]]` receivers (runwell's JSON, or Slack's incoming webhooks).
//!
//! Telling people must never slow down what they are told about:
//!
//! - [`Notifier::send`] never waits. Each receiver has its own bounded
//!   queue and its own task; when a queue is full the newest notice is
//!   dropped and counted. A receiver that is down or hangs costs at most its
//!   queue's memory and delays only its own notices: not the scheduler, not
//!   a run, not the other receivers. Each receiver gets its notices in the
//!   order they were sent.
//! - A delivery is one POST through the checks' HTTP client
//!   ([`crate::check::http`]: same TLS set-up, and reasons that name
//!   `host:port`, never the URL). Each attempt has 10 s; connection
//!   failures, timeouts, 5xx and 429 are tried twice more after a pause,
//!   other answers are final.
//! - What could not be delivered goes to the `on_error` callback (the
//!   server logs it), naming the receiver by its masked URL: these URLs
//!   usually carry a secret. [`Notifier::stats`] counts for `/metrics`.
//! - [`Notifier::shutdown`] delivers what is queued, within a deadline.

mod message;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use message::Notice;

use crate::check::{self, http};
use crate::serve::config::{NotifyConfig, NotifyEvent, NotifyKind};

/// Told what could not be delivered; called from the receiver's task.
pub type OnError = Arc<dyn Fn(&DeliveryError) + Send + Sync>;

/// How notices are delivered. [`Delivery::default`] is what the server uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Notices waiting per receiver before new ones are dropped.
    pub queue: usize,
    /// How long one attempt may take, answer included.
    pub timeout: Duration,
    /// The pause before each retry; its length is the number of retries.
    pub backoff: Vec<Duration>,
}

impl Default for Delivery {
    fn default() -> Delivery {
        Delivery {
            queue: 1024,
            timeout: Duration::from_secs(10),
            backoff: vec![Duration::from_secs(1), Duration::from_secs(5)],
        }
    }
}

/// A notice a receiver did not get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryError {
    /// The receiver's masked URL: `https://hooks.slack.com/********`.
    pub receiver: String,
    /// The notice's event: `run_finished`.
    pub event: &'static str,
    pub attempts: usize,
    pub reason: String,
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.attempts == 1 { "" } else { "s" };
        write!(
            f,
            "could not notify {} of {} ({} attempt{plural}): {}",
            self.receiver, self.event, self.attempts, self.reason
        )
    }
}

/// What the notifier has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Deliveries a receiver accepted (2xx).
    pub sent: u64,
    /// Deliveries given up on, each reported to `on_error`.
    pub failed: u64,
    /// Notices never tried: a full queue, or left over at shutdown.
    pub dropped: u64,
    /// Deliveries waiting or under way.
    pub queued: u64,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    queued: AtomicU64,
}

/// The server's notifier: one queue and one task per receiver.
pub struct Notifier {
    receivers: Vec<Queue>,
    shared: Arc<Shared>,
    closing: CancellationToken,
    workers: Mutex<JoinSet<()>>,
}

/// What every receiver's task uses.
struct Shared {
    public_url: Option<Url>,
    on_error: OnError,
    delivery: Delivery,
    clients: http::Clients,
    counters: Counters,
}

#[derive(Debug)]
struct Queue {
    events: Vec<NotifyEvent>,
    sender: mpsc::Sender<Arc<Notice>>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("receivers", &self.receivers.len())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// Starts one task per receiver; call it inside the tokio runtime.
    /// `public_url` puts a dashboard link in each notice.
    pub fn new(receivers: Vec<NotifyConfig>, public_url: Option<Url>, on_error: OnError) -> Notifier {
        Notifier::with_delivery(receivers, public_url, on_error, Delivery::default())
    }

    pub fn with_delivery(
        receivers: Vec<NotifyConfig>,
        public_url: Option<Url>,
        on_error: OnError,
        delivery: Delivery,
    ) -> Notifier {
        let shared = Arc::new(Shared {
            public_url,
            on_error,
            delivery,
            clients: http::Clients::default(),
            counters: Counters::default(),
        });
        let closing = CancellationToken::new();
        let mut workers = JoinSet::new();
        let receivers = receivers
            .into_iter()
            .map(|config| {
                let (sender, queue) = mpsc::channel(shared.delivery.queue.max(1));
                let events = config.events.clone();
                let worker = Worker { config, shared: Arc::clone(&shared) };
                workers.spawn(worker.run(queue, closing.clone()));
                Queue { events, sender }
            })
            .collect();
        Notifier { receivers, shared, closing, workers: Mutex::new(workers) }
    }

    /// Queues `notice` for every receiver that wants its event. Never
    /// waits: a receiver whose queue is full does not get it (counted in
    /// [`Stats::dropped`]).
    pub fn send(&self, notice: Notice) {
        let event = notice.event();
        let notice = Arc::new(notice);
        for receiver in self.receivers.iter().filter(|receiver| receiver.events.contains(&event)) {
            // Counted before it can be delivered, so `queued` never goes below 0.
            self.shared.counters.queued.fetch_add(1, Ordering::Relaxed);
            if receiver.sender.try_send(Arc::clone(&notice)).is_err() {
                self.shared.counters.queued.fetch_sub(1, Ordering::Relaxed);
                self.shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn stats(&self) -> Stats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let counters = &self.shared.counters;
        Stats {
            sent: get(&counters.sent),
            failed: get(&counters.failed),
            dropped: get(&counters.dropped),
            queued: get(&counters.queued),
        }
    }

    /// Stops taking notices and delivers those queued, retries included,
    /// for at most `deadline`; what is left then is dropped and counted.
    /// Takes `&self` so that a notifier shared with handlers can be shut
    /// down; later notices are dropped.
    pub async fn shutdown(&self, deadline: Duration) -> Stats {
        self.closing.cancel();
        let mut workers = std::mem::take(&mut *self.workers.lock().unwrap_or_else(PoisonError::into_inner));
        let drained = async { while workers.join_next().await.is_some() {} };
        if tokio::time::timeout(deadline, drained).await.is_err() {
            workers.shutdown().await;
        }
        let left = self.shared.counters.queued.swap(0, Ordering::Relaxed);
        self.shared.counters.dropped.fetch_add(left, Ordering::Relaxed);
        self.stats()
    }
}

/// One receiver's task.
struct Worker {
    config: NotifyConfig,
    shared: Arc<Shared>,
}

/// Why an attempt failed, and whether another may do better.
struct Attempt {
    reason: String,
    retry: bool,
}

/// Bytes of an error answer read, for the reason.
const ANSWER: usize = 1024;
/// Characters of it shown.
const SHOWN: usize = 200;

impl Worker {
    async fn run(self, mut queue: mpsc::Receiver<Arc<Notice>>, closing: CancellationToken) {
        let mut closed = false;
        loop {
            let next = tokio::select! {
                next = queue.recv() => next,
                () = closing.cancelled(), if !closed => {
                    // What is queued is still received; new notices are refused.
                    queue.close();
                    closed = true;
                    continue;
                }
            };
            let Some(notice) = next else { return };
            self.deliver(&notice).await;
            self.shared.counters.queued.fetch_sub(1, Ordering::Relaxed);
        }
    }

    async fn deliver(&self, notice: &Notice) {
        let public_url = self.shared.public_url.as_ref();
        let body = match self.config.kind {
            NotifyKind::Webhook => notice.webhook_json(public_url),
            NotifyKind::Slack => notice.slack_json(public_url),
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            let failed = match tokio::time::timeout(self.shared.delivery.timeout, self.post(&body)).await {
                Ok(Ok(())) => {
                    self.shared.counters.sent.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Ok(Err(failed)) => failed,
                Err(_) => Attempt {
                    reason: format!("no answer within {}", check::human_duration(self.shared.delivery.timeout)),
                    retry: true,
                },
            };
            match self.shared.delivery.backoff.get(attempts - 1) {
                Some(pause) if failed.retry => tokio::time::sleep(*pause).await,
                _ => {
                    self.shared.counters.failed.fetch_add(1, Ordering::Relaxed);
                    let receiver = self.config.url.to_string();
                    (self.shared.on_error)(&DeliveryError {
                        receiver,
                        event: notice.name(),
                        attempts,
                        reason: failed.reason,
                    });
                    return;
                }
            }
        }
    }

    async fn post(&self, body: &str) -> Result<(), Attempt> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let request = http::Request {
            method: Method::POST,
            url: self.config.url.expose().clone(),
            headers,
            body: Some(body.to_owned()),
            follow_redirects: false,
            insecure: false,
            ca: None,
        };
        let response = http::send(&self.shared.clients, request)
            .await
            .map_err(|failure| Attempt { reason: failure.0.reason, retry: true })?;
        let status = response.status;
        if status.is_success() {
            return Ok(());
        }
        let said = match response.read_body(ANSWER, |_| {}).await {
            Ok(answer) => said(&answer.body),
            Err(_) => String::new(),
        };
        let retry = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
        Err(Attempt { reason: format!("answered {status}{said}"), retry })
    }
}

/// The start of an error answer, on one line: Slack says why in it
/// (`invalid_token`, `no_service`).
fn said(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let mut chars = text.chars();
    let mut shown: String = chars.by_ref().take(SHOWN).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if chars.next().is_some() {
        shown.push('…');
    }
    format!(": {shown}")
}
