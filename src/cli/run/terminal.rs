//! The terminal as the runner's [`Operator`]: flags answer first (`--yes`,
//! `--confirm-destructive NAME`, `--ack`), then the person at the terminal.
//! Without a terminal and without the flag, nothing is assumed: the run
//! stops and names the flag that answers.

use std::io::{IsTerminal, Write};

use crate::cli::prompt::{Answer, Prompter};
use crate::runner::{Answered, Asking, Operator, Options, Question, Stop, indent};

#[derive(Debug)]
pub(in crate::cli) struct Terminal {
    name: String,
    yes: bool,
    confirm_destructive: Option<String>,
    ack: bool,
}

impl Terminal {
    pub(in crate::cli) fn new(options: &Options, name: String) -> Terminal {
        Terminal { name, yes: options.yes, confirm_destructive: options.confirm_destructive.clone(), ack: options.ack }
    }

    fn answer(&self, question: Question<'_>) -> Result<Answered, Stop> {
        let answered = |(answer, accepted): (String, bool)| Answered { answer, accepted, by: self.name.clone() };
        if let Question::Confirm { prompt, .. } | Question::Destructive { prompt, .. } = question
            && !can_ask()
        {
            // The log of a run without a terminal still says what was asked.
            let _ = writeln!(anstream::stdout(), "? {prompt}");
        }
        let result = match question {
            Question::Confirm { .. } if self.yes => ("--yes".to_owned(), true),
            Question::Confirm { prompt, .. } => ask(|p| p.confirm(prompt), "--yes")?,
            Question::Destructive { expected, .. } if self.confirm_destructive.is_some() => {
                let given = self.confirm_destructive.as_deref().unwrap_or_default();
                (format!("--confirm-destructive {given}"), given == expected)
            }
            Question::Destructive { prompt, shown, expected, .. } => ask(
                |p| p.typed(&format!("{}\n{prompt}", indent(shown)), expected),
                &format!("--confirm-destructive {expected}"),
            )?,
            Question::Choose { options } => {
                let flag = format!("--option {}", options.first().map_or("A", |(label, _)| label.as_str()));
                ask(
                    |p| match p.choose("This procedure offers a choice:", options)? {
                        Ok(n) => Ok(Answer::Given(n.to_string())),
                        Err(answer) => Ok(answer),
                    },
                    &flag,
                )?
            }
            Question::Acknowledge { .. } if self.ack => ("--ack".to_owned(), true),
            Question::Acknowledge { .. } => ask(|p| p.confirm("done?"), "--ack")?,
        };
        Ok(answered(result))
    }
}

impl Operator for Terminal {
    fn name(&self) -> &str {
        &self.name
    }

    fn ask<'a>(&'a mut self, question: Question<'a>) -> Asking<'a> {
        // Reading the terminal blocks this thread; the run waits for the
        // answer anyway, and its runtime has nothing else to do meanwhile.
        let answer = self.answer(question);
        Box::pin(std::future::ready(answer))
    }
}

/// Asks on the terminal; without one, stops naming the flag that answers.
pub(in crate::cli) fn ask(
    question: impl FnOnce(&mut Prompter<std::io::StdinLock<'static>, std::io::Stderr>) -> std::io::Result<Answer>,
    flag: &str,
) -> Result<(String, bool), Stop> {
    if !can_ask() {
        return Err(Stop::Declined(format!("no terminal to ask on; pass {flag} to answer")));
    }
    let mut prompter = Prompter::new(std::io::stdin().lock(), std::io::stderr());
    match question(&mut prompter).map_err(|e| Stop::Failed(format!("cannot ask: {e}")))? {
        Answer::Given(answer) => Ok((answer, true)),
        Answer::Refused => Ok(("no".to_owned(), false)),
        Answer::Closed => Ok(("(input closed)".to_owned(), false)),
    }
}

/// Whether there is someone to ask: a terminal, or a test's pipe
/// (`RUNWELL_INTERACTIVE=1`).
pub(in crate::cli) fn can_ask() -> bool {
    std::io::stdin().is_terminal() || std::env::var_os("RUNWELL_INTERACTIVE").is_some_and(|v| v == "1")
}
