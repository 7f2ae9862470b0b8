//! Markdown to `Runbook`: one pass over pulldown-cmark's events.
//!
//! Headings open sections; fenced blocks in a step language and checklist
//! items become steps of the innermost section; `checks` blocks define
//! checks and gate the procedure they sit in. Placeholders outside steps
//! are collected afterwards by scanning the text between the blocks.

use std::ops::Range;
use std::path::Path;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use super::attributes::{self, InfoString};
use super::check_spec::{self, Entry};
use super::diagnostic::{Diagnostic, Location};
use super::front_matter::{self, FrontMatter};
use super::placeholder::{self, Found};
use super::safety::{self, Assessment, Safety};
use super::slug::Slugger;
use super::source::{LineIndex, SourceMap};
use super::step::{self, Gate, Manual, Shell, Sql, Step, StepKind};
use super::{Mention, MentionContext, Parsed, Placeholder, Runbook, Section};

pub(super) fn parse(path: &Path, source: &str) -> Parsed {
    let mut diagnostics = Vec::new();
    let bom = if source.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let split = front_matter::split(&source[bom..], &mut diagnostics);
    let front_matter = split.yaml.map(|yaml| front_matter::parse(yaml, &mut diagnostics)).unwrap_or_default();
    let body_start = bom + split.body_start;

    let mut builder = Builder::new(source, front_matter, diagnostics);
    builder.walk(body_start);
    builder.collect_mentions(body_start);
    builder.finish(path)
}

/// What is being read between a block's start and end events.
#[derive(Debug)]
struct OpenCode {
    range_start: usize,
    info: String,
    fenced: bool,
    body: String,
    map: SourceMap,
}

#[derive(Debug)]
struct OpenHeading {
    level: u8,
    start: usize,
    title: String,
}

/// A checklist item whose text is still being read.
#[derive(Debug)]
struct OpenTask {
    checked: bool,
    /// Where its `[ ]` marker starts.
    marker: usize,
    /// Where its text starts, after the marker.
    start: usize,
    text: String,
    end: usize,
}

struct Builder<'s> {
    source: &'s str,
    lines: LineIndex,
    front_matter: FrontMatter,
    diagnostics: Vec<Diagnostic>,
    sections: Vec<Section>,
    /// The step count when each section's heading was read.
    section_starts: Vec<usize>,
    slugger: Slugger,
    steps: Vec<Step>,
    checks: Vec<check_spec::CheckSpec>,
    /// Ranges of code and HTML blocks, which prose scanning skips; `Some(true)`
    /// for blocks that are examples (scanned for templates only).
    skipped: Vec<(Range<usize>, bool)>,
    headings: Vec<Range<usize>>,
    tasks: Vec<Range<usize>>,
    services: Vec<String>,
    mentions: Vec<Mention>,
}

impl<'s> Builder<'s> {
    fn new(source: &'s str, front_matter: FrontMatter, diagnostics: Vec<Diagnostic>) -> Self {
        let services = front_matter.services.iter().flat_map(|s| [s.name.clone(), s.unit().to_owned()]).collect();
        let preamble = Section {
            id: String::new(),
            title: String::new(),
            level: 0,
            location: Location::new(1, 1),
            heading: 0..0,
            parent: None,
            own_steps: 0..0,
            all_steps: 0..0,
            option: None,
        };
        Builder {
            source,
            lines: LineIndex::new(source),
            front_matter,
            diagnostics,
            sections: vec![preamble],
            section_starts: vec![0],
            slugger: Slugger::default(),
            steps: Vec::new(),
            checks: Vec::new(),
            skipped: Vec::new(),
            headings: Vec::new(),
            tasks: Vec::new(),
            services,
            mentions: Vec::new(),
        }
    }

    fn at(&self, offset: usize) -> Location {
        self.lines.location(self.source, offset)
    }

    fn walk(&mut self, body_start: usize) {
        let options = Options::ENABLE_TABLES
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_FOOTNOTES;
        let body = &self.source[body_start..];
        let mut code: Option<OpenCode> = None;
        let mut heading: Option<OpenHeading> = None;
        let mut html_start: Option<usize> = None;
        // One entry per open list item: `Some` while its checklist text is being read.
        let mut items: Vec<Option<OpenTask>> = Vec::new();

        for (event, range) in Parser::new_ext(body, options).into_offset_iter() {
            let range = range.start + body_start..range.end + body_start;
            match event {
                Event::Start(Tag::Heading { level, .. }) => {
                    heading = Some(OpenHeading { level: level as u8, start: range.start, title: String::new() });
                }
                Event::End(TagEnd::Heading(_)) => {
                    if let Some(open) = heading.take() {
                        self.headings.push(open.start..range.end);
                        self.open_section(&open, range.end);
                    }
                }
                Event::Start(Tag::CodeBlock(kind)) => {
                    self.finish_task(&mut items);
                    let (info, fenced) = match kind {
                        CodeBlockKind::Fenced(info) => (info.into_string(), true),
                        CodeBlockKind::Indented => (String::new(), false),
                    };
                    code = Some(OpenCode {
                        range_start: range.start,
                        info,
                        fenced,
                        body: String::new(),
                        map: SourceMap::default(),
                    });
                }
                Event::End(TagEnd::CodeBlock) => {
                    if let Some(open) = code.take() {
                        self.code_block(open, range);
                    }
                }
                Event::Text(text) | Event::Code(text) => {
                    if let Some(open) = code.as_mut() {
                        self.append_code(open, &text, range);
                    } else {
                        if let Some(open) = heading.as_mut() {
                            open.title.push_str(&text);
                        }
                        if let Some(Some(task)) = items.last_mut() {
                            task.text.push_str(&text);
                            task.end = range.end;
                        }
                    }
                }
                Event::SoftBreak | Event::HardBreak => {
                    if let Some(Some(task)) = items.last_mut() {
                        task.text.push(' ');
                    }
                }
                Event::Start(Tag::Item) => items.push(None),
                Event::TaskListMarker(checked) => {
                    if let Some(item) = items.last_mut() {
                        *item = Some(OpenTask {
                            checked,
                            marker: range.start,
                            start: range.end,
                            text: String::new(),
                            end: range.end,
                        });
                    }
                }
                Event::End(TagEnd::Paragraph) | Event::Start(Tag::List(_) | Tag::BlockQuote(_)) => {
                    self.finish_task(&mut items);
                }
                Event::End(TagEnd::Item) => {
                    self.finish_task(&mut items);
                    items.pop();
                }
                Event::Start(Tag::HtmlBlock) => html_start = Some(range.start),
                Event::End(TagEnd::HtmlBlock) => {
                    if let Some(start) = html_start.take() {
                        self.skipped.push((start..range.end, false));
                    }
                }
                Event::InlineHtml(html) if html.starts_with("<!--") => self.skipped.push((range, false)),
                _ => {}
            }
        }
        self.finish_task(&mut items);
    }

    fn open_section(&mut self, open: &OpenHeading, end: usize) {
        let title = open.title.trim().to_owned();
        let parent = (0..self.sections.len()).rev().find(|&i| self.sections[i].level < open.level);
        let option = option_label(&title);
        self.sections.push(Section {
            id: self.slugger.slug(&title),
            location: self.at(open.start),
            heading: open.start..end,
            title,
            level: open.level,
            parent,
            own_steps: 0..0,
            all_steps: 0..0,
            option,
        });
        self.section_starts.push(self.steps.len());
    }

    fn append_code(&mut self, open: &mut OpenCode, text: &str, range: Range<usize>) {
        let raw = &self.source[range.clone()];
        if raw == text {
            for (offset, _) in std::iter::once((0, "")).chain(text.match_indices('\n').map(|(i, s)| (i + 1, s))) {
                if offset < text.len() {
                    open.map.push_line(open.body.len() + offset, self.at(range.start + offset));
                }
            }
        } else {
            open.map.push_line(open.body.len(), self.at(range.start));
        }
        open.body.push_str(text);
    }

    fn code_block(&mut self, open: OpenCode, range: Range<usize>) {
        let location = self.at(open.range_start);
        if open.fenced {
            self.check_fence_closed(open.range_start..range.end, location);
        }
        let info = attributes::parse(&open.info, location, &mut self.diagnostics);
        let mut body = open.body;
        if !body.is_empty() && !body.ends_with('\n') {
            body.push('\n');
        }
        let mut map = open.map;
        if map == SourceMap::default() {
            map.push_line(0, self.at(range.start));
        }
        match self.step_kind(&info, &body, &map) {
            Some(kind) => {
                self.skipped.push((open.range_start..range.end, false));
                self.push_step(kind, info, body, map, open.range_start..range.end);
            }
            None => self.skipped.push((open.range_start..range.end, true)),
        }
    }

    /// Under `CommonMark` an unclosed fence swallows the rest of its container:
    /// the usual cause of a runbook that "lost" its second half.
    fn check_fence_closed(&mut self, range: Range<usize>, location: Location) {
        let raw = &self.source[range.clone()];
        let strip = |line: &str| line.trim_start_matches(|c: char| c == '>' || c.is_whitespace()).trim_end().to_owned();
        let mut lines = raw.lines();
        let first = strip(lines.next().unwrap_or_default());
        let Some(fence_char) = first.chars().next().filter(|c| *c == '`' || *c == '~') else { return };
        let fence_len = first.chars().take_while(|&c| c == fence_char).count();
        let closed = lines.next_back().map(strip).is_some_and(|last| {
            !last.is_empty() && last.chars().all(|c| c == fence_char) && last.chars().count() >= fence_len
        });
        if !closed {
            let fence: String = std::iter::repeat_n(fence_char, fence_len).collect();
            let fence = if fence_char == '`' { format!("{fence} (backtick)") } else { format!("{fence} (tilde)") };
            let swallowed = if range.end >= self.source.trim_end().len() {
                "everything after it to the end of the document becomes part of the block"
            } else {
                "everything after it to the end of its list item or block quote becomes part of the block"
            };
            self.diagnostics.push(Diagnostic::error(
                "unclosed-fence",
                location,
                format!("code fence {fence} opened here is never closed: under CommonMark {swallowed}; add a closing fence line"),
            ));
        }
    }

    /// What a block is as a step, or `None` when it is documentation.
    fn step_kind(&mut self, info: &InfoString, body: &str, map: &SourceMap) -> Option<StepKind> {
        if info.attributes.norun {
            return None;
        }
        let language = info.language.as_str();
        match language {
            "checks" => Some(StepKind::Gate(self.checks_block(body, map))),
            "sql" | "pgsql" | "postgresql" | "postgres" | "psql" => Some(StepKind::Sql(Sql { sql: body.to_owned() })),
            "redis" => Some(StepKind::Redis(step::parse_redis(body))),
            "http" => step::parse_http(body).map(StepKind::Http),
            _ if step::SHELL_LANGUAGES.contains(&language) || (language.is_empty() && step::is_transcript(body)) => {
                let transcript = if language == "console" || step::is_transcript(body) {
                    step::split_transcript(body, |offset| map.location(body, offset))
                } else {
                    Vec::new()
                };
                let script = if transcript.is_empty() {
                    body.to_owned()
                } else {
                    transcript.iter().fold(String::new(), |mut script, t| {
                        script.push_str(&t.command);
                        script.push('\n');
                        script
                    })
                };
                let language = if language.is_empty() { "console".to_owned() } else { language.to_owned() };
                Some(StepKind::Shell(Shell { language, script, transcript }))
            }
            _ => None,
        }
    }

    fn checks_block(&mut self, body: &str, map: &SourceMap) -> Gate {
        let start = map.location(body, 0);
        let entries = check_spec::parse(body, start.line, start.column.saturating_sub(1), &mut self.diagnostics);
        let mut names = Vec::new();
        for entry in entries {
            match entry {
                Entry::Define(spec) => {
                    names.push(spec.name.clone());
                    self.checks.push(*spec);
                }
                Entry::Use(name, _) => names.push(name),
            }
        }
        Gate { checks: names }
    }

    /// `body_map` says where the step's text is; `span` is all of the step.
    fn push_step(&mut self, kind: StepKind, info: InfoString, body: String, body_map: SourceMap, span: Range<usize>) {
        // Diagnostics point at the fence, or at a checklist item's text.
        let location = match kind {
            StepKind::Manual(_) => body_map.location(&body, 0),
            _ => self.at(span.start),
        };
        let services: Vec<&str> = self.services.iter().map(String::as_str).collect();
        let context = safety::Context { services: &services };
        let assessment = match &kind {
            StepKind::Shell(shell) if shell.transcript.is_empty() => safety::assess_shell(&body, context),
            StepKind::Shell(_) => safety::assess_shell(&step::transcript_commands_in_place(&body), context),
            StepKind::Sql(sql) => safety::assess_sql(&sql.sql),
            StepKind::Redis(_) => safety::assess_redis(&body),
            StepKind::Http(http) => {
                let read = matches!(http.method.as_str(), "GET" | "HEAD" | "OPTIONS");
                Assessment { safety: if read { Safety::Read } else { Safety::Write }, findings: Vec::new() }
            }
            StepKind::Gate(_) => Assessment { safety: Safety::Read, findings: Vec::new() },
            StepKind::Manual(_) => Assessment { safety: Safety::Write, findings: Vec::new() },
        };
        let section = self.sections.len() - 1;
        let id = info.attributes.name.clone().unwrap_or_else(|| format!("step-{}", self.steps.len() + 1));
        let step = Step {
            id,
            kind,
            attributes: info.attributes,
            location,
            span,
            section,
            body,
            body_map,
            assessment,
            rollback: None,
        };
        if let Some(target) = step.attributes.rollback.clone() {
            self.attach_rollback(step, target);
        } else {
            self.steps.push(step);
        }
    }

    fn attach_rollback(&mut self, rollback: Step, target: Option<String>) {
        let found = match &target {
            Some(name) => self.steps.iter().rposition(|s| s.id == *name),
            None => self.steps.last().filter(|s| s.section == rollback.section).map(|_| self.steps.len() - 1),
        };
        let Some(index) = found else {
            let message = match target {
                Some(name) => format!("`rollback={name}` names no earlier step; name the step it undoes"),
                None => "this rollback block has no step before it in its section to undo; put it right after that step or write `rollback=STEP`".to_owned(),
            };
            self.diagnostics.push(Diagnostic::error("rollback", rollback.location, message));
            return;
        };
        if self.steps[index].rollback.is_some() {
            self.diagnostics.push(Diagnostic::error(
                "rollback",
                rollback.location,
                format!("step `{}` already has a rollback block; a step has at most one", self.steps[index].id),
            ));
            return;
        }
        self.steps[index].rollback = Some(Box::new(rollback));
    }

    fn finish_task(&mut self, items: &mut [Option<OpenTask>]) {
        let Some(task) = items.last_mut().and_then(Option::take) else { return };
        let text = task.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            return;
        }
        self.tasks.push(task.start..task.end);
        let mut map = SourceMap::default();
        map.push_line(0, self.at(task.start));
        let kind = StepKind::Manual(Manual { text: text.clone(), checked: task.checked });
        self.push_step(kind, InfoString::default(), text, map, task.marker..task.end);
    }

    /// Finds placeholders in headings, prose, checklist items and example blocks.
    fn collect_mentions(&mut self, body_start: usize) {
        self.skipped.sort_by_key(|(r, _)| r.start);
        let text = &self.source[body_start..];
        let mut mentions = Vec::new();
        for (range, found) in placeholder::find(text, true) {
            let offset = range.start + body_start;
            let context = match self.skipped.partition_point(|(r, _)| r.start <= offset).checked_sub(1) {
                Some(i) if self.skipped[i].0.contains(&offset) => {
                    if !self.skipped[i].1 {
                        continue;
                    }
                    MentionContext::Example
                }
                _ if contains(&self.headings, offset) => MentionContext::Heading,
                _ if contains(&self.tasks, offset) => MentionContext::Manual,
                _ => MentionContext::Prose,
            };
            let placeholder = match found {
                Found::Template(expr) => Placeholder::Template(expr.to_owned()),
                Found::Angle(_) if context == MentionContext::Example => continue,
                Found::Angle(name) if placeholder::is_html_tag(name) => continue,
                Found::Angle(name) => Placeholder::Angle(name.to_owned()),
            };
            mentions.push(Mention { placeholder, location: self.at(offset), context });
        }
        self.mentions = mentions;
    }

    fn finish(mut self, path: &Path) -> Parsed {
        let count = self.sections.len();
        self.section_starts.push(self.steps.len());
        for i in 0..count {
            let start = self.section_starts[i];
            let own_end = self.section_starts[i + 1];
            let level = self.sections[i].level;
            let subtree_end = (i + 1..count)
                .find(|&j| self.sections[j].level <= level)
                .map_or(self.steps.len(), |j| self.section_starts[j]);
            self.sections[i].own_steps = start..own_end;
            self.sections[i].all_steps = start..subtree_end;
        }
        // the preamble holds only its own steps, never the whole document
        self.sections[0].all_steps = self.sections[0].own_steps.clone();
        let name = self.front_matter.runbook.clone().unwrap_or_else(|| {
            path.file_stem().map(|s| s.to_string_lossy().trim_end_matches(".html").to_owned()).unwrap_or_default()
        });
        let title = self.sections.iter().find(|s| s.level == 1).map(|s| s.title.clone());
        let runbook = Runbook {
            path: path.to_owned(),
            name,
            title,
            front_matter: self.front_matter,
            sections: self.sections,
            steps: self.steps,
            checks: self.checks,
            mentions: self.mentions,
        };
        let mut diagnostics = self.diagnostics;
        diagnostics.sort_by_key(|d| d.location);
        Parsed { runbook, diagnostics }
    }
}

/// Whether `offset` falls in one of `ranges`, which are in document order
/// and do not overlap.
fn contains(ranges: &[Range<usize>], offset: usize) -> bool {
    let after = ranges.partition_point(|r| r.start <= offset);
    after.checked_sub(1).is_some_and(|i| ranges[i].contains(&offset))
}

/// "Option A — Rolling restart" → `A`; "Option 2: Restart `PgBouncer`" → `2`.
fn option_label(title: &str) -> Option<String> {
    let mut words = title.split_whitespace();
    let first = words.next()?.to_ascii_lowercase();
    if first != "option" && first != "alternative" {
        return None;
    }
    let label = words.next()?.trim_end_matches([':', '.', ')', '—', '–', '-']);
    let short = label.chars().count() <= 2 && label.chars().all(char::is_alphanumeric);
    short.then(|| label.to_uppercase())
}
