//! Command-line option parsing, getopt-style: which words are options,
//! which take a value, and which are operands (the command a wrapper runs,
//! the subcommand of a tool).

use crate::runbook::shell::Word;

/// Which options take a value.
#[derive(Debug)]
pub(super) struct Spec {
    /// Short options that take a value (`-u USER`, `-uUSER`).
    pub(super) short: &'static str,
    /// Long options that take a value as the next word (`--user USER`);
    /// `--user=USER` works for any.
    pub(super) long: &'static [&'static str],
}

impl Spec {
    pub(super) const fn short(short: &'static str) -> Spec {
        Spec { short, long: &[] }
    }
}

pub(super) const SUDO: Spec = Spec {
    short: "ugpCDhrtUTR",
    long: &[
        "user",
        "group",
        "prompt",
        "close-from",
        "chdir",
        "host",
        "role",
        "type",
        "other-user",
        "command-timeout",
        "chroot",
    ],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flag<'w> {
    Short(char),
    Long(&'w str),
}

#[derive(Debug)]
pub(super) struct Opt<'w> {
    pub(super) flag: Flag<'w>,
    pub(super) value: Option<&'w str>,
    /// The word holding the value, or the option itself.
    pub(super) word: &'w Word,
}

impl Opt<'_> {
    pub(super) fn is(&self, short: char, long: &str) -> bool {
        match self.flag {
            Flag::Short(c) => c == short,
            Flag::Long(name) => !long.is_empty() && name == long,
        }
    }

    pub(super) fn long(&self) -> &str {
        match self.flag {
            Flag::Long(name) => name,
            Flag::Short(_) => "",
        }
    }
}

pub(super) fn has(options: &[Opt<'_>], short: char, long: &str) -> bool {
    options.iter().any(|o| o.is(short, long))
}

/// Splits `args` into options and operands, getopt-style. Without
/// `interleaved`, the first operand ends the options (`sudo -u x cmd -f`).
pub(super) fn parse_options<'w>(args: &'w [Word], spec: &Spec, interleaved: bool) -> (Vec<Opt<'w>>, &'w [Word]) {
    let (options, operands) = collect_options(args, spec, interleaved);
    if interleaved {
        // Operands are scattered; callers that need the words get them in
        // order, cloned into place by `interleaved_operands`.
        return (options, interleaved_operands(args, &operands));
    }
    (options, operands.first().map_or(&args[args.len()..], |&first| &args[first..]))
}

/// Indices of operands, and the options.
pub(super) fn collect_options<'w>(args: &'w [Word], spec: &Spec, interleaved: bool) -> (Vec<Opt<'w>>, Vec<usize>) {
    let mut options = Vec::new();
    let mut operands = Vec::new();
    let mut i = 0;
    while let Some(word) = args.get(i) {
        let index = i;
        i += 1;
        let value = word.value.as_str();
        if value == "--" {
            operands.extend(i..args.len());
            break;
        }
        if let Some(long) = value.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((name, attached)) => (name, Some(attached)),
                None => (long, None),
            };
            let mut holder = word;
            let value = match attached {
                Some(attached) => Some(attached),
                None if spec.long.contains(&name) => {
                    let next = args.get(i);
                    i += 1;
                    holder = next.unwrap_or(word);
                    next.map(|w| w.value.as_str())
                }
                None => None,
            };
            options.push(Opt { flag: Flag::Long(name), value, word: holder });
        } else if let Some(cluster) = short_cluster(value) {
            for (at, letter) in cluster.char_indices() {
                if spec.short.contains(letter) {
                    let attached = &cluster[at + letter.len_utf8()..];
                    if attached.is_empty() {
                        let next = args.get(i);
                        i += 1;
                        options.push(Opt {
                            flag: Flag::Short(letter),
                            value: next.map(|w| w.value.as_str()),
                            word: next.unwrap_or(word),
                        });
                    } else {
                        options.push(Opt { flag: Flag::Short(letter), value: Some(attached), word });
                    }
                    break;
                }
                options.push(Opt { flag: Flag::Short(letter), value: None, word });
            }
        } else {
            operands.push(index);
            if !interleaved {
                operands.extend(i..args.len());
                break;
            }
        }
    }
    (options, operands)
}

/// The operands of an interleaved command line. They are contiguous in the
/// common case (`tee -a f g`); when options sit between them, the run from
/// the first operand on is returned only if it holds no option, else just
/// the operands up to the first option after them.
pub(super) fn interleaved_operands<'w>(args: &'w [Word], operands: &[usize]) -> &'w [Word] {
    let Some(&first) = operands.first() else { return &args[args.len()..] };
    let contiguous = operands.iter().enumerate().take_while(|(n, index)| **index == first + n).count();
    &args[first..first + contiguous]
}

/// The letters of a short-option cluster (`-rf` → `rf`), if `arg` is one.
pub(super) fn short_cluster(arg: &str) -> Option<&str> {
    arg.strip_prefix('-').filter(|rest| !rest.is_empty() && !rest.starts_with('-'))
}

/// Whether `arg` reads as a subcommand (`restart`, `list-units`).
pub(super) fn is_subcommand(arg: &str) -> bool {
    arg.len() <= 24
        && arg.starts_with(|c: char| c.is_ascii_lowercase())
        && arg.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

pub(super) fn skip_assignments(words: &[Word]) -> &[Word] {
    let count = words
        .iter()
        .take_while(|w| {
            w.value.split_once('=').is_some_and(|(name, _)| {
                name.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic())
                    && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
            })
        })
        .count();
    &words[count..]
}

/// Arguments that are not options nor the values of `with_value` options.
pub(super) fn operands_skipping<'a>(
    args: &'a [&'a str],
    with_value: &'a [&'a str],
) -> impl Iterator<Item = &'a str> + 'a {
    let mut skip = false;
    args.iter().copied().filter(move |arg| {
        if std::mem::take(&mut skip) {
            return false;
        }
        if arg.starts_with('-') {
            skip = with_value.contains(arg);
            return false;
        }
        true
    })
}
