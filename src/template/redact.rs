//! Masking secret values in anything shown: whole texts ([`Redactor`]) and
//! output that arrives in chunks ([`StreamRedactor`]), where a value may be
//! split across two chunks and must still be masked.

use memchr::memmem;

use super::MASK;

/// Replaces every secret value in text with [`MASK`]. `Debug` says how
/// many values it masks, never which.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is masked whole.
    values: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor").field("secrets", &self.values.len()).finish()
    }
}

impl Redactor {
    /// Masks `value` from now on. Empty values mask nothing.
    pub fn add(&mut self, value: &str) {
        if value.is_empty() || self.values.iter().any(|v| v == value) {
            return;
        }
        self.values.push(value.to_owned());
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// Masks everything `other` masks.
    pub fn extend(&mut self, other: &Redactor) {
        for value in &other.values {
            self.add(value);
        }
    }

    /// `text` with every secret value masked.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), MASK);
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// A masker for one output stream.
    pub fn stream(&self) -> StreamRedactor {
        StreamRedactor { values: self.values.iter().map(|v| v.as_bytes().to_vec()).collect(), held: Vec::new() }
    }
}

/// Masks secrets in a byte stream fed in chunks of any size.
///
/// Bytes that could be the start of a secret cut off by the end of a chunk
/// are held back until the next chunk shows whether they are; everything
/// else passes through at once, so output is delayed only when it looks
/// like a secret's beginning. Works on bytes: output that is not UTF-8
/// passes through unchanged.
#[derive(Debug, Clone, Default)]
pub struct StreamRedactor {
    /// Longest first.
    values: Vec<Vec<u8>>,
    held: Vec<u8>,
}

impl StreamRedactor {
    /// The bytes of `chunk` (after any held back) that are safe to show.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.values.is_empty() {
            return chunk.to_vec();
        }
        let mut buf = std::mem::take(&mut self.held);
        buf.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(buf.len());
        let mut at = 0;
        loop {
            let rest = &buf[at..];
            let hold = partial_start(&self.values, rest);
            match next_match(&self.values, rest) {
                // A match starting before `hold` is the right one: a longer
                // secret starting at or before it and cut off would have
                // moved `hold` before it.
                Some((start, len)) if start < hold => {
                    out.extend_from_slice(&rest[..start]);
                    out.extend_from_slice(MASK.as_bytes());
                    at += start + len;
                }
                _ => {
                    out.extend_from_slice(&rest[..hold]);
                    self.held = rest[hold..].to_vec();
                    return out;
                }
            }
        }
    }

    /// The end of the stream: what was held back, masked if it is a secret.
    pub fn finish(&mut self) -> Vec<u8> {
        let held = std::mem::take(&mut self.held);
        let mut out = Vec::with_capacity(held.len());
        let mut at = 0;
        while let Some((start, len)) = next_match(&self.values, &held[at..]) {
            out.extend_from_slice(&held[at..at + start]);
            out.extend_from_slice(MASK.as_bytes());
            at += start + len;
        }
        out.extend_from_slice(&held[at..]);
        out
    }
}

/// The earliest match of any value in `text` whose start lies in `text`
/// (and which ends in it): start and length; the longest value wins a tie.
fn next_match(values: &[Vec<u8>], text: &[u8]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for value in values {
        if let Some(start) = memmem::find(text, value)
            && best.is_none_or(|(b, _)| start < b)
        {
            best = Some((start, value.len()));
        }
    }
    best
}

/// Where the longest suffix of `text` that is a proper prefix of a value
/// begins; `text.len()` if none is.
fn partial_start(values: &[Vec<u8>], text: &[u8]) -> usize {
    let mut start = text.len();
    for value in values {
        let longest = (value.len() - 1).min(text.len());
        for k in (1..=longest).rev() {
            if text.len() - k >= start {
                break;
            }
            if text.ends_with(&value[..k]) {
                start = text.len() - k;
                break;
            }
        }
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(values: &[&str]) -> Redactor {
        let mut redactor = Redactor::default();
        for value in values {
            redactor.add(value);
        }
        redactor
    }

    /// Feeds `text` cut at every position and in single bytes, and checks the
    /// stream gives what masking the whole text at once gives.
    fn same_as_whole(values: &[&str], text: &str) {
        let whole = redactor(values).redact(text);
        for cut in 0..=text.len() {
            let mut stream = redactor(values).stream();
            let mut out = stream.push(&text.as_bytes()[..cut]);
            out.extend(stream.push(&text.as_bytes()[cut..]));
            out.extend(stream.finish());
            assert_eq!(String::from_utf8(out).unwrap(), whole, "cut at {cut}");
        }
        let mut stream = redactor(values).stream();
        let mut out: Vec<u8> = text.bytes().flat_map(|b| stream.push(&[b])).collect();
        out.extend(stream.finish());
        assert_eq!(String::from_utf8(out).unwrap(), whole, "byte by byte");
    }

    #[test]
    fn a_secret_split_across_chunks_is_still_masked() {
        same_as_whole(&["hunter2"], "login hunter2 ok, hunter2\n");
        same_as_whole(&["s3cret", "cr"], "a s3cret b cr c s3c");
        same_as_whole(&["aaa"], "aaaaaaa");
    }

    #[test]
    fn text_that_only_looks_like_a_secret_start_is_released_at_the_end() {
        let mut stream = redactor(&["hunter2"]).stream();
        assert_eq!(stream.push(b"user hun"), b"user ");
        assert_eq!(stream.push(b"gry\n"), b"hungry\n");
        assert_eq!(stream.push(b"hunt"), b"");
        assert_eq!(stream.finish(), b"hunt");
    }

    #[test]
    fn output_that_is_not_utf8_passes_through_unchanged() {
        let mut stream = redactor(&["pw"]).stream();
        let mut out = stream.push(&[0xff, 0xfe, b'p']);
        out.extend(stream.push(&[b'w', 0x80]));
        out.extend(stream.finish());
        assert_eq!(out, [&[0xff, 0xfe][..], MASK.as_bytes(), &[0x80]].concat());
    }
}
