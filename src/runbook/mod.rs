//! The runbook model: a Markdown document parsed into sections, procedures,
//! steps, checks and the front matter's declarations.
//!
//! Parsing is pure — text in, model and diagnostics out, no I/O — and never
//! fails: a runbook with problems still yields everything that could be
//! read, plus every problem with its line and column.

pub mod attributes;
pub mod check_spec;
pub mod diagnostic;
pub mod front_matter;
mod parser;
pub mod placeholder;
pub mod redis;
pub mod safety;
pub mod services;
pub mod shell;
mod slug;
pub mod source;
pub mod sql;
pub mod step;
pub mod yaml;

use std::ops::Range;
use std::path::{Path, PathBuf};

pub use check_spec::{CheckSpec, ProbeKind};
pub use diagnostic::{Diagnostic, Location, Severity};
pub use front_matter::FrontMatter;
pub use safety::Safety;
pub use step::{Step, StepKind};

/// A parsed runbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Runbook {
    /// The path it was read from, as given.
    pub path: PathBuf,
    /// Front matter `runbook`, else the file stem.
    pub name: String,
    /// The first level-1 heading.
    pub title: Option<String>,
    pub front_matter: FrontMatter,
    /// Sections in document order; `sections[0]` is the preamble before the
    /// first heading (level 0, never a procedure).
    pub sections: Vec<Section>,
    /// Every step in document order (rollback blocks hang off their step).
    pub steps: Vec<Step>,
    /// Every check definition in document order, duplicates included so lint can see them.
    pub checks: Vec<CheckSpec>,
    /// Placeholders written in headings, prose and example blocks.
    pub mentions: Vec<Mention>,
}

/// A heading and what is under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The GitHub-style slug of the title, made unique in the file (`-1`, `-2`).
    pub id: String,
    pub title: String,
    /// 1–6; 0 for the preamble.
    pub level: u8,
    pub location: Location,
    /// The heading's bytes in the source (`0..0` for the preamble).
    pub heading: Range<usize>,
    pub parent: Option<usize>,
    /// Steps written directly under this heading.
    pub own_steps: Range<usize>,
    /// Steps under this heading and all its sub-headings.
    pub all_steps: Range<usize>,
    /// `Some("A")` when the title reads "Option A …" (or "Option 2: …"):
    /// one of several alternatives its parent offers.
    pub option: Option<String>,
}

/// A placeholder found outside steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub placeholder: Placeholder,
    pub location: Location,
    pub context: MentionContext,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholder {
    /// `{{ expr }}`
    Template(String),
    /// `<name>`
    Angle(String),
}

/// Where a mention was written; decides how loud lint is about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MentionContext {
    Heading,
    Prose,
    /// A code block that is not a step (YAML, JSON, a `norun` shell block).
    Example,
    /// The text of a checklist item, which is a manual step.
    Manual,
}

/// The result of parsing: the model and everything worth saying about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub runbook: Runbook,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses `source`, read from `path` (used only to name the runbook).
pub fn parse(path: &Path, source: &str) -> Parsed {
    parser::parse(path, source)
}

impl Runbook {
    /// Sections that hold steps (directly or below), excluding the preamble.
    pub fn procedures(&self) -> impl Iterator<Item = &Section> {
        self.procedure_indices().map(|i| &self.sections[i])
    }

    /// Indices into `sections` of the procedures, in document order.
    pub fn procedure_indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.sections.len()).filter(|&i| self.sections[i].level > 0 && !self.sections[i].all_steps.is_empty())
    }

    /// The section with this id.
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The check definition with this name (the first, if duplicated).
    pub fn check(&self, name: &str) -> Option<&CheckSpec> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// Indices of the direct children of section `index`.
    pub fn children(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        self.sections.iter().enumerate().skip(index + 1).filter(move |(_, s)| s.parent == Some(index)).map(|(i, _)| i)
    }

    /// The ordered plan of a procedure: its steps, with alternatives grouped
    /// into choices. Returns section indices for choices.
    pub fn plan(&self, index: usize) -> Vec<Plan> {
        let section = &self.sections[index];
        let mut plan: Vec<Plan> =
            self.steps[section.own_steps.clone()].iter().map(|s| Plan::Step(s.id.clone())).collect();
        for child in self.children(index) {
            if self.sections[child].all_steps.is_empty() {
                continue;
            }
            if self.sections[child].option.is_some() {
                if let Some(Plan::Choice(options)) = plan.last_mut() {
                    options.push(child);
                } else {
                    plan.push(Plan::Choice(vec![child]));
                }
            } else {
                plan.extend(self.plan(child));
            }
        }
        plan
    }

    /// The most dangerous safety class among a procedure's steps.
    pub fn safety(&self, index: usize) -> Safety {
        let steps = &self.steps[self.sections[index].all_steps.clone()];
        steps.iter().map(Step::safety).max().unwrap_or(Safety::Read)
    }

    /// The names a `{{ }}` template may use: variables, secrets and the
    /// built-ins `env` and `runbook`.
    pub fn declared_names(&self) -> impl Iterator<Item = &str> {
        let front = &self.front_matter;
        front
            .vars
            .iter()
            .map(|v| v.name.as_str())
            .chain(front.secrets.iter().map(|s| s.name.as_str()))
            .chain(["env", "runbook"])
    }
}

/// A procedure's plan, by step id and section index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Step(String),
    /// Alternatives: section indices, the operator runs exactly one.
    Choice(Vec<usize>),
}
