//! The socket under tokio-postgres, guarded: at most [`MAX_READ`] bytes per
//! check, no message declaring more, and a first byte that is not
//! postgres's is garbage at once. `tokio-postgres` itself would reserve
//! whatever length a header declares (`HTTP` read as a length is 1.4 GB).

use std::error::Error as _;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::check::{MAX_READ, one_line};

/// Why the guard stopped reading; found again in tokio-postgres's errors.
#[derive(Debug)]
pub enum Refusal {
    /// The first bytes, which are not a postgres message.
    NotPostgres(String),
    TooLarge,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotPostgres(start) => write!(f, "the reply is not PostgreSQL's protocol: got `{start}`"),
            Refusal::TooLarge => write!(f, "the answer is larger than {} MiB; add a LIMIT", MAX_READ >> 20),
        }
    }
}

impl std::error::Error for Refusal {}

/// A stream that refuses to read past [`MAX_READ`] or to read garbage.
#[derive(Debug)]
pub struct Guarded<S> {
    inner: S,
    read: usize,
    /// The message header being read: a type byte and a length.
    header: [u8; 5],
    header_len: usize,
    /// Bytes of the current message's body still to come.
    body_left: usize,
}

impl<S> Guarded<S> {
    pub fn new(inner: S) -> Guarded<S> {
        Guarded { inner, read: 0, header: [0; 5], header_len: 0, body_left: 0 }
    }

    /// Follows the messages' framing through `bytes` to judge each header.
    fn inspect(&mut self, mut bytes: &[u8]) -> Result<(), Refusal> {
        while let Some((&first, rest)) = bytes.split_first() {
            if self.body_left > 0 {
                let skip = self.body_left.min(bytes.len());
                self.body_left -= skip;
                bytes = &bytes[skip..];
                continue;
            }
            self.header[self.header_len] = first;
            self.header_len += 1;
            bytes = rest;
            if self.header_len == self.header.len() {
                self.header_len = 0;
                let [_, a, b, c, d] = self.header;
                let len = u32::from_be_bytes([a, b, c, d]) as usize;
                if len < 4 {
                    return Err(Refusal::NotPostgres(one_line(&String::from_utf8_lossy(&self.header), 40)));
                }
                if len > MAX_READ {
                    return Err(Refusal::TooLarge);
                }
                self.body_left = len - 4;
            }
        }
        Ok(())
    }
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
            self.read += got.len();
            let judged = if self.read > MAX_READ { Err(Refusal::TooLarge) } else { self.inspect(got) };
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
