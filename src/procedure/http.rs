//! `http` steps: one request, its status line and body printed
//! (`HTTP/1.1 202 Accepted`, then the body as it arrives), judged by
//! `expect=` or, without one, by the status.
//!
//! The request goes through the http check's client (rustls, no proxy,
//! redirects not followed) and `expect=` is judged over the fields an http
//! check offers — `status`, `headers`, `body`, `json`, `redirect`,
//! `days_left`, `latency_ms` — by the same code, so an expression means the
//! same in a check and a step. Without `expect=` a status below 400
//! succeeds. An expression that cannot be evaluated (a field the answer
//! lacks, `json` of a body that is not JSON) fails the step with the
//! reason; one that does not even compile is refused before the request is
//! sent, so a typo never leaves the operator unsure whether a `POST` ran.
//!
//! The body is read up to [`MAX_READ`] (what a check reads), printed as it
//! comes; past that, reading stops and stderr says so.

use std::time::{Duration, Instant};

use reqwest::{StatusCode, Version};
use tokio_util::sync::CancellationToken;

use super::network::{Clock, Output, bounded};
use super::{Error, Recorder, Status, StepOutcome, Stream};
use crate::check::MAX_READ;
use crate::check::expect::{Compiled, judge};
use crate::check::http::{self, Clients, Request};
use crate::template::compile_expression;

/// A rendered `http` step, ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpStep {
    pub id: String,
    /// `GET`, `POST`, …
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// The `expect=` expression.
    pub expect: Option<String>,
    pub timeout: Duration,
}

/// Sends `step`'s request and prints the answer, until it is judged, the
/// step times out or `abort` is cancelled. `Err` when the request cannot be
/// made as written (a bad method, URL or header) or `expect=` does not
/// compile.
pub async fn run_http(
    step: &HttpStep,
    recorder: &mut dyn Recorder,
    abort: &CancellationToken,
) -> Result<StepOutcome, Error> {
    let invalid = |reason: String| Error::Invalid { step: step.id.clone(), reason };
    let request = Request::new(&step.method, &step.url, &step.headers, step.body.clone())
        .map_err(|failure| invalid(failure.0.reason))?;
    if let Some(expect) = &step.expect {
        compile_expression(expect).map_err(|why| invalid(format!("`expect={expect}` is not an expression: {why}")))?;
    }
    let expect = step.expect.as_deref().map(Compiled::new);
    let clock = Clock::start();
    let mut output = Output::new(recorder);
    if abort.is_cancelled() {
        return Ok(clock.outcome(Status::Aborted, output));
    }
    let status = bounded(step.timeout, abort, converse(request, expect.as_ref(), &mut output))
        .await
        .status(&mut output, step.timeout);
    Ok(clock.outcome(status, output))
}

async fn converse(request: Request, expect: Option<&Compiled>, output: &mut Output<'_>) -> Status {
    let address = http::address(&request.url);
    output.doing = format!("waiting for {address} to answer");
    let started = Instant::now();
    let response = match http::send(&Clients::default(), request).await {
        Ok(response) => response,
        Err(failure) => return Status::Error { message: failure.0.reason },
    };
    let status = response.status;
    output.out(&format!("{} {}\n", version(response.version), status_line(status)));
    output.flush();
    output.doing = format!("reading the body from {address}");
    let read = response
        .read_body(MAX_READ, |chunk| {
            output.write(Stream::Stdout, chunk);
            output.flush();
        })
        .await;
    let answer = match read {
        Ok(answer) => answer,
        Err(failure) => return Status::Error { message: failure.0.reason },
    };
    if answer.body.last().is_some_and(|&b| b != b'\n') {
        output.out("\n");
    }
    if answer.truncated {
        output.err(&format!("(the body goes on past {} MiB; runwell stopped reading there)\n", MAX_READ >> 20));
    }
    let mut observation = http::observe(&answer);
    let latency_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    observation.fields.insert("latency_ms".to_owned(), latency_ms.into());
    match expect {
        Some(expect) => {
            let verdict = judge(&observation, Some(expect), None);
            if verdict.status == crate::check::Status::Ok {
                Status::Succeeded
            } else {
                Status::Error { message: verdict.reason }
            }
        }
        None if status.as_u16() < 400 => Status::Succeeded,
        None => Status::Error {
            message: format!("{}; without `expect=` a step needs a status below 400", status_line(status)),
        },
    }
}

/// `HTTP/1.1`, `HTTP/2`: as curl writes it.
fn version(version: Version) -> &'static str {
    if version == Version::HTTP_09 {
        "HTTP/0.9"
    } else if version == Version::HTTP_10 {
        "HTTP/1.0"
    } else if version == Version::HTTP_2 {
        "HTTP/2"
    } else if version == Version::HTTP_3 {
        "HTTP/3"
    } else {
        "HTTP/1.1"
    }
}

/// `202 Accepted`; the number alone for a status without a standard name.
fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}
