//! systemd verbs: the only verdicts that depend on what the runbook
//! declares, since stopping a declared service is destructive.

use super::Analysis;
use super::options::short_cluster;
use super::verdict::{Verdict, code};

impl Analysis<'_> {
    pub(super) fn systemctl(&self, args: &[&str]) -> Verdict {
        let mut operands = Vec::new();
        let mut i = 0;
        while let Some(arg) = args.get(i) {
            i += 1;
            if let Some(long) = arg.strip_prefix("--") {
                const WITH_VALUE: &[&str] = &[
                    "type",
                    "property",
                    "host",
                    "machine",
                    "lines",
                    "output",
                    "signal",
                    "state",
                    "kill-whom",
                    "kill-value",
                    "root",
                    "job-mode",
                    "what",
                    "timestamp",
                    "preset-mode",
                    "message",
                    "when",
                ];
                if WITH_VALUE.contains(&long) {
                    i += 1;
                }
            } else if let Some(cluster) = short_cluster(arg) {
                if cluster.ends_with(['t', 'p', 'H', 'M', 'n', 'o', 's']) {
                    i += 1;
                }
            } else {
                operands.push(*arg);
            }
        }
        match operands.split_first() {
            None => Verdict::Read,
            Some((verb, units)) => self.systemd_verb(verb, units),
        }
    }

    pub(super) fn systemd_verb(&self, verb: &str, units: &[&str]) -> Verdict {
        const READS: &[&str] = &[
            "status",
            "is-active",
            "is-enabled",
            "is-failed",
            "is-system-running",
            "show",
            "cat",
            "get-default",
            "show-environment",
            "help",
            "list-units",
            "list-unit-files",
            "list-timers",
            "list-sockets",
            "list-dependencies",
            "list-jobs",
            "list-machines",
            "list-paths",
            "list-automounts",
        ];
        if READS.contains(&verb) {
            return Verdict::Read;
        }
        if matches!(verb, "poweroff" | "reboot" | "halt" | "kexec" | "soft-reboot") {
            return Verdict::Destructive(code(&format!("systemctl {verb}")));
        }
        if matches!(verb, "stop" | "disable" | "mask" | "kill")
            && let Some(unit) = units.iter().find(|unit| self.is_declared_service(unit))
        {
            return Verdict::Destructive(format!("{} (a declared service)", code(&format!("systemctl {verb} {unit}"))));
        }
        Verdict::Write(code(&format!("systemctl {verb} {}", units.first().unwrap_or(&""))))
    }

    fn is_declared_service(&self, unit: &str) -> bool {
        let unit = unit.strip_suffix(".service").unwrap_or(unit);
        self.context.services.iter().any(|service| service.strip_suffix(".service").unwrap_or(service) == unit)
    }
}
