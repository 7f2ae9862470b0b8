//! Steps: what a procedure does, one fenced block or checklist item each.

use std::ops::Range;

use super::attributes::Attributes;
use super::diagnostic::Location;
use super::safety::{Assessment, Safety};
use super::source::SourceMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The `name` attribute, else `step-N` (N counts the runbook's steps from 1).
    pub id: String,
    pub kind: StepKind,
    pub attributes: Attributes,
    /// Where the fence or checklist item starts.
    pub location: Location,
    /// The step's bytes in the source: a code block from its opening fence
    /// through its closing one, or a checklist item from its `[ ]` through
    /// the end of its text.
    pub span: Range<usize>,
    /// Index of the section the step is written in.
    pub section: usize,
    /// The block's content as written, fences and indentation removed.
    pub body: String,
    /// Where each line of `body` sits in the file.
    pub body_map: SourceMap,
    /// The inferred safety and why; `attributes.safety` overrides it.
    pub assessment: Assessment,
    /// The block that undoes this step if a later one fails.
    pub rollback: Option<Box<Step>>,
}

impl Step {
    /// Read, write or destructive: the author's word if given, else inferred.
    pub fn safety(&self) -> Safety {
        self.attributes.safety.unwrap_or(self.assessment.safety)
    }

    /// Whether the operator is asked before the step runs.
    pub fn confirms(&self) -> bool {
        self.attributes.confirm.is_some() || self.attributes.safety == Some(Safety::Destructive)
    }

    /// The part of `body` that runs, at the same offsets as in `body`
    /// (a transcript's output and prompts blanked out); `None` for gates and
    /// manual steps, which run no text.
    pub fn runnable_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match &self.kind {
            StepKind::Shell(shell) if !shell.transcript.is_empty() => {
                Some(transcript_commands_in_place(&self.body).into())
            }
            StepKind::Shell(_) | StepKind::Sql(_) | StepKind::Redis(_) | StepKind::Http(_) => {
                Some(self.body.as_str().into())
            }
            StepKind::Gate(_) | StepKind::Manual(_) => None,
        }
    }

    /// The location of byte `offset` of `body` in the file.
    pub fn location_of(&self, offset: usize) -> Location {
        self.body_map.location(&self.body, offset)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Shell(Shell),
    Sql(Sql),
    Redis(Redis),
    Http(Http),
    /// A `checks` block inside a procedure: the named checks must pass.
    Gate(Gate),
    /// A task-list item the operator does and acknowledges.
    Manual(Manual),
}

impl StepKind {
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Shell(_) => "shell",
            StepKind::Sql(_) => "sql",
            StepKind::Redis(_) => "redis",
            StepKind::Http(_) => "http",
            StepKind::Gate(_) => "checks",
            StepKind::Manual(_) => "manual",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shell {
    /// The fence language as written, lower-cased (`sh`, `bash`, `console`, `""`).
    pub language: String,
    /// What runs: the block, or for a transcript its commands joined by newlines.
    pub script: String,
    /// For a `console` block or one with `$ ` prompts: each command and the
    /// output the author showed after it (documentation, never run).
    pub transcript: Vec<TranscriptEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptEntry {
    /// The command without its `$ ` prompt, continuation lines included.
    pub command: String,
    pub output: String,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sql {
    pub sql: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redis {
    /// One command a line (`LLEN axiomdb:commands`).
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Http {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    /// Names of the checks (defined in this block or elsewhere).
    pub checks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manual {
    pub text: String,
    /// `- [x]` in the source; it is still asked at run time.
    pub checked: bool,
}

/// The languages whose blocks are shell steps.
pub const SHELL_LANGUAGES: &[&str] = &["sh", "bash", "shell", "zsh", "console", "shell-session", "shellsession"];

/// Whether `body` is a terminal transcript: its first command line starts with `$ `.
pub fn is_transcript(body: &str) -> bool {
    body.lines().map(str::trim_start).find(|line| !line.is_empty()).is_some_and(is_prompt)
}

fn is_prompt(line: &str) -> bool {
    line == "$" || line.starts_with("$ ")
}

/// Splits a transcript into commands (with `\` continuations) and the
/// output after each. `at` maps a body offset to its file location.
pub fn split_transcript(body: &str, at: impl Fn(usize) -> Location) -> Vec<TranscriptEntry> {
    let mut entries: Vec<TranscriptEntry> = Vec::new();
    let mut continuing = false;
    let mut offset = 0;
    for raw in body.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        if continuing && let Some(entry) = entries.last_mut() {
            let text = trimmed.strip_prefix("> ").unwrap_or(trimmed);
            entry.command.push('\n');
            entry.command.push_str(text);
            continuing = text.ends_with('\\');
        } else if is_prompt(trimmed) {
            let command = trimmed.strip_prefix('$').unwrap_or_default().trim_start();
            continuing = command.ends_with('\\');
            entries.push(TranscriptEntry { command: command.to_owned(), output: String::new(), location: at(offset) });
        } else if let Some(entry) = entries.last_mut() {
            entry.output.push_str(line);
            entry.output.push('\n');
        }
        offset += raw.len();
    }
    entries
}

/// The runnable text of a transcript with everything else blanked out, so
/// that offsets into it are offsets into the body (for locating findings).
pub fn transcript_commands_in_place(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut continuing = false;
    for raw in body.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        let keep = continuing || is_prompt(trimmed);
        if keep {
            continuing = trimmed.ends_with('\\');
        }
        if keep {
            // blank the prompt itself so `$ ` does not read as an expansion
            let prompt_at = line.len() - trimmed.len();
            for (i, c) in raw.char_indices() {
                let blank = i >= prompt_at && i < prompt_at + 1 && trimmed.starts_with('$');
                push_same_width(&mut out, if blank { ' ' } else { c }, c);
            }
        } else {
            raw.chars().for_each(|c| push_same_width(&mut out, if c == '\n' { '\n' } else { ' ' }, c));
        }
    }
    out
}

/// Pushes `replacement` padded to the byte width of `original`.
fn push_same_width(out: &mut String, replacement: char, original: char) {
    if replacement == original {
        out.push(original);
    } else {
        out.push(replacement);
        out.extend(std::iter::repeat_n(' ', original.len_utf8() - replacement.len_utf8()));
    }
}

/// Reads an `http` block: `METHOD URL`, header lines, a blank line, a body.
pub fn parse_http(body: &str) -> Option<Http> {
    let mut lines = body.lines();
    let first = lines.by_ref().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let (method, url) = match first.split_once(char::is_whitespace) {
        Some((method, url)) if method.chars().all(|c| c.is_ascii_uppercase()) => {
            (method.to_owned(), url.trim().to_owned())
        }
        _ => ("GET".to_owned(), first.to_owned()),
    };
    let mut headers = Vec::new();
    for line in lines.by_ref() {
        let line = line.trim();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let rest: Vec<&str> = lines.collect();
    let body = rest.join("\n");
    Some(Http { method, url, headers, body: (!body.trim().is_empty()).then_some(body) })
}

pub fn parse_redis(body: &str) -> Redis {
    Redis {
        commands: body
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_owned)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_split_into_commands_and_output() {
        let body = "$ systemctl is-active tornado\nactive\n$ curl -s \\\n    http://127.0.0.1:8000/health\n{\"status\":\"healthy\"}\n";
        let entries = split_transcript(body, |_| Location::default());
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].command, "systemctl is-active tornado");
        assert_eq!(entries[0].output, "active\n");
        assert_eq!(entries[1].command, "curl -s \\\nhttp://127.0.0.1:8000/health");
        assert_eq!(entries[1].output, "{\"status\":\"healthy\"}\n");
    }

    #[test]
    fn blanked_transcript_keeps_offsets() {
        let body = "$ echo $HOME\nÿ output\n$ ls\n";
        let blanked = transcript_commands_in_place(body);
        assert_eq!(blanked.len(), body.len());
        assert_eq!(blanked, "  echo $HOME\n         \n  ls\n");
    }

    #[test]
    fn a_step_spans_its_fences_or_its_checklist_item() {
        // The report writes each step's result right after its span.
        let source = "# Ops\n\n## Fix\n\n```sh\necho hi\n```\n\n- [ ] Tell the channel\n  and wait\n- [ ] Done\n\n1. Then:\n   ~~~~bash\n   true\n   ~~~~\n";
        let runbook = crate::runbook::parse(std::path::Path::new("ops.md"), source).runbook;
        let spans: Vec<&str> = runbook.steps.iter().map(|s| &source[s.span.clone()]).collect();
        assert_eq!(
            spans,
            ["```sh\necho hi\n```", "[ ] Tell the channel\n  and wait", "[ ] Done", "~~~~bash\n   true\n   ~~~~"]
        );
        assert_eq!(runbook.steps[1].location, Location::new(9, 6), "diagnostics still point after the marker");
        let fix = runbook.section("fix").unwrap();
        assert_eq!(&source[fix.heading.clone()], "## Fix\n");
    }

    #[test]
    fn http_blocks_read_like_request_files() {
        let http = parse_http("POST {{ url }}/api\nContent-Type: application/json\n\n{\"a\": 1}\n").unwrap();
        assert_eq!(http.method, "POST");
        assert_eq!(http.headers, [("Content-Type".to_owned(), "application/json".to_owned())]);
        assert_eq!(http.body.as_deref(), Some("{\"a\": 1}"));
        assert_eq!(parse_http("http://x/health").unwrap().method, "GET");
    }
}
