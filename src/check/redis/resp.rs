//! A RESP2 decoder for replies read a chunk at a time, bounded in size and
//! nesting so that a hostile or broken peer cannot exhaust memory or stack.
//!
//! Our own rather than `redis-protocol`: checks and `redis` steps send one
//! command and read one reply at a time, so the five RESP2 types are all
//! they need, and rejecting a bulk string whose *declared* length passes
//! the limit before reading it (and garbage by its first byte) is simplest
//! where the length is parsed.
//!
//! [`Framer`] finds where a reply ends as its chunks arrive, looking at each
//! byte once; [`decode`] then builds it once. Decoding from the start after
//! every read would cost time quadratic in the size of a large array.

use serde_json::Value;

/// A decoded reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    /// `$-1` and `*-1`.
    Nil,
    Bulk(Vec<u8>),
    Array(Vec<Reply>),
}

impl Reply {
    /// The reply as JSON: text, numbers, arrays and null. Bulk strings that
    /// are not UTF-8 are read lossily: a check compares text.
    pub fn to_json(&self) -> Value {
        match self {
            Reply::Simple(text) | Reply::Error(text) => Value::String(text.clone()),
            Reply::Integer(n) => Value::from(*n),
            Reply::Nil => Value::Null,
            Reply::Bulk(bytes) => Value::String(String::from_utf8_lossy(bytes).into_owned()),
            Reply::Array(items) => Value::Array(items.iter().map(Reply::to_json).collect()),
        }
    }
}

/// Why bytes are not a reply we accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes are not RESP (an HTTP server, a TLS port, …).
    NotResp,
    /// The reply declares, or runs to, more than the limit.
    TooLarge,
}

/// The deepest nesting of arrays accepted; real replies nest two or three deep.
const MAX_DEPTH: usize = 32;

/// Decodes one reply from the start of `buf`: `Ok(None)` when more bytes are
/// needed, or the reply and how many bytes it took. `limit` bounds declared
/// lengths and counts, so a `$999999999` header fails at once.
pub fn decode(buf: &[u8], limit: usize) -> Result<Option<(Reply, usize)>, DecodeError> {
    Decoder { buf, limit }.reply(0, 0)
}

struct Decoder<'a> {
    buf: &'a [u8],
    limit: usize,
}

impl Decoder<'_> {
    fn reply(&self, at: usize, depth: usize) -> Result<Option<(Reply, usize)>, DecodeError> {
        let Some(&kind) = self.buf.get(at) else { return Ok(None) };
        if !matches!(kind, b'+' | b'-' | b':' | b'$' | b'*') {
            return Err(DecodeError::NotResp);
        }
        let Some((line, mut next)) = self.line(at + 1)? else { return Ok(None) };
        let reply = match kind {
            b'+' => Reply::Simple(String::from_utf8_lossy(line).into_owned()),
            b'-' => Reply::Error(String::from_utf8_lossy(line).into_owned()),
            b':' => Reply::Integer(number(line)?),
            b'$' => {
                let Some(len) = self.length(line)? else { return Ok(Some((Reply::Nil, next))) };
                let end = next + len;
                if self.buf.len() < end + 2 {
                    return Ok(None);
                }
                if &self.buf[end..end + 2] != b"\r\n" {
                    return Err(DecodeError::NotResp);
                }
                let bytes = self.buf[next..end].to_vec();
                next = end + 2;
                Reply::Bulk(bytes)
            }
            _ => {
                let Some(count) = self.length(line)? else { return Ok(Some((Reply::Nil, next))) };
                if depth >= MAX_DEPTH {
                    return Err(DecodeError::NotResp);
                }
                let mut items = Vec::new();
                for _ in 0..count {
                    let Some((item, after)) = self.reply(next, depth + 1)? else { return Ok(None) };
                    items.push(item);
                    next = after;
                }
                Reply::Array(items)
            }
        };
        Ok(Some((reply, next)))
    }

    /// The line starting at `at` up to `\r\n`, and where the next one starts.
    fn line(&self, at: usize) -> Result<Option<(&[u8], usize)>, DecodeError> {
        let rest = self.buf.get(at..).unwrap_or_default();
        match memchr::memmem::find(rest, b"\r\n") {
            Some(end) => Ok(Some((&rest[..end], at + end + 2))),
            None if rest.len() >= self.limit => Err(DecodeError::TooLarge),
            None => Ok(None),
        }
    }

    /// A bulk length or array count: `None` for `-1` (nil).
    fn length(&self, line: &[u8]) -> Result<Option<usize>, DecodeError> {
        match number(line)? {
            -1 => Ok(None),
            n if n < 0 => Err(DecodeError::NotResp),
            n => match usize::try_from(n) {
                Ok(n) if n <= self.limit => Ok(Some(n)),
                _ => Err(DecodeError::TooLarge),
            },
        }
    }
}

/// Follows the framing of one reply across reads to find where it ends.
#[derive(Debug, Default)]
pub struct Framer {
    /// Where the next element's header starts.
    at: usize,
    /// Elements still to come in each open array, the innermost last.
    open: Vec<usize>,
}

impl Framer {
    /// `Ok(Some(end))` once `buf[..end]` holds one whole reply (`buf` is
    /// what was read so far, the same bytes each call plus more); `Ok(None)`
    /// while more bytes are needed. Errors as [`decode`] would give them.
    pub fn advance(&mut self, buf: &[u8], limit: usize) -> Result<Option<usize>, DecodeError> {
        let lengths = Decoder { buf, limit };
        loop {
            let Some(&kind) = buf.get(self.at) else { return Ok(None) };
            if !matches!(kind, b'+' | b'-' | b':' | b'$' | b'*') {
                return Err(DecodeError::NotResp);
            }
            let Some((line, mut next)) = lengths.line(self.at + 1)? else { return Ok(None) };
            match kind {
                b':' => {
                    number(line)?;
                }
                b'$' => {
                    if let Some(len) = lengths.length(line)? {
                        let end = next + len;
                        if buf.len() < end + 2 {
                            return Ok(None);
                        }
                        if &buf[end..end + 2] != b"\r\n" {
                            return Err(DecodeError::NotResp);
                        }
                        next = end + 2;
                    }
                }
                b'*' => {
                    if let Some(count) = lengths.length(line)? {
                        if self.open.len() >= MAX_DEPTH {
                            return Err(DecodeError::NotResp);
                        }
                        if count > 0 {
                            self.open.push(count);
                            self.at = next;
                            continue;
                        }
                    }
                }
                _ => {}
            }
            self.at = next;
            // An element ended: it may end its array, and that one its own.
            loop {
                let Some(left) = self.open.last_mut() else { return Ok(Some(self.at)) };
                *left -= 1;
                if *left > 0 {
                    break;
                }
                self.open.pop();
            }
        }
    }
}

fn number(line: &[u8]) -> Result<i64, DecodeError> {
    std::str::from_utf8(line).ok().and_then(|text| text.parse().ok()).ok_or(DecodeError::NotResp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(bytes: &[u8]) -> Reply {
        let (reply, used) = decode(bytes, 1024).expect("valid RESP").expect("complete");
        assert_eq!(used, bytes.len(), "the whole reply is consumed");
        reply
    }

    #[test]
    fn decodes_every_resp2_type() {
        assert_eq!(whole(b"+PONG\r\n"), Reply::Simple("PONG".into()));
        assert_eq!(whole(b"-ERR unknown\r\n"), Reply::Error("ERR unknown".into()));
        assert_eq!(whole(b":-42\r\n"), Reply::Integer(-42));
        assert_eq!(whole(b"$5\r\nhe\r\nl\r\n"), Reply::Bulk(b"he\r\nl".to_vec()));
        assert_eq!(whole(b"$-1\r\n"), Reply::Nil);
        assert_eq!(whole(b"*-1\r\n"), Reply::Nil);
        assert_eq!(
            whole(b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n"),
            Reply::Array(vec![Reply::Bulk(b"a".to_vec()), Reply::Array(vec![Reply::Integer(1)])])
        );
    }

    #[test]
    fn a_partial_reply_asks_for_more_at_every_cut() {
        let full = b"*2\r\n$3\r\nfoo\r\n+bar\r\n";
        for cut in 0..full.len() {
            assert_eq!(decode(&full[..cut], 1024), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn garbage_is_not_resp() {
        assert_eq!(decode(b"HTTP/1.1 400 Bad Request\r\n", 1024), Err(DecodeError::NotResp));
        assert_eq!(decode(b":12x\r\n", 1024), Err(DecodeError::NotResp));
        assert_eq!(decode(b"$3\r\nfooXY", 1024), Err(DecodeError::NotResp));
        assert_eq!(decode(b"$-5\r\n", 1024), Err(DecodeError::NotResp));
    }

    #[test]
    fn a_declared_length_past_the_limit_fails_before_reading_it() {
        assert_eq!(decode(b"$2000\r\n", 1024), Err(DecodeError::TooLarge));
        assert_eq!(decode(b"*99999999999\r\n", 1024), Err(DecodeError::TooLarge));
    }

    #[test]
    fn a_line_without_end_past_the_limit_is_too_large() {
        let mut endless = b"+".to_vec();
        endless.extend(std::iter::repeat_n(b'a', 1024));
        assert_eq!(decode(&endless, 1024), Err(DecodeError::TooLarge));
    }

    /// Frames `bytes` fed in pieces of `step` bytes, as reads would.
    fn framed(bytes: &[u8], step: usize) -> Result<Option<usize>, DecodeError> {
        let mut framer = Framer::default();
        for end in (step..bytes.len()).step_by(step) {
            if let Some(found) = framer.advance(&bytes[..end], 1024)? {
                return Ok(Some(found));
            }
        }
        framer.advance(bytes, 1024)
    }

    #[test]
    fn the_framer_finds_where_each_kind_of_reply_ends_however_it_is_cut() {
        let replies: &[&[u8]] = &[
            b"+PONG\r\n",
            b"-ERR x\r\n",
            b":12\r\n",
            b"$5\r\nhe\r\nl\r\n",
            b"$-1\r\n",
            b"*0\r\n",
            b"*-1\r\n",
            b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
            b"*3\r\n*2\r\n+a\r\n*0\r\n$0\r\n\r\n*1\r\n$-1\r\n",
        ];
        for reply in replies {
            let mut followed = reply.to_vec();
            followed.extend_from_slice(b"+NEXT\r\n");
            for step in 1..=reply.len() {
                assert_eq!(framed(&followed, step), Ok(Some(reply.len())), "{reply:?} in steps of {step}");
            }
            for cut in 0..reply.len() {
                assert_eq!(Framer::default().advance(&reply[..cut], 1024), Ok(None), "{reply:?} cut at {cut}");
            }
            assert_eq!(decode(reply, 1024).map(|r| r.map(|(_, used)| used)), Ok(Some(reply.len())));
        }
    }

    #[test]
    fn the_framer_refuses_what_decode_refuses() {
        assert_eq!(framed(b"HTTP/1.1 400 Bad Request\r\n", 4), Err(DecodeError::NotResp));
        assert_eq!(framed(b"*2\r\n:1\r\n:x\r\n", 3), Err(DecodeError::NotResp));
        assert_eq!(framed(b"$3\r\nfooXY", 2), Err(DecodeError::NotResp));
        assert_eq!(framed(b"*1\r\n$2000\r\n", 5), Err(DecodeError::TooLarge));
        assert_eq!(framed(&b"*1\r\n".repeat(100), 7), Err(DecodeError::NotResp));
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let deep = b"*1\r\n".repeat(10_000);
        assert_eq!(decode(&deep, usize::MAX), Err(DecodeError::NotResp));
    }
}
