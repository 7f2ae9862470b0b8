//! The socket under tokio-postgres, guarded: no message declaring more than
//! a bound, at most a total for a check (which reads one small answer; a
//! `sql` step streams rows without a total), and a first byte that is not
//! postgres's is garbage at once. `tokio-postgres` itself would reserve
//! whatever length a header declares (`HTTP` read as a length is 1.4 GB).
//!
//! The guard follows the messages' framing anyway, so it also keeps, when
//! asked ([`Tap`]), the two things a `sql` step prints that tokio-postgres
//! reads but does not pass on: each result's column types and each
//! command's tag.

use std::collections::VecDeque;
use std::error::Error as _;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::check::{MAX_READ, one_line};

/// How much a guarded stream lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The largest single message.
    pub message: usize,
    /// The most read over the whole connection; `None` for no total.
    pub total: Option<usize>,
}

impl Bounds {
    /// A check reads one answer of at most [`MAX_READ`].
    pub const CHECK: Bounds = Bounds { message: MAX_READ, total: Some(MAX_READ) };
}

/// Why the guard stopped reading; found again in tokio-postgres's errors.
#[derive(Debug)]
pub enum Refusal {
    /// The first bytes, which are not a postgres message.
    NotPostgres(String),
    /// Past a check's total.
    TooLarge,
    /// One message past the bound, when there is no total.
    MessageTooLarge(usize),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotPostgres(start) => write!(f, "the reply is not PostgreSQL's protocol: got `{start}`"),
            Refusal::TooLarge => write!(f, "the answer is larger than {} MiB; add a LIMIT", MAX_READ >> 20),
            Refusal::MessageTooLarge(limit) => write!(
                f,
                "the server sent a message larger than {} MiB (a row that wide?); select fewer or narrower columns",
                limit >> 20
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// What the guard saw that tokio-postgres does not pass on, in the order the
/// server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A result set begins: its columns' type OIDs.
    Columns(Vec<u32>),
    /// A command completed: its tag, `UPDATE 3`, `CREATE TABLE`.
    Tag(String),
    /// The query was empty.
    Empty,
}

/// Where a guard records what it [`Seen`]; shared with the reader of the
/// session, who takes each item as tokio-postgres hands over its message.
#[derive(Debug, Clone, Default)]
pub struct Tap(Arc<Mutex<VecDeque<Seen>>>);

impl Tap {
    /// The oldest item not taken yet.
    pub fn next(&self) -> Option<Seen> {
        self.0.lock().ok()?.pop_front()
    }

    /// Forgets what was not taken, before a new query.
    pub fn clear(&self) {
        if let Ok(mut seen) = self.0.lock() {
            seen.clear();
        }
    }

    fn push(&self, seen: Seen) {
        if let Ok(mut queue) = self.0.lock() {
            queue.push_back(seen);
        }
    }
}

/// A stream that refuses to read past its [`Bounds`] or to read garbage.
#[derive(Debug)]
pub struct Guarded<S> {
    inner: S,
    bounds: Bounds,
    read: usize,
    /// The message header being read: a type byte and a length.
    header: [u8; 5],
    header_len: usize,
    /// Bytes of the current message's body still to come.
    body_left: usize,
    tap: Option<Tap>,
    /// The body of the current message, when the tap wants it.
    capture: Option<Vec<u8>>,
}

impl<S> Guarded<S> {
    pub fn new(inner: S, bounds: Bounds, tap: Option<Tap>) -> Guarded<S> {
        Guarded { inner, bounds, read: 0, header: [0; 5], header_len: 0, body_left: 0, tap, capture: None }
    }

    /// Follows the messages' framing through `bytes` to judge each header.
    fn inspect(&mut self, mut bytes: &[u8]) -> Result<(), Refusal> {
        while let Some((&first, rest)) = bytes.split_first() {
            if self.body_left > 0 {
                let skip = self.body_left.min(bytes.len());
                if let Some(body) = &mut self.capture {
                    body.extend_from_slice(&bytes[..skip]);
                }
                self.body_left -= skip;
                bytes = &bytes[skip..];
                if self.body_left == 0 {
                    self.captured();
                }
                continue;
            }
            self.header[self.header_len] = first;
            self.header_len += 1;
            bytes = rest;
            if self.header_len == self.header.len() {
                self.header_len = 0;
                let [kind, a, b, c, d] = self.header;
                let len = u32::from_be_bytes([a, b, c, d]) as usize;
                if len < 4 {
                    return Err(Refusal::NotPostgres(one_line(&String::from_utf8_lossy(&self.header), 40)));
                }
                if len > self.bounds.message {
                    return Err(match self.bounds.total {
                        Some(_) => Refusal::TooLarge,
                        None => Refusal::MessageTooLarge(self.bounds.message),
                    });
                }
                self.body_left = len - 4;
                if self.tap.is_some() && matches!(kind, b'T' | b'C' | b'I') {
                    self.capture = Some(Vec::new());
                    if self.body_left == 0 {
                        self.captured();
                    }
                }
            }
        }
        Ok(())
    }

    /// The captured message is whole: tell the tap.
    fn captured(&mut self) {
        let (Some(tap), Some(body)) = (&self.tap, self.capture.take()) else { return };
        tap.push(match self.header[0] {
            b'C' => Seen::Tag(String::from_utf8_lossy(body.split(|b| *b == 0).next().unwrap_or_default()).into_owned()),
            b'T' => Seen::Columns(column_types(&body).unwrap_or_default()),
            _ => Seen::Empty,
        });
    }
}

/// The type OIDs of a `RowDescription`'s fields: a count, then per field its
/// name (NUL-terminated), table OID, column number, type OID, size, modifier
/// and format.
fn column_types(body: &[u8]) -> Option<Vec<u32>> {
    let count = u16::from_be_bytes(body.get(..2)?.try_into().ok()?);
    let mut at = 2;
    let mut types = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        at += memchr::memchr(0, body.get(at..)?)? + 1;
        let oid = body.get(at + 6..at + 10)?;
        types.push(u32::from_be_bytes(oid.try_into().ok()?));
        at += 18;
    }
    Some(types)
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let got = &buf.filled()[before..];
            // A server's first message is authentication (`R`), an error
            // (`E`), a notice (`N`) or a protocol downgrade (`v`).
            if self.read == 0 && got.first().is_some_and(|b| !matches!(b, b'R' | b'E' | b'N' | b'v')) {
                let start = String::from_utf8_lossy(&got[..got.len().min(80)]).into_owned();
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    Refusal::NotPostgres(one_line(&start, 40)),
                )));
            }
            self.read = self.read.saturating_add(got.len());
            let judged = match self.bounds.total {
                Some(total) if self.read > total => Err(Refusal::TooLarge),
                _ => self.inspect(got),
            };
            if let Err(refusal) = judged {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, refusal)));
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What went wrong, in one line: the guard's refusal if it was that, else
/// tokio-postgres's words with their cause (`connection closed`, `error
/// communicating with the server: Connection reset by peer`).
pub fn describe(error: &tokio_postgres::Error) -> String {
    let mut cause = error.source();
    while let Some(inner) = cause {
        // An `io::Error` hides what it wraps from `source()`.
        let wrapped = inner.downcast_ref::<io::Error>().and_then(io::Error::get_ref);
        if let Some(refusal) = wrapped.and_then(|w| w.downcast_ref::<Refusal>()) {
            return refusal.to_string();
        }
        cause = inner.source();
    }
    if error.is_closed() {
        return "the server closed the connection".to_owned();
    }
    match error.source() {
        Some(inner) => one_line(&format!("{error}: {inner}"), 160),
        None => error.to_string(),
    }
}
