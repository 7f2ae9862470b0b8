//! A step's output on one stream, recorded as it streams with bounded memory
//! and a size cap.
//!
//! The cap keeps the head and the tail: the first half of the cap is written
//! to the journal as it arrives (coalesced into chunks of up to [`CHUNK`]
//! bytes, at least every [`FLUSH_AFTER`]), so a crash mid-step still leaves
//! the beginning on record and a live view can follow it; what comes after
//! goes through a ring buffer holding the last half of the cap, written when
//! the step ends, after an `output_truncated` event giving the number of
//! bytes dropped in between. The tail is where a failing command says why;
//! the head is where it says what it was doing. The price: after a crash
//! the tail of a step past its head is lost (the head survives).
//!
//! Memory is at most [`CHUNK`] plus half the cap, whatever the step prints.

use std::time::{Duration, Instant};

use super::{Error, Event, RunId, Store, Stream};

/// The default cap per step and stream.
pub const DEFAULT_CAP: usize = 8 << 20;

/// The largest output chunk in one event: large enough that a fast stream
/// costs few rows and transactions, small enough for `SQLite`'s overflow pages.
pub const CHUNK: usize = 64 << 10;

/// Slow output is written at least this often, so the record keeps up with
/// a step that prints a line now and then.
pub const FLUSH_AFTER: Duration = Duration::from_millis(200);

/// Records one step's output on one stream; call [`OutputCapture::finish`]
/// when the stream ends.
#[derive(Debug)]
pub struct OutputCapture {
    step: u32,
    stream: Stream,
    head_cap: u64,
    /// Head bytes not yet written; `pending_offset` is the first one's offset.
    pending: Vec<u8>,
    pending_offset: u64,
    total: u64,
    tail: Ring,
    last_flush: Instant,
}

impl OutputCapture {
    /// A capture keeping at most `cap` bytes: `cap / 2` of head, the rest of tail.
    pub fn new(step: u32, stream: Stream, cap: usize) -> Self {
        let head = cap / 2;
        OutputCapture {
            step,
            stream,
            head_cap: head as u64,
            pending: Vec::new(),
            pending_offset: 0,
            total: 0,
            tail: Ring::new(cap - head),
            last_flush: Instant::now(),
        }
    }

    /// Takes the next bytes the step wrote. Errors are the journal's: the
    /// run is no longer recorded and the executor must stop it.
    pub fn push(&mut self, store: &mut (impl Store + ?Sized), run: RunId, mut bytes: &[u8]) -> Result<(), Error> {
        if self.pending.capacity() == 0 && self.total < self.head_cap {
            // Exactly one chunk, not what doubling from small writes would reach.
            self.pending.reserve_exact(CHUNK);
        }
        while !bytes.is_empty() && self.total < self.head_cap {
            let room =
                (CHUNK - self.pending.len()).min(usize::try_from(self.head_cap - self.total).unwrap_or(usize::MAX));
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.pending.extend_from_slice(now);
            self.total += now.len() as u64;
            bytes = rest;
            if self.pending.len() == CHUNK {
                self.flush(store, run)?;
            }
        }
        if !bytes.is_empty() {
            self.tail.push(bytes);
            self.total += bytes.len() as u64;
        }
        if !self.pending.is_empty() && self.last_flush.elapsed() >= FLUSH_AFTER {
            self.flush(store, run)?;
        }
        Ok(())
    }

    /// Writes the head bytes held back for coalescing.
    pub fn flush(&mut self, store: &mut (impl Store + ?Sized), run: RunId) -> Result<(), Error> {
        self.last_flush = Instant::now();
        if self.pending.is_empty() {
            return Ok(());
        }
        let bytes = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK));
        let offset = self.pending_offset;
        self.pending_offset += bytes.len() as u64;
        store.append(run, &[Event::Output { step: self.step, stream: self.stream, offset, bytes }])?;
        Ok(())
    }

    /// Writes what is held back and the tail; returns the bytes dropped.
    pub fn finish(mut self, store: &mut (impl Store + ?Sized), run: RunId) -> Result<u64, Error> {
        self.flush(store, run)?;
        let tail = self.tail.contents();
        if tail.is_empty() {
            return Ok(0);
        }
        let tail_start = self.total - tail.len() as u64;
        let dropped = tail_start - self.pending_offset;
        let mut events = Vec::with_capacity(1 + tail.len() / CHUNK + 1);
        if dropped > 0 {
            events.push(Event::OutputTruncated { step: self.step, stream: self.stream, dropped });
        }
        let mut offset = tail_start;
        for chunk in tail.chunks(CHUNK) {
            events.push(Event::Output { step: self.step, stream: self.stream, offset, bytes: chunk.to_vec() });
            offset += chunk.len() as u64;
        }
        store.append(run, &events)?;
        Ok(dropped)
    }

    /// Bytes taken so far, dropped ones included.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Bytes of memory held now: what the bound is about.
    pub fn memory(&self) -> usize {
        self.pending.capacity() + self.tail.buf.capacity()
    }
}

/// The last `cap` bytes of a stream. Allocated on first use: most steps
/// never pass their head.
#[derive(Debug)]
struct Ring {
    buf: Vec<u8>,
    cap: usize,
    /// Where the next byte goes; `full` once it has wrapped.
    at: usize,
    full: bool,
}

impl Ring {
    fn new(cap: usize) -> Self {
        Ring { buf: Vec::new(), cap, at: 0, full: false }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        if self.cap == 0 {
            return;
        }
        if self.buf.is_empty() {
            self.buf = vec![0; self.cap];
        }
        if bytes.len() >= self.cap {
            bytes = &bytes[bytes.len() - self.cap..];
        }
        let first = bytes.len().min(self.cap - self.at);
        self.buf[self.at..self.at + first].copy_from_slice(&bytes[..first]);
        let rest = &bytes[first..];
        self.buf[..rest.len()].copy_from_slice(rest);
        let end = self.at + bytes.len();
        self.full |= end >= self.cap;
        self.at = end % self.cap;
    }

    fn contents(&self) -> Vec<u8> {
        if self.full { [&self.buf[self.at..], &self.buf[..self.at]].concat() } else { self.buf[..self.at].to_vec() }
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;

    #[test]
    fn the_ring_keeps_the_last_bytes_across_wraps_and_oversized_pushes() {
        let mut ring = Ring::new(5);
        assert_eq!(ring.contents(), b"");
        ring.push(b"abc");
        assert_eq!(ring.contents(), b"abc");
        ring.push(b"defg");
        assert_eq!(ring.contents(), b"cdefg");
        ring.push(b"h");
        assert_eq!(ring.contents(), b"defgh");
        ring.push(b"0123456789");
        assert_eq!(ring.contents(), b"56789");
        ring.push(b"xy");
        assert_eq!(ring.contents(), b"789xy");
    }
}
