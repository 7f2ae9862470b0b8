//! The drill files: `drills/SYSTEM.toml` names the example runbook and lab
//! (`examples/SYSTEM.md`, `runwell-standin up SYSTEM`) and lists its drills.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use regex::Regex;
use serde::Deserialize;

/// One system's drills.
#[derive(Debug)]
pub struct System {
    /// The file's stem: the example runbook and the stand-in lab.
    pub name: String,
    pub drills: Vec<Drill>,
}

/// One drill: an incident broken, detected, diagnosed and resolved, or a
/// mistake in the runbook that lint must catch.
#[derive(Debug)]
pub struct Drill {
    pub name: String,
    /// What the seed describes, in a line.
    pub incident: String,
    pub kind: Kind,
}

/// What a drill does.
#[derive(Debug)]
pub enum Kind {
    /// Break the lab, detect, respond through the CLI and through an alert.
    Incident(Box<Incident>),
    /// Edit a copy of the runbook and lint it.
    Lint(Lint),
    /// Stop the front matter's services and start them again.
    Services(Services),
}

/// A drill as written: `inject`, `detect` and `respond`; or `lint`; or `services`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    name: String,
    incident: String,
    inject: Option<String>,
    detect: Option<Detect>,
    respond: Option<Respond>,
    lint: Option<Lint>,
    services: Option<Services>,
}

#[derive(Debug)]
pub struct Incident {
    /// Shell run in the lab's environment that breaks it.
    pub inject: String,
    pub detect: Detect,
    pub respond: Respond,
}

/// What `runwell check` must say once the fault is in.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Detect {
    /// `runwell check`'s exit status (2: something is critical).
    pub exit: i32,
    /// Check name → `STATE` or `STATE: REGEX` the reason must match.
    pub checks: BTreeMap<String, Expected>,
}

/// A check's state and, optionally, what its reason says.
#[derive(Debug)]
pub struct Expected {
    pub state: String,
    pub reason: Option<Regex>,
}

impl<'de> Deserialize<'de> for Expected {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let (state, reason) = match text.split_once(':') {
            Some((state, reason)) => (state.trim(), Some(reason.trim())),
            None => (text.trim(), None),
        };
        if !matches!(state, "ok" | "warning" | "critical" | "unknown") {
            return Err(serde::de::Error::custom(format!(
                "`{state}` is not a check state: ok, warning, critical or unknown"
            )));
        }
        let reason = reason.map(Regex::new).transpose().map_err(serde::de::Error::custom)?;
        Ok(Expected { state: state.to_owned(), reason })
    }
}

/// How the runbook answers the incident.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Respond {
    /// The procedure that answers it (its heading's id).
    pub procedure: String,
    /// The alternative taken at each choice, by label (`A`, `B`).
    #[serde(default)]
    pub options: Vec<String>,
    /// `--set` values the procedure needs (`incident_id=…`).
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// The labels of the alert that starts it through `runwell serve`; the
    /// runbook's `alerts:` must map them to `procedure`. Without it the
    /// procedure runs through the CLI only.
    pub alert: Option<BTreeMap<String, String>>,
    /// Step name → a regex its output in the journal must match: the
    /// diagnosis's evidence.
    #[serde(default)]
    pub evidence: BTreeMap<String, Pattern>,
    /// Steps that must have run and succeeded: the resolution.
    #[serde(default)]
    pub resolution: Vec<String>,
}

/// A regex read from the drill file.
#[derive(Debug)]
pub struct Pattern(pub Regex);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Regex::new(&text).map(Pattern).map_err(serde::de::Error::custom)
    }
}

/// A copy of the runbook with one edit, and what `runwell lint` says of it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Lint {
    /// Text of the runbook to replace (it must occur)…
    pub replace: String,
    /// …with this.
    pub with: String,
    /// `runwell lint`'s exit status.
    pub exit: i32,
    /// A regex its output must match.
    pub finds: Pattern,
}

/// `runwell stop` then `runwell start` on the front matter's `services`:
/// the order each goes in, tier by tier, and what the checks say while
/// the services are down.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Services {
    /// The tiers `runwell stop` must go in (dependants first).
    pub stop: Vec<Vec<String>>,
    /// What `runwell check` says once they are stopped.
    pub stopped: Detect,
    /// The tiers `runwell start` must go in, each gated on its checks.
    pub start: Vec<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(rename = "drill")]
    drills: Vec<Written>,
}

impl TryFrom<Written> for Drill {
    type Error = anyhow::Error;

    fn try_from(written: Written) -> anyhow::Result<Drill> {
        let Written { name, incident, inject, detect, respond, lint, services } = written;
        let kind = match (inject, detect, respond, lint, services) {
            (Some(inject), Some(detect), Some(respond), None, None) => {
                Kind::Incident(Box::new(Incident { inject, detect, respond }))
            }
            (None, None, None, Some(lint), None) => Kind::Lint(lint),
            (None, None, None, None, Some(services)) => Kind::Services(services),
            _ => bail!(
                "drill `{name}` needs either `inject`, `detect` and `respond`, or `lint` alone, or `services` alone"
            ),
        };
        Ok(Drill { name, incident, kind })
    }
}

impl System {
    /// Reads `path` (`drills/SYSTEM.toml`).
    pub fn load(path: &Path) -> anyhow::Result<System> {
        let name = path.file_stem().and_then(|s| s.to_str()).context("a drill file is named SYSTEM.toml")?.to_owned();
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        System::parse(name, &text).with_context(|| format!("{} is not a drill file", path.display()))
    }

    /// Reads the drills of system `name` from `text`.
    pub fn parse(name: String, text: &str) -> anyhow::Result<System> {
        let file: File = toml::from_str(text)?;
        let mut seen = std::collections::BTreeSet::new();
        let mut drills = Vec::new();
        for written in file.drills {
            if !seen.insert(written.name.clone()) {
                bail!("two drills are named `{}`", written.name);
            }
            drills.push(Drill::try_from(written)?);
        }
        Ok(System { name, drills })
    }
}

#[cfg(test)]
mod tests {
    use super::{Kind, System};

    fn error(text: &str) -> String {
        format!("{:#}", System::parse("demo".into(), text).expect_err("refused"))
    }

    const INCIDENT: &str = "[[drill]]\nname = \"down\"\nincident = \"it is down\"\ninject = \"true\"\n\
        [drill.detect]\nexit = 2\nchecks = { api = \"critical: status is 5\\\\d\\\\d\" }\n\
        [drill.respond]\nprocedure = \"restart\"\nevidence = { look = \"down\" }\n";

    #[test]
    fn an_incident_drill_reads_its_state_and_reason_pattern() {
        let system = System::parse("demo".into(), INCIDENT).expect("a drill file");
        let Kind::Incident(incident) = &system.drills[0].kind else { panic!("an incident drill") };
        let api = &incident.detect.checks["api"];
        assert_eq!(api.state, "critical");
        assert!(api.reason.as_ref().is_some_and(|r| r.is_match("status is 503")));
        assert!(incident.respond.alert.is_none() && incident.respond.options.is_empty());
    }

    #[test]
    fn mistakes_in_a_drill_file_are_named() {
        assert!(error(&INCIDENT.replace("critical:", "broken:")).contains("`broken` is not a check state"));
        assert!(error(&format!("{INCIDENT}{INCIDENT}")).contains("two drills are named `down`"));
        assert!(error(&INCIDENT.replace("exit = 2", "exit = 2\nexits = 3")).contains("unknown field `exits`"));
        assert!(error(&INCIDENT.replace("\"down\" }", "\"(\" }")).contains("regex parse error"));
        let both = format!("{INCIDENT}[drill.lint]\nreplace = \"a\"\nwith = \"b\"\nexit = 1\nfinds = \"b\"\n");
        assert!(error(&both).contains("drill `down` needs either `inject`, `detect` and `respond`, or `lint` alone"));
        let services = "[[drill]]\nname = \"cycle\"\nincident = \"i\"\n[drill.services]\nstop = [[\"app\"]]\nstart = [[\"app\"]]\n";
        assert!(error(services).contains("missing field `stopped`"));
    }
}
