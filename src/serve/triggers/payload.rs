//! Alertmanager's webhook body: what a `webhook_configs` receiver is sent
//! (format version 4, unchanged since Alertmanager 0.6).
//!
//! Reading is lenient where Alertmanager's own output varies — fields added
//! by later releases are ignored, Go's `null` for an empty map reads as an
//! empty map, an unreadable or zero time reads as no time — and strict where
//! a body that is not from Alertmanager would otherwise pass: `status`,
//! `alerts` and each alert's `status` and `labels` must be there.
//!
//! How large a body may be is the router's business (a body limit); nothing
//! here bounds the number of alerts.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};

/// Label or annotation names and their values, sorted by name.
pub type Labels = BTreeMap<String, String>;

/// What Alertmanager posts: one notification for a group of alerts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    /// `"4"` from every Alertmanager to date; not checked, because the
    /// fields below are what matter.
    #[serde(default, deserialize_with = "nullable")]
    pub version: String,
    /// The group this notification is for; the same for every re-send.
    #[serde(default, deserialize_with = "nullable")]
    pub group_key: String,
    /// Alerts Alertmanager left out because the receiver's `max_alerts`
    /// was reached: runwell cannot act on what it was not sent.
    #[serde(default, deserialize_with = "nullable")]
    pub truncated_alerts: u64,
    /// `firing` while any alert of the group fires.
    pub status: AlertStatus,
    /// The name of the Alertmanager receiver that sent this.
    #[serde(default, deserialize_with = "nullable")]
    pub receiver: String,
    #[serde(default, deserialize_with = "nullable")]
    pub group_labels: Labels,
    #[serde(default, deserialize_with = "nullable")]
    pub common_labels: Labels,
    #[serde(default, deserialize_with = "nullable")]
    pub common_annotations: Labels,
    #[serde(default, rename = "externalURL", deserialize_with = "nullable")]
    pub external_url: String,
    pub alerts: Vec<WebhookAlert>,
}

/// One alert of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAlert {
    pub status: AlertStatus,
    pub labels: Labels,
    #[serde(default, deserialize_with = "nullable")]
    pub annotations: Labels,
    #[serde(default, deserialize_with = "time")]
    pub starts_at: Option<Timestamp>,
    /// `None` while firing: Alertmanager sends Go's zero time then.
    #[serde(default, deserialize_with = "time")]
    pub ends_at: Option<Timestamp>,
    #[serde(default, rename = "generatorURL", deserialize_with = "nullable")]
    pub generator_url: String,
    /// Alertmanager's hash of the labels: the same alert keeps it across
    /// re-sends. Empty from senders that leave it out; see
    /// [`super::fingerprint`].
    #[serde(default, deserialize_with = "nullable")]
    pub fingerprint: String,
}

impl WebhookAlert {
    /// The `alertname` label, which every Prometheus alert has.
    pub fn alertname(&self) -> Option<&str> {
        self.labels.get("alertname").map(String::as_str)
    }
}

/// Whether an alert (or a group) is firing or has resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// Why a body is not an Alertmanager webhook payload. The reason never
/// quotes a string from the body: it could be anything, a secret included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the body is not an Alertmanager webhook payload: {reason}; runwell reads the JSON that Alertmanager's \
     `webhook_configs` send (version 4)"
)]
pub struct PayloadError {
    pub reason: String,
}

impl Payload {
    /// Reads a webhook body.
    pub fn from_json(body: &[u8]) -> Result<Payload, PayloadError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(PayloadError { reason: "it is empty".to_owned() });
        }
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            // serde would read an array as a struct's fields in order, and
            // say something about its first element.
            let reason = match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => "it is JSON, but not an object".to_owned(),
                Err(error) => format!("it is not JSON ({})", unquoted(&error.to_string())),
            };
            return Err(PayloadError { reason });
        }
        serde_json::from_slice(body).map_err(|error| {
            let what = match error.classify() {
                serde_json::error::Category::Data => "it is JSON of another shape",
                serde_json::error::Category::Io
                | serde_json::error::Category::Syntax
                | serde_json::error::Category::Eof => "it is not JSON",
            };
            PayloadError { reason: format!("{what} ({})", unquoted(&error.to_string())) }
        })
    }
}

/// The longest reason kept from the JSON parser.
pub(super) const REASON: usize = 200;

/// `message` with whatever serde quoted from the input replaced by `…`:
/// ``invalid type: string "…", expected a map at line 3 column 18``, or
/// ``unknown variant `…`, expected `firing` or `resolved` ``.
fn unquoted(message: &str) -> String {
    const VARIANT: &str = "unknown variant `";
    let mut out = match (message.find('"'), message.rfind('"')) {
        (Some(first), Some(last)) if first < last => format!("{}\"…\"{}", &message[..first], &message[last + 1..]),
        _ => match message.strip_prefix(VARIANT).and_then(|rest| rest.rfind("`, expected").map(|end| &rest[end..])) {
            Some(rest) => format!("{VARIANT}…{rest}"),
            None => message.to_owned(),
        },
    };
    if let Some((cut, _)) = out.char_indices().nth(REASON) {
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// A value that may also be JSON `null` (Go's nil map or slice): the
/// default then.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An RFC 3339 time; Go's zero time (`0001-01-01T00:00:00Z`), `null` and
/// anything unreadable are no time, because runwell only shows these.
fn time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Timestamp>, D::Error> {
    let text = Option::<serde_json::Value>::deserialize(deserializer)?;
    let time = text.as_ref().and_then(serde_json::Value::as_str).and_then(|text| text.parse::<Timestamp>().ok());
    Ok(time.filter(|time| time.as_second() > GO_ZERO_TIME))
}

/// Go's `time.Time{}` in Unix seconds: 0001-01-01T00:00:00Z.
const GO_ZERO_TIME: i64 = -62_135_596_800;
