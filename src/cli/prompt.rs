//! Asking the operator: y/N confirmations, typed confirmations for
//! destructive steps, missing variable values, and manual acknowledgements.
//!
//! Every question reads one line from the operator's input and writes to
//! their terminal. When there is no terminal, nothing is ever assumed: each
//! kind of answer has its own explicit flag (`--yes` for confirmations,
//! `--confirm-destructive NAME` for destructive steps, `--ack` for manual
//! steps, `--set` for values), and without it the run stops with the flag
//! to use.

use std::io::{self, BufRead, Write};

/// How the operator answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Yes, or the typed name matched, or a value was given.
    Given(String),
    /// No, an empty answer, or a typed name that did not match.
    Refused,
    /// Input ended (Ctrl-D, or no terminal to ask).
    Closed,
}

/// Asks questions on `input`/`output`: a terminal, or pipes in tests.
#[derive(Debug)]
pub struct Prompter<R, W> {
    input: R,
    output: W,
}

impl<R: BufRead, W: Write> Prompter<R, W> {
    pub fn new(input: R, output: W) -> Self {
        Prompter { input, output }
    }

    /// `question [y/N] `: yes only for `y` or `yes`, in any case.
    pub fn confirm(&mut self, question: &str) -> io::Result<Answer> {
        write!(self.output, "{question} [y/N] ")?;
        self.output.flush()?;
        Ok(match self.line()? {
            None => Answer::Closed,
            Some(line) if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") => {
                Answer::Given("yes".to_owned())
            }
            Some(_) => Answer::Refused,
        })
    }

    /// Asks the operator to type `expected` (an environment or runbook
    /// name) to go on: a destructive step is not one Enter away.
    pub fn typed(&mut self, question: &str, expected: &str) -> io::Result<Answer> {
        write!(self.output, "{question}\nType `{expected}` to go on, anything else to stop: ")?;
        self.output.flush()?;
        Ok(match self.line()? {
            None => Answer::Closed,
            Some(line) if line.trim() == expected => Answer::Given(expected.to_owned()),
            Some(_) => Answer::Refused,
        })
    }

    /// Asks for a variable's value; an empty line is a refusal.
    pub fn value(&mut self, name: &str, description: Option<&str>) -> io::Result<Answer> {
        match description {
            Some(description) => write!(self.output, "{name} ({description}): ")?,
            None => write!(self.output, "{name}: ")?,
        }
        self.output.flush()?;
        Ok(match self.line()? {
            None => Answer::Closed,
            Some(line) if line.trim().is_empty() => Answer::Refused,
            Some(line) => Answer::Given(line.trim_end_matches(['\n', '\r']).to_owned()),
        })
    }

    /// Asks the operator to pick one of `options` by number or label
    /// (`A`); the answer is the option's index. Anything else refuses:
    /// a choice is never guessed.
    pub fn choose(&mut self, question: &str, options: &[(String, String)]) -> io::Result<Result<usize, Answer>> {
        writeln!(self.output, "{question}")?;
        for (n, (_, title)) in options.iter().enumerate() {
            writeln!(self.output, "  {}) {title}", n + 1)?;
        }
        write!(self.output, "Choose 1-{}: ", options.len())?;
        self.output.flush()?;
        let Some(line) = self.line()? else { return Ok(Err(Answer::Closed)) };
        let line = line.trim();
        let by_number = line.parse::<usize>().ok().filter(|n| (1..=options.len()).contains(n)).map(|n| n - 1);
        let by_label = || options.iter().position(|(label, _)| label.eq_ignore_ascii_case(line));
        Ok(by_number.or_else(by_label).ok_or(Answer::Refused))
    }

    /// One line of input, `None` at its end.
    fn line(&mut self) -> io::Result<Option<String>> {
        let mut line = String::new();
        if self.input.read_line(&mut line)? == 0 {
            writeln!(self.output)?;
            return Ok(None);
        }
        Ok(Some(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(
        input: &str,
        question: impl FnOnce(&mut Prompter<&[u8], &mut Vec<u8>>) -> io::Result<Answer>,
    ) -> (Answer, String) {
        let mut shown = Vec::new();
        let answer = question(&mut Prompter::new(input.as_bytes(), &mut shown)).unwrap();
        (answer, String::from_utf8(shown).unwrap())
    }

    #[test]
    fn confirm_is_yes_only_when_the_operator_says_so() {
        for yes in ["y\n", "Y\n", "yes\n", " YES \n"] {
            assert_eq!(ask(yes, |p| p.confirm("restart tornado?")).0, Answer::Given("yes".to_owned()), "{yes:?}");
        }
        for no in ["\n", "n\n", "yep\n", "sure\n"] {
            assert_eq!(ask(no, |p| p.confirm("restart tornado?")).0, Answer::Refused, "{no:?}");
        }
        let (answer, shown) = ask("", |p| p.confirm("restart tornado?"));
        assert_eq!(answer, Answer::Closed);
        assert_eq!(shown, "restart tornado? [y/N] \n");
    }

    #[test]
    fn a_destructive_step_needs_the_name_typed_exactly() {
        let question = "step `drop-branch` is destructive: it runs `DROP DATABASE`";
        assert_eq!(ask("production\n", |p| p.typed(question, "production")).0, Answer::Given("production".to_owned()));
        for wrong in ["y\n", "yes\n", "Production\n", "prod\n", "\n"] {
            assert_eq!(ask(wrong, |p| p.typed(question, "production")).0, Answer::Refused, "{wrong:?}");
        }
        let (_, shown) = ask("production\n", |p| p.typed(question, "production"));
        assert_eq!(shown, format!("{question}\nType `production` to go on, anything else to stop: "));
    }

    #[test]
    fn a_choice_is_taken_by_number_or_label_and_never_guessed() {
        let options =
            [("A".to_owned(), "Option A: restart".to_owned()), ("B".to_owned(), "Option B: drain".to_owned())];
        let pick = |input: &str| {
            let mut shown = Vec::new();
            let picked = Prompter::new(input.as_bytes(), &mut shown).choose("Which?", &options).unwrap();
            (picked, String::from_utf8(shown).unwrap())
        };
        assert_eq!(pick("2\n").0, Ok(1));
        assert_eq!(pick("a\n").0, Ok(0));
        assert_eq!(pick("3\n").0, Err(Answer::Refused));
        assert_eq!(pick("\n").0, Err(Answer::Refused));
        assert_eq!(pick("").0, Err(Answer::Closed));
        assert_eq!(pick("1\n").1, "Which?\n  1) Option A: restart\n  2) Option B: drain\nChoose 1-2: ");
    }

    #[test]
    fn a_value_keeps_inner_spaces_and_an_empty_line_refuses() {
        assert_eq!(ask("  a b \n", |p| p.value("label", None)).0, Answer::Given("  a b ".to_owned()));
        assert_eq!(ask("\n", |p| p.value("label", None)).0, Answer::Refused);
        let (_, shown) = ask("42\n", |p| p.value("pid", Some("backend to stop")));
        assert_eq!(shown, "pid (backend to stop): ");
    }
}
