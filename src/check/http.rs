//! `http` / `https`: one request, judged by status; the answer's status,
//! headers, body (and JSON), redirect target and certificate expiry become
//! result fields.
//!
//! Fields: `status`, `headers` (lower-case names), `body` (text, at most
//! [`MAX_READ`]), `json` (when the body is JSON), `redirect` (the `Location`
//! of a 3xx), `days_left` (https: days until the certificate's notAfter).
//!
//! Clients are shared across a run ([`Clients`]): one per combination of
//! redirect policy, verification and extra CA, so checks of one host reuse
//! pooled connections instead of paying a TCP and TLS handshake each.
//!
//! `http` steps (`procedure`) send through [`send`] and judge `expect=`
//! over [`observe`]'s fields, so a step sees what a check would.

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, LOCATION};
use reqwest::{Client, Method, Url};

use super::cert::{self, Certificate};
use super::resolve::hide_url_password;
use super::{Failure, Fields, MAX_READ, Observation, Params, Verdict, human_bytes, tcp};

/// The clients of one run, by what makes them differ.
#[derive(Debug, Default)]
pub struct Clients(Mutex<HashMap<ClientKey, Client>>);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    follow_redirects: bool,
    insecure: bool,
    ca: Option<String>,
    /// Plain http that cannot be redirected to https: no TLS roots needed.
    /// Loading the system's roots costs a few milliseconds, more than a
    /// whole small matrix of plain-http checks.
    plain: bool,
}

impl Clients {
    fn get(&self, key: ClientKey) -> Result<Client, Failure> {
        // Built under the lock: a build takes well under a millisecond and
        // happens once per key, and nobody builds the same client twice.
        let mut clients = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = build_client(&key)?;
        clients.insert(key, client.clone());
        Ok(client)
    }
}

fn build_client(key: &ClientKey) -> Result<Client, Failure> {
    cert::install_crypto_provider();
    let redirects =
        if key.follow_redirects { reqwest::redirect::Policy::limited(10) } else { reqwest::redirect::Policy::none() };
    let mut builder = Client::builder()
        .no_proxy()
        .redirect(redirects)
        .pool_max_idle_per_host(1024)
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .tls_info(true)
        .tls_danger_accept_invalid_certs(key.insecure)
        .user_agent(concat!("runwell/", env!("CARGO_PKG_VERSION")));
    if key.plain {
        builder = builder.tls_certs_only(Vec::new());
    } else if let Some(path) = &key.ca {
        let mut certs = Vec::new();
        for der in cert::read_ca_bundle(path)? {
            let cert = reqwest::Certificate::from_der(&der)
                .map_err(|e| Failure::unknown(format!("the CA bundle `{path}` has a bad certificate: {e}")))?;
            certs.push(cert);
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().map_err(|e| Failure::unknown(format!("cannot set up an HTTP client: {}", causes(&e))))
}

/// What came back, read up to a cap.
#[derive(Debug)]
pub struct Answer {
    pub url: Url,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The body went on past the cap; `body` holds its beginning.
    pub truncated: bool,
    /// The server's certificate (DER), over https.
    pub peer_certificate: Option<Vec<u8>>,
}

/// A request, as a check's parameters or an `http` step describe it.
#[derive(Debug)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: HeaderMap,
    pub body: Option<String>,
    pub follow_redirects: bool,
    pub insecure: bool,
    /// An extra CA bundle to trust (a PEM file).
    pub ca: Option<String>,
}

impl Request {
    /// A request for `method` and `target` with `headers` and `body`, not
    /// following redirects; `Err` (unknown) when one of them is malformed.
    pub fn new(
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: Option<String>,
    ) -> Result<Request, Failure> {
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| Failure::unknown(format!("`method` takes an HTTP method like GET, not `{method}`")))?;
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Failure::unknown(format!("`headers`: `{name}` is not a header name")))?;
            // Never echo the value: it is often a token.
            let value = HeaderValue::from_str(value)
                .map_err(|_| Failure::unknown(format!("`headers.{name}` holds characters a header cannot carry")))?;
            map.append(header, value);
        }
        Ok(Request {
            method,
            url: parse_url(target)?,
            headers: map,
            body,
            follow_redirects: false,
            insecure: false,
            ca: None,
        })
    }

    /// The request an http check's parameters describe.
    fn from_params(target: &str, params: &Params) -> Result<Request, Failure> {
        let method = params.text("method")?.unwrap_or_else(|| "GET".to_owned());
        let mut request = Request::new(&method, target, &params.map("headers")?, params.text("body")?)?;
        request.follow_redirects = params.flag("follow_redirects")?;
        request.insecure = params.flag("insecure")?;
        request.ca = params.text("ca")?.filter(|ca| !ca.is_empty());
        Ok(request)
    }
}

/// An answer whose status and headers have arrived; the body is read with
/// [`Response::read_body`].
#[derive(Debug)]
pub struct Response {
    pub url: Url,
    pub status: reqwest::StatusCode,
    pub version: reqwest::Version,
    pub headers: HeaderMap,
    pub peer_certificate: Option<Vec<u8>>,
    /// `host:port`, for reasons.
    pub address: String,
    inner: reqwest::Response,
}

/// Sends `request`. `Err` (critical) when nothing HTTP came back.
pub async fn send(clients: &Clients, request: Request) -> Result<Response, Failure> {
    let Request { method, url, headers, body, follow_redirects, insecure, ca } = request;
    let key = ClientKey { follow_redirects, insecure, ca, plain: url.scheme() == "http" && !follow_redirects };
    let client = clients.get(key)?;
    let mut builder = client.request(method, url.clone()).headers(headers);
    if let Some(body) = body {
        builder = builder.body(body);
    }
    let address = address(&url);
    let mut inner = builder.send().await.map_err(|e| Failure::critical(request_error(&e, &address, &url)))?;
    let peer_certificate =
        inner.extensions().get::<reqwest::tls::TlsInfo>().and_then(|i| i.peer_certificate()).map(<[u8]>::to_vec);
    Ok(Response {
        url: inner.url().clone(),
        status: inner.status(),
        version: inner.version(),
        headers: std::mem::take(inner.headers_mut()),
        peer_certificate,
        address,
        inner,
    })
}

impl Response {
    /// Reads the body chunk by chunk, handing each to `each` as it arrives
    /// and keeping at most `cap` bytes, so a 1 GB answer costs `cap` and
    /// stops there.
    pub async fn read_body(mut self, cap: usize, mut each: impl FnMut(&[u8])) -> Result<Answer, Failure> {
        let expected = self.inner.content_length().map_or(0, |n| usize::try_from(n).unwrap_or(cap).min(cap));
        let mut body = Vec::with_capacity(expected);
        let mut truncated = false;
        while let Some(chunk) = self.inner.chunk().await.map_err(|e| {
            Failure::critical(format!(
                "the body from {} broke off after {}: {}",
                self.address,
                human_bytes(body.len()),
                causes(&e)
            ))
        })? {
            let room = cap - body.len();
            if chunk.len() > room {
                each(&chunk[..room]);
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            each(&chunk);
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            url: self.url,
            status: self.status.as_u16(),
            headers: self.headers,
            body,
            truncated,
            peer_certificate: self.peer_certificate,
        })
    }
}

/// Sends the request a check describes and reads at most `cap` bytes of
/// the body. `Err` when nothing HTTP came back.
pub async fn fetch(clients: &Clients, target: &str, params: &Params, cap: usize) -> Result<Answer, Failure> {
    let response = send(clients, Request::from_params(target, params)?).await?;
    response.read_body(cap, |_| {}).await
}

/// The target as a URL; a bare `host:port/path` is taken as http.
fn parse_url(target: &str) -> Result<Url, Failure> {
    let parsed = if target.contains("://") { Url::parse(target) } else { Url::parse(&format!("http://{target}")) };
    let url = parsed.map_err(|e| Failure::unknown(format!("`{}` is not a URL: {e}", hide_url_password(target))))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Failure::unknown(format!("`{}` is not an http or https URL", hide_url_password(target))));
    }
    Ok(url)
}

/// `host:port`, the words reasons use; never the credentials.
pub fn address(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The reason a request got no HTTP answer, in an operator's words.
fn request_error(error: &reqwest::Error, address: &str, url: &Url) -> String {
    let mut source = error.source();
    let mut io = None;
    let mut tls = None;
    while let Some(cause) = source {
        // io::Error's `source()` skips the error it wraps, and hyper wraps
        // rustls's errors in io::Errors (twice): look inside each one.
        let mut inner: Option<&(dyn std::error::Error + 'static)> = Some(cause);
        while let Some(e) = inner {
            if let Some(e) = e.downcast_ref::<rustls::Error>() {
                tls.get_or_insert(e);
            }
            inner = e.downcast_ref::<std::io::Error>().and_then(|e| {
                io.get_or_insert(e);
                e.get_ref().map(|i| i as &(dyn std::error::Error + 'static))
            });
        }
        source = cause.source();
    }
    let why = causes(error);
    if let Some(tls) = tls {
        let hint = if matches!(tls, rustls::Error::InvalidMessage(_)) { " (is this port speaking TLS?)" } else { "" };
        return format!("TLS handshake with {address} failed: {tls}{hint}");
    }
    if error.is_connect() {
        if why.contains("dns error") {
            return format!("cannot resolve `{}`: {}", url.host_str().unwrap_or("?"), last_cause(error));
        }
        if let Some(io) = io {
            return tcp::connect_error(address, io);
        }
        return format!("cannot connect to {address}: {why}");
    }
    if error.is_timeout() {
        return format!("no answer from {address} in time");
    }
    if let Some(io) = io
        && matches!(io.kind(), std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof)
    {
        return format!("{address} closed the connection without an HTTP answer: {why}");
    }
    format!("{address} did not answer HTTP: {why}")
}

/// The chain of causes under a reqwest error, without reqwest's own line
/// (which carries the whole URL and so any password in it).
fn causes(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() { "the request failed".to_owned() } else { parts.join(": ") }
}

fn last_cause(error: &reqwest::Error) -> String {
    let mut last = None;
    let mut source = error.source();
    while let Some(cause) = source {
        last = Some(cause.to_string());
        source = cause.source();
    }
    last.unwrap_or_else(|| "the request failed".to_owned())
}

pub async fn probe(
    clients: &Clients,
    target: &str,
    params: &Params,
    _timeout: Duration,
) -> Result<Observation, Failure> {
    let answer = fetch(clients, target, params, MAX_READ).await?;
    Ok(observe(&answer))
}

/// The fields, summary and default verdict of an answer: what `expect:`
/// reads, for checks and `http` steps alike.
pub fn observe(answer: &Answer) -> Observation {
    let mut fields = Fields::new();
    let mut missing = Vec::new();
    fields.insert("status".to_owned(), answer.status.into());
    let mut headers = serde_json::Map::new();
    for (name, value) in &answer.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        match headers.get_mut(name.as_str()) {
            Some(serde_json::Value::String(seen)) => {
                seen.push_str(", ");
                seen.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), value.into_owned().into());
            }
        }
    }
    let redirect = if (300..400).contains(&answer.status) {
        answer.headers.get(LOCATION).map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned())
    } else {
        None
    };
    fields.insert("headers".to_owned(), headers.into());
    let is_json = match json(&answer.body) {
        Ok(value) => {
            fields.insert("json".to_owned(), value);
            true
        }
        Err(why) => {
            missing.push(("json", why));
            false
        }
    };
    let size = answer.body.len();
    fields.insert("body".to_owned(), String::from_utf8_lossy(&answer.body).into_owned().into());
    if let Some(location) = &redirect {
        fields.insert("redirect".to_owned(), location.clone().into());
    }
    if let Some(der) = &answer.peer_certificate {
        match Certificate::parse(der) {
            Ok(cert) => {
                fields.insert("days_left".to_owned(), cert.days_left().into());
            }
            Err(why) => missing.push(("days_left", why)),
        }
    } else if answer.url.scheme() == "https" {
        missing.push(("days_left", "the server's certificate was not available".to_owned()));
    } else {
        missing.push(("days_left", "the URL is not https".to_owned()));
    }

    let status = answer.status;
    let mut observed = match (&redirect, size) {
        (Some(location), _) => format!("{status} → {}", hide_url_password(location)),
        (None, 0) => format!("{status}, empty body"),
        (None, n) if is_json => format!("{status}, {} JSON", human_bytes(n)),
        (None, n) => format!("{status}, {}", human_bytes(n)),
    };
    if answer.truncated {
        observed.push_str(" (body larger than 1 MiB, read the first 1 MiB)");
    }
    let default = if (200..300).contains(&status) {
        Verdict::ok()
    } else if let Some(location) = &redirect {
        Verdict::critical(format!(
            "status {status}, expected 2xx: it redirects to {} (`follow_redirects: true` follows it)",
            hide_url_password(location)
        ))
    } else {
        Verdict::critical(format!("status {status}, expected 2xx"))
    };
    Observation { fields, observed, default, missing }
}

/// The body as JSON, or why not. A body whose first character cannot
/// start a JSON document is not parsed whole: serde's error for it comes
/// from that character alone, so the verdict is the same without the work.
fn json(body: &[u8]) -> Result<serde_json::Value, String> {
    let Some(first) = body.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Err("the body is empty, not JSON".to_owned());
    };
    if !matches!(body[first], b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') {
        let error = serde_json::from_slice::<serde::de::IgnoredAny>(&body[..=first]).err();
        return Err(format!(
            "the body is not JSON: {}",
            error.map_or_else(|| "unexpected character".to_owned(), |e| e.to_string())
        ));
    }
    serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))
}

#[cfg(test)]
#[path = "tests/http.rs"]
mod tests;
