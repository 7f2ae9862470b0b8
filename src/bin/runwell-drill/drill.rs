//! One drill, phase by phase. Every phase that fails says which it was and
//! what it saw, so a failed drill reads like a failed check at 3 AM.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use runwell::journal::{Event, RunFilter, RunId, SqliteStore, Status, StepOutcome, Store as _, Stream};

use crate::plan::{Detect, Incident, Lint, Respond, Services};
use crate::site::{Site, wait_for};

/// How long a lab may take to come back to green after a resolution.
const RECOVERY: Duration = Duration::from_secs(90);
/// How long a fault may take to show in `runwell check`.
const DETECTION: Duration = Duration::from_secs(30);
/// How long a run may take from start to end.
const RUN: Duration = Duration::from_secs(300);

/// Runs one incident drill on `site`: green, fault, detection, the
/// procedure through the CLI, green, fault, detection, the procedure
/// through an alert, green; a report for each run. Returns the runs.
pub fn incident(site: &Site, incident: &Incident) -> anyhow::Result<Vec<RunId>> {
    let mut runs = Vec::new();
    green(site).context("before the fault")?;
    inject(site, &incident.inject)?;
    detect(site, &incident.detect).context("detection")?;
    let run = through_cli(site, &incident.respond).context("the procedure through the CLI")?;
    green(site).context("after the CLI run")?;
    report(site, run).context("the CLI run's report")?;
    runs.push(run);
    if let Some(labels) = &incident.respond.alert {
        inject(site, &incident.inject)?;
        detect(site, &incident.detect).context("detection, the second time")?;
        let run = through_alert(site, &incident.respond, labels).context("the procedure through the alert")?;
        site.alert(labels, false).context("resolving the alert")?;
        resolution_heard(site, run).context("the alert's resolution")?;
        green(site).context("after the alert's run")?;
        report(site, run).context("the alert run's report")?;
        runs.push(run);
    }
    Ok(runs)
}

/// `runwell stop` then `runwell start`: each goes through the services in
/// its tiers' order, a tier only after the one before it ended (and, for
/// start, passed its gate); the checks see the stack down in between and
/// green after.
pub fn services(site: &Site, services: &Services) -> anyhow::Result<Vec<RunId>> {
    green(site).context("before stopping")?;
    let journal = path(&site.journal)?;
    let args = ["--db", journal, "--operator", "drill", "--yes", "--confirm-destructive", "local"];
    let stop = services_run(site, "stop", &args, &services.stop).context("`runwell stop`")?;
    detect(site, &services.stopped).context("with the services stopped")?;
    let start = services_run(site, "start", &args, &services.start).context("`runwell start`")?;
    green(site).context("after `runwell start`")?;
    for run in [stop, start] {
        report(site, run).with_context(|| format!("the report of run {run}"))?;
    }
    Ok(vec![stop, start])
}

/// Runs `runwell ACTION` and checks the journal went tier by tier.
fn services_run(site: &Site, action: &str, args: &[&str], tiers: &[Vec<String>]) -> anyhow::Result<RunId> {
    let output = site.runwell(action, args).output()?;
    let store = SqliteStore::open(&site.journal)?;
    let run = newest(&store)?;
    if !output.status.success() {
        bail!("exited {}: {}", output.status.code().unwrap_or(-1), tail(&both(&output), 2000));
    }
    // When each service's step started and finished, in journal order.
    let mut started = BTreeMap::new();
    let mut finished = BTreeMap::new();
    let mut ids = BTreeMap::new();
    for record in store.events(run.id)? {
        match record.event {
            Event::StepStarted { step, id, .. } => {
                started.insert(id.clone(), record.seq);
                ids.insert(step, id);
            }
            Event::StepFinished { step, outcome, .. } => {
                let id = ids.get(&step).cloned().unwrap_or_default();
                anyhow::ensure!(outcome == StepOutcome::Succeeded, "run {}: `{id}` {outcome:?}", run.id);
                finished.insert(id, record.seq);
            }
            _ => {}
        }
    }
    let step = |service: &String| format!("{action}-{service}");
    let expected: usize = tiers.iter().map(Vec::len).sum();
    let ran = started.keys().filter(|id| id.starts_with(&format!("{action}-"))).count();
    anyhow::ensure!(ran == expected, "run {} ran {ran} services, not {expected}: {:?}", run.id, started.keys());
    for pair in tiers.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        let ended = before.iter().map(|s| finished.get(&step(s)).copied()).max().flatten();
        let began = after.iter().map(|s| started.get(&step(s)).copied()).min().flatten();
        match (ended, began) {
            (Some(ended), Some(began)) if ended < began => {}
            _ => bail!("run {}: {before:?} had not all ended before {after:?} began: {started:?}", run.id),
        }
    }
    Ok(run.id)
}

/// Lints a copy of the runbook with one edit.
pub fn lint(site: &Site, lint: &Lint) -> anyhow::Result<()> {
    let original = std::fs::read_to_string(site.tools.runbook(&site.system))?;
    if !original.contains(&lint.replace) {
        bail!("the runbook does not contain {:?}: the drill is out of date", lint.replace);
    }
    let copy = site.work.join(format!("{}.md", site.system));
    std::fs::write(&copy, original.replacen(&lint.replace, &lint.with, 1))?;
    let output = site.runwell_plain(&["lint", copy.to_str().context("a UTF-8 path")?]).output()?;
    let text = both(&output);
    let code = output.status.code().unwrap_or(-1);
    if code != lint.exit {
        bail!("`runwell lint` exited {code}, not {}: {text}", lint.exit);
    }
    if !lint.finds.0.is_match(&text) {
        bail!("`runwell lint` did not say /{}/: {text}", lint.finds.0);
    }
    let output =
        site.runwell_plain(&["lint", site.tools.runbook(&site.system).to_str().unwrap_or_default()]).output()?;
    if !output.status.success() {
        bail!("the runbook itself does not lint clean: {}", both(&output));
    }
    Ok(())
}

/// Waits until `runwell check` exits 0: every check ok.
fn green(site: &Site) -> anyhow::Result<()> {
    let mut last = String::new();
    let waited = wait_for("every check to be ok", RECOVERY, || {
        let (code, report) = check(site)?;
        last = failing(&report);
        Ok(code == 0)
    });
    waited.map_err(|error| anyhow!("{error}; still failing: {last}"))
}

fn inject(site: &Site, script: &str) -> anyhow::Result<()> {
    let output = site.shell(script)?;
    if !output.status.success() {
        bail!("injecting the fault failed: {}", both(&output));
    }
    Ok(())
}

/// Waits until `runwell check` exits as `detect` says with each named
/// check in its state, for its reason.
fn detect(site: &Site, detect: &Detect) -> anyhow::Result<()> {
    let mut last = String::new();
    let waited = wait_for("the fault to show", DETECTION, || {
        let (code, report) = check(site)?;
        let mismatches = mismatches(&report, detect);
        last = format!("exit {code}; {}", if mismatches.is_empty() { failing(&report) } else { mismatches.join("; ") });
        Ok(code == detect.exit && mismatches.is_empty())
    });
    waited.map_err(|error| anyhow!("{error}; `runwell check` said: {last}"))
}

fn mismatches(report: &serde_json::Value, detect: &Detect) -> Vec<String> {
    let mut wrong = Vec::new();
    for (name, expected) in &detect.checks {
        let Some(check) = outcomes(report).find(|c| c["name"] == name.as_str()) else {
            wrong.push(format!("no check `{name}`"));
            continue;
        };
        let state = check["status"].as_str().unwrap_or_default();
        let reason = check["reason"].as_str().unwrap_or_default();
        let reason_ok = expected.reason.as_ref().is_none_or(|pattern| pattern.is_match(reason));
        if state != expected.state || !reason_ok {
            let wanted = expected.reason.as_ref().map(|p| format!(" /{p}/")).unwrap_or_default();
            wrong.push(format!("{name} is {state} ({reason}), not {}{wanted}", expected.state));
        }
    }
    wrong
}

/// `runwell check --format json`: the exit status and the report.
fn check(site: &Site) -> anyhow::Result<(i32, serde_json::Value)> {
    let output = site.runwell("check", &["--format", "json"]).output()?;
    let report = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("`runwell check` printed no JSON report: {}", both(&output)))?;
    Ok((output.status.code().unwrap_or(-1), report))
}

fn outcomes(report: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    report["checks"].as_array().into_iter().flatten()
}

/// The checks not ok, as `name=state (reason)`.
fn failing(report: &serde_json::Value) -> String {
    let failing: Vec<String> = outcomes(report)
        .filter(|c| c["status"] != "ok")
        .map(|c| {
            format!(
                "{}={} ({})",
                c["name"].as_str().unwrap_or("?"),
                c["status"].as_str().unwrap_or("?"),
                c["reason"].as_str().unwrap_or("")
            )
        })
        .collect();
    if failing.is_empty() { "nothing".to_owned() } else { failing.join(", ") }
}

/// `runwell run` as an operator at a terminal would, answering yes to
/// each confirmation, typing the environment for destructive steps and
/// taking the drill's options.
fn through_cli(site: &Site, respond: &Respond) -> anyhow::Result<RunId> {
    let journal = path(&site.journal)?;
    let mut args = vec![respond.procedure.as_str(), "--db", journal, "--operator", "drill", "--yes", "--ack"];
    args.extend(["--confirm-destructive", "local"]);
    for option in &respond.options {
        args.extend(["--option", option]);
    }
    let values: Vec<String> = respond.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
    for value in &values {
        args.extend(["--set", value]);
    }
    let output = site.runwell("run", &args).output()?;
    let store = SqliteStore::open(&site.journal)?;
    let run = newest(&store)?;
    if !output.status.success() {
        bail!("`runwell run` exited {}: {}", output.status.code().unwrap_or(-1), tail(&both(&output), 2000));
    }
    examine(&store, run.id, respond)?;
    Ok(run.id)
}

/// Fires the alert and follows the run the server starts for it,
/// answering each question it asks in the dashboard's place.
fn through_alert(site: &Site, respond: &Respond, labels: &BTreeMap<String, String>) -> anyhow::Result<RunId> {
    let before = latest(site)?;
    site.alert(labels, true)?;
    let mut run = None;
    wait_for("the alert to start a run", Duration::from_secs(30), || {
        let runs = site.api_get("/api/runs?limit=10")?;
        run = runs.as_array().into_iter().flatten().find(|r| r["id"].as_i64() > before).cloned();
        Ok(run.is_some())
    })?;
    let run = run.unwrap_or_default();
    let id = run["id"].as_i64().unwrap_or_default();
    if run["procedure"] != respond.procedure.as_str() {
        bail!("the alert started `{}`, not `{}`", run["procedure"], respond.procedure);
    }
    let mut options = respond.options.iter();
    let mut answered = 0;
    let mut first_asked = None;
    let mut finished = serde_json::Value::Null;
    wait_for("the run to end", RUN, || {
        let view = site.api_get(&format!("/api/runs/{id}"))?;
        if view["status"] != "running" {
            finished = view;
            return Ok(true);
        }
        let question = &view["question"];
        if !question.is_null() && first_asked.is_none() {
            // What the journal held when a person was first needed.
            let events = SqliteStore::open(&site.journal)?.events(id)?;
            first_asked = Some(events.last().map_or(0, |record| record.seq));
        }
        if !question.is_null() && question["id"].as_u64() >= Some(answered) {
            answered = question["id"].as_u64().unwrap_or_default() + 1;
            answer(site, id, question, &mut options)?;
        }
        Ok(false)
    })?;
    if finished["status"] != "succeeded" {
        let events = site.api_get(&format!("/api/runs/{id}/events"))?;
        bail!("run {id} ended {}: {}", finished["status"], tail(&events.to_string(), 2000));
    }
    let store = SqliteStore::open(&site.journal)?;
    let operator = store.run(id)?.info.operator;
    if operator != "alertmanager" {
        bail!("run {id} was started by `{operator}`, not by the alert");
    }
    examine(&store, id, respond)?;
    if let Some(seq) = first_asked {
        diagnosed_by_itself(&store, id, respond, seq)
            .context("the run asked a person before its read-only diagnosis had run")?;
    }
    Ok(id)
}

/// `runwell serve` heard the alert that started `run` resolve.
fn resolution_heard(site: &Site, run: RunId) -> anyhow::Result<()> {
    let history = site.api_get("/api/alerts")?;
    let started = |record: &&serde_json::Value| {
        record["outcomes"].as_array().into_iter().flatten().any(|o| o["kind"] == "started" && o["run"] == run)
    };
    let fingerprint = history
        .as_array()
        .into_iter()
        .flatten()
        .find(started)
        .map(|record| record["fingerprint"].clone())
        .with_context(|| format!("no alert in the server's history started run {run}: {history}"))?;
    wait_for("the server to hear the alert resolve", Duration::from_secs(30), || {
        let history = site.api_get("/api/alerts")?;
        Ok(history
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["fingerprint"] == fingerprint && r["status"] == "resolved"))
    })
}

/// The journal's newest run: the one the command just started.
fn newest(store: &SqliteStore) -> anyhow::Result<runwell::journal::Run> {
    store.runs(&RunFilter { status: None, limit: Some(1) })?.into_iter().next().context("no run in the journal")
}

fn latest(site: &Site) -> anyhow::Result<Option<i64>> {
    let runs = site.api_get("/api/runs?limit=1")?;
    Ok(runs.as_array().and_then(|runs| runs.first()).and_then(|run| run["id"].as_i64()))
}

/// Answers the run's open question as an admin in the dashboard would.
fn answer<'a>(
    site: &Site,
    run: RunId,
    question: &serde_json::Value,
    options: &mut impl Iterator<Item = &'a String>,
) -> anyhow::Result<()> {
    let id = question["id"].as_u64().unwrap_or_default();
    let body = match question["kind"].as_str() {
        Some("confirm" | "acknowledge") => serde_json::json!({ "question": id, "accepted": true }),
        Some("destructive") => serde_json::json!({ "question": id, "accepted": true, "typed": question["expected"] }),
        Some("choose") => {
            let label = options.next().with_context(|| {
                format!("the run asks to choose ({}) and the drill names no option", question["prompt"])
            })?;
            let choice = question["options"]
                .as_array()
                .into_iter()
                .flatten()
                .position(|option| option["label"] == label.as_str())
                .with_context(|| format!("the choice offers no option `{label}`: {}", question["options"]))?;
            serde_json::json!({ "question": id, "accepted": true, "choice": choice })
        }
        other => bail!("the run asks an unknown kind of question: {other:?}"),
    };
    let (status, text) = site.api_post(&format!("/api/runs/{run}/answer"), &body)?;
    if status != 204 {
        bail!("answering question {id} of run {run}: {status} {text}");
    }
    Ok(())
}

/// Every read-only evidence step of `run` had finished by journal event
/// `seq`, when the run first asked a person: an alert's run diagnoses by
/// itself. (Evidence from the resolution's own steps comes later.)
fn diagnosed_by_itself(store: &SqliteStore, run: RunId, respond: &Respond, seq: u64) -> anyhow::Result<()> {
    let mut steps = BTreeMap::new();
    let mut done_by = BTreeMap::new();
    for record in store.events(run)? {
        match record.event {
            Event::StepStarted { step, id, safety, .. } => {
                steps.insert(step, (id, safety));
            }
            Event::StepFinished { step, .. } => {
                if let Some((id, _)) = steps.get(&step) {
                    done_by.entry(id.clone()).or_insert(record.seq);
                }
            }
            _ => {}
        }
    }
    for (id, safety) in steps.values() {
        if safety == "read" && respond.evidence.contains_key(id) && done_by.get(id).is_none_or(|&at| at > seq) {
            bail!("step `{id}` had not run");
        }
    }
    Ok(())
}

/// The run succeeded, the diagnosis left its evidence in the journal and
/// the resolution's steps succeeded.
fn examine(store: &SqliteStore, run: RunId, respond: &Respond) -> anyhow::Result<()> {
    let record = store.run(run)?;
    if record.status != Status::Succeeded {
        bail!("run {run} is {:?}", record.status);
    }
    let events = store.events(run)?;
    let mut steps: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    let mut outcomes = BTreeMap::new();
    for record in &events {
        match &record.event {
            Event::StepStarted { step, id, .. } => steps.entry(id.as_str()).or_default().push(*step),
            Event::StepFinished { step, outcome, .. } => {
                outcomes.insert(*step, *outcome);
            }
            _ => {}
        }
    }
    for (name, pattern) in &respond.evidence {
        let numbers = steps.get(name.as_str()).with_context(|| format!("run {run} has no step `{name}`"))?;
        let mut text = String::new();
        for &step in numbers {
            for stream in [Stream::Stdout, Stream::Stderr] {
                let output = store.step_output(run, step, stream)?;
                text.push_str(&String::from_utf8_lossy(&output.head));
                text.push_str(&String::from_utf8_lossy(&output.tail));
            }
        }
        if !pattern.0.is_match(&text) {
            bail!(
                "run {run}: step `{name}`'s output in the journal does not show /{}/: {}",
                pattern.0,
                tail(&text, 600)
            );
        }
    }
    for name in &respond.resolution {
        let numbers = steps.get(name.as_str()).with_context(|| format!("run {run} never ran `{name}`"))?;
        if !numbers.iter().any(|step| outcomes.get(step) == Some(&StepOutcome::Succeeded)) {
            bail!("run {run}: `{name}` did not succeed");
        }
    }
    Ok(())
}

/// `runwell report RUN`: the post-incident record renders from the journal.
fn report(site: &Site, run: RunId) -> anyhow::Result<()> {
    let out = site.work.join(format!("report-{run}.md"));
    let output = site
        .runwell_plain(&["report", &run.to_string(), "--db", path(&site.journal)?, "--output", path(&out)?])
        .output()?;
    if !output.status.success() {
        bail!("`runwell report {run}` failed: {}", both(&output));
    }
    let text = std::fs::read_to_string(&out)?;
    for section in ["## Timeline", "## Cause"] {
        if !text.contains(section) {
            bail!("the report of run {run} has no `{section}`");
        }
    }
    Ok(())
}

fn path(path: &Path) -> anyhow::Result<&str> {
    path.to_str().context("a UTF-8 path")
}

fn both(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)).trim().to_owned()
}

/// The last `max` bytes of `text`, on a character boundary.
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}
