//! `metric`: fetch a Prometheus `/metrics` page over HTTP and pick series
//! with a selector (`series: 'name{label="v",other=~"re"}'`).
//!
//! Fields: `value` (the matching series' value; with several matches, their
//! sum, so `series: 'errors_total'` over many label sets reads as the total),
//! `values` (each match as `{labels, value}`), `count` (matches). Values that
//! are not finite (`NaN`, `+Inf`) appear as those strings. A page is read up
//! to [`MAX_PAGE`]; past that only the complete lines of the first 16 MiB
//! are used, and the summary says so.

use std::time::Duration;

use serde_json::{Value, json};

use super::http::{self, Clients};
use super::prometheus::{self, Selector, format_value};
use super::{Failure, Fields, Observation, Params, Verdict, one_line};

/// The most of a `/metrics` page read: big exporters (kube-state-metrics,
/// node exporters with many devices) run to several MiB.
pub const MAX_PAGE: usize = 16 << 20;

pub async fn probe(
    clients: &Clients,
    target: &str,
    params: &Params,
    _timeout: Duration,
) -> Result<Observation, Failure> {
    let Some(series) = params.text("series")? else {
        return Err(Failure::unknown(r#"the metric probe needs `series`, like `series: 'up{job="api"}'`"#));
    };
    let selector = Selector::parse(&series).map_err(|why| Failure::unknown(format!("`series`: {why}")))?;
    let answer = http::fetch(clients, target, params, MAX_PAGE).await?;
    if !(200..300).contains(&answer.status) {
        return Err(Failure::critical(format!("status {}, expected 2xx from the metrics page", answer.status)));
    }
    let mut page = String::from_utf8_lossy(&answer.body);
    if answer.truncated {
        // The last line may be cut in the middle: keep the complete ones.
        let end = page.rfind('\n').map_or(0, |n| n + 1);
        page.to_mut().truncate(end);
    }
    let samples = prometheus::parse(&page)
        .map_err(|e| Failure::critical(format!("the page is not Prometheus text format: {e}")))?;
    let matched: Vec<&prometheus::Sample> = samples.iter().filter(|s| selector.matches(s)).collect();
    let sum: f64 = matched.iter().map(|s| s.value).sum();
    let mut fields = Fields::new();
    fields.insert("count".to_owned(), matched.len().into());
    let values: Vec<Value> = matched
        .iter()
        .map(|s| {
            let labels: serde_json::Map<String, Value> =
                s.labels.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            json!({"labels": labels, "value": number(s.value)})
        })
        .collect();
    fields.insert("values".to_owned(), values.into());
    let note = if answer.truncated { " (page larger than 16 MiB, read the first 16 MiB)" } else { "" };
    let shown = one_line(&series, 60);
    let (observed, default) = match matched.len() {
        0 => (
            format!("no match among {} series{note}", samples.len()),
            Verdict::critical(format!("no series matches {shown} (the page has {} series){note}", samples.len())),
        ),
        1 => (format!("{}{note}", format_value(sum)), Verdict::ok()),
        n => (format!("{} (sum of {n} series){note}", format_value(sum)), Verdict::ok()),
    };
    if !matched.is_empty() {
        fields.insert("value".to_owned(), number(sum));
    }
    Ok(Observation::new(fields, observed, default))
}

/// A JSON number, or `"NaN"` / `"+Inf"` / `"-Inf"` which JSON cannot hold.
fn number(value: f64) -> Value {
    if value.is_finite() { json!(value) } else { Value::String(format_value(value)) }
}

#[cfg(test)]
#[path = "tests/metric.rs"]
mod tests;
