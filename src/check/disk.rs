//! `disk`: free space and inodes of the filesystem holding a path.
//!
//! Fields: `total_bytes`, `free_bytes` (available to unprivileged users, as
//! `df` counts), `free_percent`, `used_percent` (of the space users can have,
//! as `df` reports `Use%`), `inodes_free` and `inodes_free_percent` (null on
//! filesystems without an inode count, such as btrfs).
//!
//! Default: critical below 5 % free space or inodes, warning below 10 %.

use std::time::Duration;

use serde_json::Value;

use super::{Failure, Fields, Observation, Params, Verdict};

const CRITICAL_BELOW: f64 = 5.0;
const WARNING_BELOW: f64 = 10.0;

pub async fn probe(target: &str, _params: &Params, _timeout: Duration) -> Result<Observation, Failure> {
    let path = target.to_owned();
    // statvfs can block on a hung network mount; off the runtime, the
    // engine's timeout still ends the check.
    let stats = tokio::task::spawn_blocking(move || rustix::fs::statvfs(path.as_str()))
        .await
        .map_err(|e| Failure::unknown(format!("statvfs did not finish: {e}")))?
        .map_err(|e| match e {
            rustix::io::Errno::NOENT => Failure::critical(format!("{target} does not exist")),
            e => Failure::critical(format!("cannot read the filesystem of {target}: {}", std::io::Error::from(e))),
        })?;
    let block = stats.f_frsize.max(1);
    let used = stats.f_blocks.saturating_sub(stats.f_bfree);
    let total_bytes = stats.f_blocks.saturating_mul(block);
    let free_bytes = stats.f_bavail.saturating_mul(block);
    let used_percent = percent(used, used + stats.f_bavail);
    let free_percent = used_percent.map(|used| round1(100.0 - used));
    let inodes_free_percent = percent(stats.f_ffree, stats.f_files);

    let mut fields = Fields::new();
    fields.insert("total_bytes".to_owned(), total_bytes.into());
    fields.insert("free_bytes".to_owned(), free_bytes.into());
    fields.insert("free_percent".to_owned(), free_percent.into());
    fields.insert("used_percent".to_owned(), used_percent.into());
    fields.insert("inodes_free".to_owned(), stats.f_ffree.into());
    fields.insert("inodes_free_percent".to_owned(), inodes_free_percent.map_or(Value::Null, Value::from));

    let space = free_percent.unwrap_or(100.0);
    let inodes = inodes_free_percent.unwrap_or(100.0);
    let observed = format!("{} free ({} %)", human_size(free_bytes), free_percent.map_or(100.0, f64::round));
    let (worst, what) = if space <= inodes { (space, "space") } else { (inodes, "inodes") };
    let reason = || format!("only {worst:.1} % {what} free on {target}");
    let default = if worst < CRITICAL_BELOW {
        Verdict::critical(reason())
    } else if worst < WARNING_BELOW {
        Verdict::warning(reason())
    } else {
        Verdict::ok()
    };
    Ok(Observation::new(fields, observed, default))
}

/// `part` of `whole` in percent, one decimal; None for an empty whole.
#[allow(clippy::cast_precision_loss)]
fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| round1(part as f64 * 100.0 / whole as f64))
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Disk sizes in decimal units, as `df -H` prints them: `42.1 GB`.
#[allow(clippy::cast_precision_loss)]
fn human_size(bytes: u64) -> String {
    let value = bytes as f64;
    match bytes {
        0..1_000_000 => super::human_bytes(bytes as usize),
        1_000_000..1_000_000_000 => format!("{:.1} MB", value / 1e6),
        1_000_000_000..1_000_000_000_000 => format!("{:.1} GB", value / 1e9),
        _ => format!("{:.1} TB", value / 1e12),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::{human_size, probe};
    use crate::check::testing::{params_of, resolved, run_one};
    use crate::check::{Failure, Status};
    use crate::runbook::ProbeKind;

    const TIMEOUT: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn the_root_filesystem_reports_space_and_inodes() {
        let seen = probe("/", &params_of(&json!({})), TIMEOUT).await.unwrap();
        let total = seen.fields["total_bytes"].as_u64().unwrap();
        let free = seen.fields["free_bytes"].as_u64().unwrap();
        assert!(total > 0 && free <= total, "{seen:?}");
        let (free_pct, used_pct) =
            (seen.fields["free_percent"].as_f64().unwrap(), seen.fields["used_percent"].as_f64().unwrap());
        assert!((free_pct + used_pct - 100.0).abs() < 0.2, "{seen:?}");
        assert!(seen.observed.ends_with(" %)") && seen.observed.contains(" free ("), "{}", seen.observed);
        // The default verdict follows the numbers, whatever this disk holds.
        let inodes = seen.fields["inodes_free_percent"].as_f64().unwrap_or(100.0);
        let worst = free_pct.min(inodes);
        let expected = if worst < 5.0 {
            Status::Critical
        } else if worst < 10.0 {
            Status::Warning
        } else {
            Status::Ok
        };
        assert_eq!(seen.default.status, expected, "{seen:?}");
    }

    #[tokio::test]
    async fn any_path_on_a_filesystem_works_through_the_engine() {
        let dir = tempfile::tempdir().unwrap();
        let check = resolved(ProbeKind::Disk, dir.path().to_str().unwrap(), &json!({}));
        let outcome = run_one(check).await;
        assert_ne!(outcome.status, Status::Unknown, "{outcome:?}");
        assert!(outcome.observed.contains(" free ("), "{}", outcome.observed);
    }

    #[tokio::test]
    async fn an_expectation_that_does_not_hold_is_critical() {
        let mut check = resolved(ProbeKind::Disk, "/", &json!({}));
        check.expect = Some("free_percent > 100".to_owned());
        let outcome = run_one(check).await;
        assert_eq!(outcome.status, Status::Critical);
        assert!(outcome.reason.contains("free_percent"), "{}", outcome.reason);
    }

    #[tokio::test]
    async fn a_missing_path_is_critical() {
        let failure = probe("/nonexistent/mount", &params_of(&json!({})), TIMEOUT).await.unwrap_err();
        assert_eq!(failure, Failure::critical("/nonexistent/mount does not exist"));
    }

    #[test]
    fn sizes_read_like_df_h() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(42_100_000_000), "42.1 GB");
        assert_eq!(human_size(3_200_000_000_000), "3.2 TB");
    }
}
