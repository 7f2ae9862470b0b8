//! `destructive`: a step that kills, deletes, drops or flushes must make the
//! operator confirm it, so that it is never one Enter away.

use super::Context;
use crate::runbook::{Diagnostic, Runbook, Safety};

pub(super) fn check(runbook: &Runbook, _: Context, out: &mut Vec<Diagnostic>) {
    for step in all_steps(runbook) {
        let Some(finding) = step.assessment.findings.iter().find(|f| f.safety == Safety::Destructive) else { continue };
        let location = step.location_of(finding.range.start);
        match step.attributes.safety {
            Some(Safety::Destructive) => {}
            Some(declared) if step.attributes.confirm.is_none() => out.push(Diagnostic::warning(
                "destructive",
                location,
                format!(
                    "step `{}` is marked `safety={}` but runs {}, which is destructive; remove the override or add `confirm`",
                    step.id,
                    if declared == Safety::Read { "read" } else { "write" },
                    finding.what
                ),
            )),
            _ if step.confirms() => {}
            _ => out.push(Diagnostic::error(
                "destructive",
                location,
                format!(
                    "step `{}` runs {}, which is destructive, without confirmation; add `{{confirm}}` (or `{{destructive}}` for typed confirmation) to the fence's info string",
                    step.id, finding.what
                ),
            )),
        }
    }
}

/// Steps and their rollback blocks.
pub(super) fn all_steps(runbook: &Runbook) -> impl Iterator<Item = &crate::runbook::Step> {
    runbook.steps.iter().flat_map(|step| std::iter::once(step).chain(step.rollback.as_deref()))
}
