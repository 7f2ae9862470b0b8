//! A runbook's Markdown as the dashboard shows it: the document people
//! read, made safe to put in an operator's browser, with hooks the page's
//! script fills in live.
//!
//! The runbook is text from a repository, not from the operator: anyone who
//! can get a file into the runbook directory must not be able to run script
//! in the browser of someone who can start destructive procedures. So:
//!
//! - raw HTML, block or inline, is shown as the text it is (HTML comments,
//!   invisible on GitHub too, are left out — dropping them adds nothing);
//! - links keep only `http`, `https`, `mailto` and scheme-less targets
//!   (relative paths, `#fragments`); anything else becomes plain text;
//! - images become links to the image: the page never fetches anything
//!   from a host the runbook names;
//! - every piece of runbook text is escaped exactly once, by
//!   pulldown-cmark's HTML writer for Markdown and by [`escape`] for the
//!   elements this module writes itself.
//!
//! The hooks: each heading has `id` = its section's id (the procedure id
//! `runwell run` and `--from` take), a procedure's heading is followed by
//! `<div class="procedure" data-procedure=… data-safety=…>` (the page turns
//! it into a Run button), a `checks` block is a table with one
//! `<tr data-check=NAME>` per check and an empty
//! `<td class="state" data-state-for=NAME>` for the live state, and every
//! step's block sits in a `<figure class="step" data-step=ID>`.
//!
//! The table of contents is not returned: it is `runbook.sections`, whose
//! ids these headings carry, so the page builds it without a second copy.

use std::collections::HashMap;
use std::fmt::Write as _;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

use crate::runbook::check_spec::{self, CheckSpec, Entry};
use crate::runbook::front_matter;
use crate::runbook::{Runbook, Step, StepKind};

/// The Markdown extensions the runbook parser reads with: the same, so the
/// headings and blocks seen here are the ones the model was built from.
const OPTIONS: Options = Options::ENABLE_TABLES
    .union(Options::ENABLE_TASKLISTS)
    .union(Options::ENABLE_STRIKETHROUGH)
    .union(Options::ENABLE_FOOTNOTES);

/// The link schemes a runbook page may point at.
const SCHEMES: &[&str] = &["http", "https", "mailto"];

/// Renders `runbook` — parsed from `source` — as HTML for the runbook page.
///
/// Pure and deterministic: the same text renders the same bytes, so the
/// server renders once per load and can tell an unchanged page by its text.
pub fn render(runbook: &Runbook, source: &str) -> String {
    let bom = if source.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let split = front_matter::split(&source[bom..], &mut Vec::new());
    let body_start = bom + split.body_start;
    let mut html = String::with_capacity(source.len() * 2);
    if body_start > bom {
        front_matter_block(&mut html, &source[bom..body_start], split.yaml.is_some());
    }
    let body = &source[body_start..];
    let events = Rewriter::new(runbook, body_start).rewrite(Parser::new_ext(body, OPTIONS).into_offset_iter());
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html
}

/// The front matter, collapsed: what the runbook declares (variables,
/// environments, services, alerts) matters to an operator, but it is not
/// prose and GitHub does not show it as prose either.
fn front_matter_block(html: &mut String, text: &str, yaml: bool) {
    let language = if yaml { "yaml" } else { "toml" };
    let _ = writeln!(
        html,
        "<details class=\"front-matter\"><summary>Front matter</summary><pre><code class=\"language-{language}\">{}</code></pre></details>",
        escape(text)
    );
}

/// Rewrites pulldown-cmark's events into safe ones with the page's hooks.
struct Rewriter<'r> {
    runbook: &'r Runbook,
    body_start: usize,
    /// Section index by the offset where its heading starts.
    headings: HashMap<usize, usize>,
    /// Steps (rollback blocks included) by the offset where their block starts.
    steps: HashMap<usize, (&'r Step, Option<&'r str>)>,
    procedures: Vec<bool>,
}

/// A code block whose text is still being read.
struct OpenCode<'a> {
    kind: CodeBlockKind<'a>,
    start: usize,
    text: String,
}

impl<'r> Rewriter<'r> {
    fn new(runbook: &'r Runbook, body_start: usize) -> Self {
        let headings = runbook.sections.iter().enumerate().skip(1).map(|(i, s)| (s.heading.start, i)).collect();
        let mut steps = HashMap::new();
        for step in &runbook.steps {
            steps.insert(step.span.start, (step, None));
            if let Some(rollback) = &step.rollback {
                steps.insert(rollback.span.start, (&**rollback, Some(step.id.as_str())));
            }
        }
        let mut procedures = vec![false; runbook.sections.len()];
        for index in runbook.procedure_indices() {
            procedures[index] = true;
        }
        Rewriter { runbook, body_start, headings, steps, procedures }
    }

    fn rewrite<'a>(&self, events: impl Iterator<Item = (Event<'a>, std::ops::Range<usize>)>) -> Vec<Event<'a>> {
        let mut out = Vec::new();
        let mut events = events.peekable();
        let mut code: Option<OpenCode<'a>> = None;
        let mut raw_html: Option<String> = None;
        let mut heading: Option<usize> = None;
        // One entry per open link or image: whether it was neutralised.
        let mut links: Vec<bool> = Vec::new();

        while let Some((event, range)) = events.next() {
            let start = range.start + self.body_start;
            if let Some(open) = code.as_mut() {
                match event {
                    Event::Text(text) => open.text.push_str(&text),
                    Event::End(TagEnd::CodeBlock) => {
                        if let Some(open) = code.take() {
                            self.code_block(open, &mut out);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            if let Some(buffer) = raw_html.as_mut() {
                match event {
                    Event::Html(text) | Event::Text(text) => buffer.push_str(&text),
                    Event::End(TagEnd::HtmlBlock) => {
                        if let Some(text) = raw_html.take().filter(|text| !is_comment(text)) {
                            out.push(Event::Html(
                                format!("<pre class=\"raw-html\"><code>{}</code></pre>\n", escape(&text)).into(),
                            ));
                        }
                    }
                    _ => {}
                }
                continue;
            }
            match event {
                Event::Start(Tag::CodeBlock(kind)) => code = Some(OpenCode { kind, start, text: String::new() }),
                Event::Start(Tag::HtmlBlock) => raw_html = Some(String::new()),
                Event::Html(text) | Event::InlineHtml(text) => {
                    if !is_comment(&text) {
                        out.push(Event::Text(text));
                    }
                }
                Event::Start(Tag::Heading { level, id: _, classes, attrs }) => {
                    heading = self.headings.get(&start).copied();
                    let id = heading
                        .map(|i| self.runbook.sections[i].id.as_str())
                        .filter(|id| !id.is_empty())
                        .map(|id| CowStr::from(id.to_owned()));
                    out.push(Event::Start(Tag::Heading { level, id, classes, attrs }));
                }
                Event::End(TagEnd::Heading(level)) => {
                    out.push(Event::End(TagEnd::Heading(level)));
                    if let Some(index) = heading.take().filter(|&i| self.procedures[i]) {
                        out.push(Event::Html(
                            format!(
                                "<div class=\"procedure\" data-procedure=\"{}\" data-safety=\"{}\"></div>\n",
                                escape(&self.runbook.sections[index].id),
                                self.runbook.safety(index).as_str()
                            )
                            .into(),
                        ));
                    }
                }
                Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
                    let safe = is_safe_url(&dest_url);
                    links.push(safe);
                    if safe {
                        out.push(Event::Start(Tag::Link { link_type, dest_url, title, id }));
                    } else {
                        out.push(Event::Html(BLOCKED.into()));
                    }
                }
                Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
                    let safe = is_safe_url(&dest_url);
                    links.push(safe);
                    // An email autolink cannot be an image; any other kind renders as a plain link.
                    let link_type = if link_type == LinkType::Email { LinkType::Inline } else { link_type };
                    if safe {
                        out.push(Event::Html("<span class=\"image\">".into()));
                        out.push(Event::Start(Tag::Link { link_type, dest_url, title, id }));
                    } else {
                        out.push(Event::Html(BLOCKED.into()));
                    }
                    if matches!(events.peek(), Some((Event::End(TagEnd::Image), _))) {
                        out.push(Event::Text("image".into()));
                    }
                }
                Event::End(TagEnd::Link) => out.push(if links.pop().unwrap_or(true) {
                    Event::End(TagEnd::Link)
                } else {
                    Event::Html("</span>".into())
                }),
                Event::End(TagEnd::Image) => {
                    if links.pop().unwrap_or(true) {
                        out.push(Event::End(TagEnd::Link));
                    }
                    out.push(Event::Html("</span>".into()));
                }
                other => out.push(other),
            }
        }
        out
    }

    /// A step's block in its figure, a `checks` block as a table, any
    /// other block as the code it is.
    fn code_block<'a>(&self, open: OpenCode<'a>, out: &mut Vec<Event<'a>>) {
        let Some(&(step, rollback_of)) = self.steps.get(&open.start) else {
            out.push(Event::Start(Tag::CodeBlock(open.kind)));
            out.push(Event::Text(open.text.into()));
            out.push(Event::End(TagEnd::CodeBlock));
            return;
        };
        let language = match &open.kind {
            CodeBlockKind::Fenced(info) => info.split_whitespace().next().unwrap_or_default(),
            CodeBlockKind::Indented => "",
        };
        let mut html = String::new();
        let _ = write!(
            html,
            "<figure class=\"step{}\" id=\"step-{id}\" data-step=\"{id}\" data-safety=\"{safety}\"",
            if matches!(step.kind, StepKind::Gate(_)) { " checks" } else { "" },
            id = escape(&step.id),
            safety = step.safety().as_str(),
        );
        if let Some(parent) = rollback_of {
            let _ = write!(html, " data-rollback-of=\"{}\"", escape(parent));
        }
        let _ = write!(
            html,
            "><figcaption><code>{}</code> · {} · {}",
            escape(&step.id),
            step.kind.name(),
            step.safety().as_str()
        );
        if step.confirms() {
            html.push_str(" · confirm");
        }
        if let Some(parent) = rollback_of {
            let _ = write!(html, " · rollback of <code>{}</code>", escape(parent));
        }
        html.push_str("</figcaption>\n");
        if matches!(step.kind, StepKind::Gate(_)) {
            self.checks_table(&mut html, step, &open.text);
        } else {
            code(&mut html, language, &open.text);
        }
        html.push_str("</figure>\n");
        out.push(Event::Html(html.into()));
    }

    /// One row per check the block defines or uses, then the YAML itself.
    /// A block with errors is shown as written, open, beside the rows that
    /// could be read: an entry the parser dropped has no row to show.
    fn checks_table(&self, html: &mut String, step: &Step, text: &str) {
        let mut problems = Vec::new();
        let entries = check_spec::parse(&step.body, 1, 0, &mut problems);
        if !entries.is_empty() {
            html.push_str(
                "<table class=\"checks\"><thead><tr><th>check</th><th>layer</th><th>probe</th><th>state</th></tr></thead><tbody>\n",
            );
            for entry in &entries {
                match entry {
                    Entry::Define(spec) => row(html, &spec.name, Some(spec), ""),
                    Entry::Use(name, _) => row(html, name, self.runbook.check(name), " class=\"use\""),
                }
            }
            html.push_str("</tbody></table>\n");
        }
        if problems.is_empty() {
            html.push_str("<details class=\"source\"><summary>YAML</summary>");
            code(html, "yaml", text);
            html.push_str("</details>\n");
        } else {
            html.push_str(
                "<p class=\"problem\">This <code>checks</code> block has errors, so it is shown as written; \
                 <code>runwell lint</code> says what to fix.</p>\n",
            );
            code(html, "yaml", text);
        }
    }
}

/// Where a neutralised link's text goes instead of an `<a>`.
const BLOCKED: &str =
    "<span class=\"blocked-link\" title=\"link removed: only http, https and mailto links are shown\">";

/// A check's row: `spec` is `None` for a `use:` of a name nothing defines.
fn row(html: &mut String, name: &str, spec: Option<&CheckSpec>, class: &str) {
    let name = escape(name);
    let _ = write!(html, "<tr{class} data-check=\"{name}\"><td class=\"check\"><code>{name}</code></td>");
    match spec {
        Some(spec) => {
            let layer = spec.layer.as_deref().map(escape).unwrap_or_default();
            let _ = write!(
                html,
                "<td class=\"layer\">{layer}</td><td class=\"probe\"><code>{}</code> <code>{}</code>",
                spec.kind,
                escape(&spec.target)
            );
            if let Some(expect) = &spec.expect {
                let _ = write!(html, "<div class=\"expect\">expect <code>{}</code></div>", escape(expect));
            }
            if let Some(description) = &spec.description {
                let _ = write!(html, "<div class=\"description\">{}</div>", escape(description));
            }
            html.push_str("</td>");
        }
        None => html.push_str("<td class=\"layer\"></td><td class=\"probe\">no check of this name is defined</td>"),
    }
    let _ = writeln!(html, "<td class=\"state\" data-state-for=\"{name}\"></td></tr>");
}

fn code(html: &mut String, language: &str, text: &str) {
    if language.is_empty() {
        let _ = writeln!(html, "<pre><code>{}</code></pre>", escape(text));
    } else {
        let _ = writeln!(html, "<pre><code class=\"language-{}\">{}</code></pre>", escape(language), escape(text));
    }
}

/// Whether a link may point at `url`: `http`, `https`, `mailto`, or no
/// scheme at all (a relative path, `?query` or `#fragment`).
///
/// Read the way a browser reads it (WHATWG URL parsing): tabs and newlines
/// anywhere are dropped and control characters and spaces at either end
/// trimmed, so `java\tscript:` is `javascript:` here too. Entities such as
/// `java&#x73;cript:` are already decoded by pulldown-cmark. Anything before
/// the first `:` that is not one of [`SCHEMES`] — even text no browser would
/// take for a scheme — is refused: the list says what is allowed, not what
/// is known to be dangerous.
fn is_safe_url(url: &str) -> bool {
    let cleaned: String = url.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    let cleaned = cleaned.trim_matches(|c: char| c <= ' ');
    match cleaned.find([':', '/', '?', '#']) {
        Some(colon) if cleaned[colon..].starts_with(':') => {
            let scheme = &cleaned[..colon];
            SCHEMES.iter().any(|allowed| scheme.eq_ignore_ascii_case(allowed))
        }
        _ => true,
    }
}

/// Whether raw HTML is one comment and nothing else.
fn is_comment(html: &str) -> bool {
    let html = html.trim();
    html.strip_prefix("<!--").and_then(|rest| rest.strip_suffix("-->")).is_some_and(|inner| !inner.contains("-->"))
}

/// `text` made safe inside an element or a double- or single-quoted
/// attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod audit;
#[cfg(test)]
mod tests;
