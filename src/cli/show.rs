//! `runwell show PATH PROCEDURE`: the steps exactly as they would run.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::{Error, files};
use crate::runbook::diagnostic::hint;
use crate::runbook::step::StepKind;
use crate::runbook::{Plan, Runbook, Severity, Step};
use crate::template::{self, Quoting, Values};

pub(super) fn run(path: &Path, procedure: &str, env: Option<&str>, sets: &[String]) -> Result<ExitCode, Error> {
    let parsed = files::load(path)?;
    let runbook = &parsed.runbook;
    let Some(index) = runbook.procedure_indices().find(|&i| runbook.sections[i].id == procedure) else {
        return Err(Error::UnknownProcedure {
            runbook: runbook.name.clone(),
            procedure: procedure.to_owned(),
            hint: hint(procedure, runbook.procedures().map(|p| p.id.as_str())),
            path: path.display().to_string(),
        });
    };
    let values = Values::resolve(runbook, env, sets)?;
    let mut out = anstream::stdout().lock();
    let bold = anstyle::Style::new().bold();
    let dim = anstyle::Style::new().dimmed();
    let section = &runbook.sections[index];
    writeln!(
        out,
        "{bold}{}{bold:#}  {dim}({} › {}, line {}){dim:#}",
        section.title, runbook.name, section.id, section.location.line
    )?;

    let errors = parsed.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    if errors > 0 {
        let mut err = anstream::stderr().lock();
        writeln!(
            err,
            "warning: `{}` has {errors} parse error(s); `runwell lint {}` shows them",
            path.display(),
            path.display()
        )?;
    }

    let mut printer = Printer { runbook, values: &values, number: 0, missing: Vec::new(), undeclared: Vec::new() };
    printer.plan(&mut out, &runbook.plan(index), 0)?;
    if !printer.missing.is_empty() {
        let sets: Vec<String> = printer.missing.iter().map(|m| format!("--set {m}=…")).collect();
        writeln!(
            out,
            "\n{bold}needs values for{bold:#}: {} (a run asks for them; or pass {})",
            printer.missing.join(", "),
            sets.join(" ")
        )?;
    }
    if !printer.undeclared.is_empty() {
        writeln!(
            out,
            "\n{bold}unresolved placeholders{bold:#}: {} (no variable declares them; `runwell lint {}` shows where)",
            printer.undeclared.join(", "),
            path.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

struct Printer<'a> {
    runbook: &'a Runbook,
    values: &'a Values,
    number: usize,
    missing: Vec<String>,
    undeclared: Vec<String>,
}

impl Printer<'_> {
    fn plan(&mut self, out: &mut impl Write, plan: &[Plan], depth: usize) -> std::io::Result<()> {
        let pad = "    ".repeat(depth);
        for item in plan {
            match item {
                Plan::Step(id) => {
                    if let Some(step) = self.runbook.step(id) {
                        self.step(out, step, &pad)?;
                    }
                }
                Plan::Choice(options) => {
                    let bold = anstyle::Style::new().bold();
                    writeln!(out, "\n{pad}{bold}choose one:{bold:#}")?;
                    for &option in options {
                        let section = &self.runbook.sections[option];
                        writeln!(
                            out,
                            "\n{pad}  {bold}[{}]{bold:#} {} ({})",
                            section.option.as_deref().unwrap_or("?"),
                            section.title,
                            section.id
                        )?;
                        self.plan(out, &self.runbook.plan(option), depth + 1)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn step(&mut self, out: &mut impl Write, step: &Step, pad: &str) -> std::io::Result<()> {
        self.number += 1;
        let bold = anstyle::Style::new().bold();
        let dim = anstyle::Style::new().dimmed();
        let mut facts = vec![step.kind.name().to_owned(), step.safety().as_str().to_owned()];
        if step.confirms() {
            facts.push("confirm".to_owned());
        }
        let a = &step.attributes;
        if let Some(t) = a.timeout {
            facts.push(format!("timeout {}s", t.as_secs()));
        }
        if let Some(w) = a.wait {
            facts.push(format!("wait {}s", w.as_secs()));
        }
        if let Some(r) = a.retries {
            facts.push(format!("retries {r}"));
        }
        if let Some(w) = &a.when {
            facts.push(format!("when {w}"));
        }
        if a.continue_on_error {
            facts.push("continue-on-error".to_owned());
        }
        writeln!(
            out,
            "\n{pad}{bold}{}. {}{bold:#}  {dim}{} · line {}{dim:#}",
            self.number,
            step.id,
            facts.join(" · "),
            step.location.line
        )?;
        let body = match &step.kind {
            StepKind::Shell(shell) => self.render(&shell.script, Quoting::Shell),
            StepKind::Sql(sql) => self.render(&sql.sql, Quoting::Sql),
            StepKind::Redis(redis) => self.render(&redis.commands.join("\n"), Quoting::None),
            StepKind::Http(_) => self.render(&step.body, Quoting::None),
            StepKind::Manual(manual) => format!("[ ] {}", self.render(&manual.text, Quoting::None)),
            StepKind::Gate(gate) => gate
                .checks
                .iter()
                .map(|name| match self.runbook.check(name) {
                    Some(check) => {
                        let target = self.render(&check.target, Quoting::None);
                        let expect = check.expect.as_deref().map(|e| format!(" — expect {e}")).unwrap_or_default();
                        format!("{name}: {} {target}{expect}", check.kind)
                    }
                    None => format!("{name}: (no such check)"),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        };
        for line in body.lines() {
            writeln!(out, "{pad}    {line}")?;
        }
        if let Some(rollback) = &step.rollback {
            let script = match &rollback.kind {
                StepKind::Shell(shell) => self.render(&shell.script, Quoting::Shell),
                _ => self.render(&rollback.body, Quoting::None),
            };
            writeln!(out, "{pad}    {dim}rollback:{dim:#}")?;
            for line in script.lines() {
                writeln!(out, "{pad}      {line}")?;
            }
        }
        Ok(())
    }

    fn render(&mut self, text: &str, quoting: Quoting) -> String {
        let rendered = template::render_display(text, self.values, quoting);
        for (names, into) in [(rendered.missing, &mut self.missing), (rendered.undeclared, &mut self.undeclared)] {
            for name in names {
                if !into.contains(&name) {
                    into.push(name);
                }
            }
        }
        rendered.text
    }
}
