//! Where a piece of analysed text sits in the step's text, so that a
//! finding points at the words it came from even when the text was
//! unquoted, joined, or fed on standard input.

use std::ops::Range;

use crate::runbook::shell::Word;

/// Where a piece of analysed text sits in the step's text.
#[derive(Debug, Clone, Default)]
pub(super) struct Origin {
    /// Added to ranges in the piece when it appears verbatim in the step.
    pub(super) offset: usize,
    /// When it does not (it was unquoted or joined), every finding points
    /// at this range instead: the words it came from.
    pub(super) whole: Option<Range<usize>>,
}

impl Origin {
    pub(super) fn map(&self, range: &Range<usize>) -> Range<usize> {
        match &self.whole {
            Some(whole) => whole.clone(),
            None => range.start + self.offset..range.end + self.offset,
        }
    }

    /// The origin of `inner`, which came from `range` of `text` (itself at
    /// this origin): precise when `inner` appears there verbatim.
    pub(super) fn within(&self, text: &str, range: &Range<usize>, inner: &str) -> Origin {
        if self.whole.is_some() {
            return self.clone();
        }
        match text.get(range.clone()).and_then(|raw| raw.find(inner)) {
            Some(at) if !inner.is_empty() => Origin { offset: self.offset + range.start + at, whole: None },
            _ => Origin { offset: 0, whole: Some(self.map(range)) },
        }
    }

    /// The origin of the verbatim piece of `text` starting at `start`.
    pub(super) fn at(&self, start: usize) -> Origin {
        Origin { offset: self.offset + start, whole: self.whole.clone() }
    }
}

/// Text a command reads on standard input: a here-document, a here-string,
/// or what the previous command in a pipeline prints.
#[derive(Debug)]
pub(super) struct Input {
    pub(super) text: String,
    pub(super) origin: Origin,
}

/// One command being judged, and where it came from.
#[derive(Debug)]
pub(super) struct Site<'a> {
    pub(super) text: &'a str,
    pub(super) origin: &'a Origin,
    pub(super) depth: usize,
    /// The command's range in the step.
    pub(super) range: Range<usize>,
    pub(super) inputs: Vec<Input>,
}

impl Site<'_> {
    /// The origin of text taken from `words` (one word: precise; several
    /// joined: their whole span).
    pub(super) fn origin_of(&self, words: &[Word], inner: &str) -> Origin {
        match words {
            [word] => self.origin.within(self.text, &word.range, inner),
            [first, .., last] => {
                Origin { offset: 0, whole: Some(self.origin.map(&(first.range.start..last.range.end))) }
            }
            [] => Origin { offset: 0, whole: Some(self.range.clone()) },
        }
    }
}
