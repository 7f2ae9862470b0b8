//! `stale-review`: a runbook past its review date may no longer match the
//! system it describes.

use super::Context;
use crate::runbook::{Diagnostic, Runbook};

pub(super) fn check(runbook: &Runbook, context: Context, out: &mut Vec<Diagnostic>) {
    let Some(review) = &runbook.front_matter.review else { return };
    let due = review.due;
    if due < context.today {
        out.push(Diagnostic::warning(
            "stale-review",
            review.location,
            format!(
                "this runbook was due for review on {due} (last reviewed {}, review every {}); check it against the system, then update `last_reviewed_on`",
                review.last_reviewed_on, review.review_in
            ),
        ));
    }
}
