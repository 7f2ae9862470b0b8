//! Programs that run text elsewhere, judged by the rules of where it runs:
//! `sh -c`, `ssh host …`, `find -exec`, `docker exec`, `kubectl exec`,
//! `ip netns exec`, and the clients that read SQL or Redis commands
//! (`psql`, `mysql`, `redis-cli`) from options or standard input.

use super::options::{Flag, Spec, parse_options, short_cluster};
use super::origin::Site;
use super::programs::docker_compose;
use super::redis::redis_command;
use super::verdict::{Verdict, code, writes};
use super::{Analysis, Language, basename};
use crate::runbook::shell::Word;

impl Analysis<'_> {
    pub(super) fn shell_command(&mut self, site: &Site<'_>, name: &str, rest: &[Word]) {
        let (options, operands) = parse_options(rest, &Spec { short: "oO", long: &["rcfile", "init-file"] }, false);
        if options.iter().any(|o| o.is('c', "")) {
            // `bash -c 'cmd' name args`: only the first operand is code.
            return self.joined(site, operands.get(..1).unwrap_or_default());
        }
        if !operands.is_empty() {
            let script = operands[0].value.as_str();
            return self.record(Verdict::Write(code(&format!("{name} {script}"))), site.range.clone());
        }
        self.stdin_or(site, Language::Shell, Verdict::Write(code(name)));
    }

    pub(super) fn ssh(&mut self, site: &Site<'_>, rest: &[Word]) {
        let spec = Spec::short("BbcDEeFIiJLlmOoPpQRSWw");
        let (_, operands) = parse_options(rest, &spec, false);
        let Some((host, after_host)) = operands.split_first() else {
            return self.record(Verdict::Write(code("ssh")), site.range.clone());
        };
        // OpenSSH also takes options after the destination.
        let (_, command) = parse_options(after_host, &spec, false);
        if command.is_empty() {
            self.stdin_or(site, Language::Shell, Verdict::Write(code(&format!("ssh {}", host.value))));
        } else {
            self.joined(site, command);
        }
    }

    pub(super) fn find(&mut self, site: &Site<'_>, rest: &[Word]) {
        let mut i = 0;
        while let Some(word) = rest.get(i) {
            i += 1;
            match word.value.as_str() {
                "-delete" => self.record(Verdict::Destructive(code("find -delete")), site.range.clone()),
                action @ ("-exec" | "-execdir" | "-ok" | "-okdir") => {
                    let end = rest[i..]
                        .iter()
                        .position(|w| matches!(w.value.as_str(), ";" | "+"))
                        .map_or(rest.len(), |p| i + p);
                    let inner = &rest[i..end];
                    i = end + 1;
                    match inner.first().map(|w| basename(&w.value)) {
                        Some(program @ ("rm" | "shred" | "unlink" | "rmdir")) => {
                            self.record(
                                Verdict::Destructive(code(&format!("find {action} {program}"))),
                                site.range.clone(),
                            );
                        }
                        _ => self.command(site, inner),
                    }
                }
                "-fprint" | "-fprint0" | "-fprintf" | "-fls" => {
                    let file = rest.get(i).map_or("", |w| w.value.as_str());
                    self.record(writes(file), site.range.clone());
                }
                _ => {}
            }
        }
    }

    pub(super) fn docker(&mut self, site: &Site<'_>, rest: &[Word]) {
        let spec =
            Spec { short: "Hcl", long: &["host", "context", "config", "log-level", "tlscacert", "tlscert", "tlskey"] };
        let (_, operands) = parse_options(rest, &spec, false);
        let values: Vec<&str> = operands.iter().map(|w| w.value.as_str()).collect();
        let (group, verb, args) = match values.as_slice() {
            [
                group @ ("container" | "image" | "volume" | "network" | "system" | "builder" | "compose" | "context"
                | "node" | "service" | "plugin" | "buildx" | "secret" | "config" | "stack"),
                verb,
                args @ ..,
            ] => (*group, *verb, args),
            [verb, args @ ..] => ("", *verb, args),
            [] => return self.record(Verdict::Write(code("docker")), site.range.clone()),
        };
        let what = |text: &str| {
            code(&if group.is_empty() { format!("docker {text}") } else { format!("docker {group} {text}") })
        };
        let force = args.iter().any(|a| *a == "--force" || short_cluster(a).is_some_and(|c| c.contains('f')));
        let verdict = match (group, verb) {
            ("" | "container", "rm") if force => Verdict::Destructive(what("rm -f")),
            (_, "prune") => Verdict::Destructive(what("prune")),
            ("volume", "rm" | "remove") => Verdict::Destructive(what("rm")),
            ("compose", "down") => {
                return self.record(docker_compose("docker compose", &values[1..]), site.range.clone());
            }
            ("" | "container" | "compose", "exec") => {
                let exec =
                    Spec { short: "eluw", long: &["env", "env-file", "user", "workdir", "detach-keys", "index"] };
                let offset = operands.len() - args.len();
                let (_, target) = parse_options(&operands[offset..], &exec, false);
                match target.split_first() {
                    Some((_, inner)) if !inner.is_empty() => return self.command(site, inner),
                    _ => Verdict::Write(what("exec")),
                }
            }
            (
                "",
                "ps" | "logs" | "inspect" | "stats" | "images" | "version" | "info" | "top" | "port" | "diff"
                | "history" | "events" | "search",
            )
            | ("container", "ls" | "ps" | "list" | "inspect" | "logs" | "stats" | "top" | "port" | "diff")
            | ("image", "ls" | "list" | "inspect" | "history")
            | ("volume" | "network" | "context" | "node" | "secret" | "config" | "plugin", "ls" | "list" | "inspect")
            | ("system", "df" | "info" | "events")
            | ("compose", "ps" | "logs" | "config" | "ls" | "top" | "images" | "version")
            | ("service", "ls" | "ps" | "inspect" | "logs")
            | ("context", "show") => Verdict::Read,
            _ => Verdict::Write(what(verb)),
        };
        self.record(verdict, site.range.clone());
    }

    pub(super) fn kubectl(&mut self, site: &Site<'_>, rest: &[Word]) {
        let spec = Spec {
            short: "nlocfsL",
            long: &[
                "namespace",
                "context",
                "kubeconfig",
                "cluster",
                "user",
                "server",
                "token",
                "as",
                "as-group",
                "selector",
                "output",
                "container",
                "filename",
                "request-timeout",
                "field-selector",
                "since",
                "tail",
                "sort-by",
            ],
        };
        let (_, operands) = parse_options(rest, &spec, true);
        let values: Vec<&str> = operands.iter().map(|w| w.value.as_str()).collect();
        let verdict = match values.as_slice() {
            ["delete", ..] => Verdict::Destructive(code("kubectl delete")),
            [
                "get" | "describe" | "logs" | "top" | "explain" | "version" | "api-resources" | "api-versions"
                | "cluster-info" | "events" | "diff" | "wait",
                ..,
            ]
            | ["auth", "can-i" | "whoami", ..]
            | ["config", "view" | "current-context" | "get-contexts" | "get-clusters" | "get-users", ..]
            | ["rollout", "status" | "history", ..]
            | [] => Verdict::Read,
            ["exec", ..] => match rest.iter().position(|w| w.value == "--") {
                Some(at) if at + 1 < rest.len() => return self.command(site, &rest[at + 1..]),
                _ => Verdict::Write(code("kubectl exec")),
            },
            [verb @ ("rollout" | "config" | "auth" | "set" | "create" | "annotate" | "label"), sub, ..] => {
                Verdict::Write(code(&format!("kubectl {verb} {sub}")))
            }
            [verb, ..] => Verdict::Write(code(&format!("kubectl {verb}"))),
        };
        self.record(verdict, site.range.clone());
    }

    pub(super) fn ip(&mut self, site: &Site<'_>, rest: &[Word]) {
        let mut operands = Vec::new();
        let mut i = 0;
        while let Some(word) = rest.get(i) {
            i += 1;
            let value = word.value.as_str();
            if operands.is_empty() && value.starts_with('-') {
                if matches!(value, "-n" | "-netns" | "-f" | "-family" | "-l" | "-loops" | "-rc" | "-rcvbuf") {
                    i += 1;
                } else if matches!(value, "-b" | "-batch" | "-force") {
                    return self.record(Verdict::Write(code("ip -batch")), site.range.clone());
                }
                continue;
            }
            operands.push(word);
        }
        let object = operands.first().map_or("", |w| w.value.as_str());
        let action = operands.get(1).map_or("", |w| w.value.as_str());
        if object == "netns" && action == "exec" && operands.len() > 3 {
            let inner: Vec<Word> = operands[3..].iter().map(|w| (*w).clone()).collect();
            return self.command(site, &inner);
        }
        let reads = action.is_empty()
            || ["show", "list", "lst"].iter().any(|verb| verb.starts_with(action))
            || matches!(action, "ls" | "get" | "monitor" | "help" | "dev");
        let verdict = if reads { Verdict::Read } else { Verdict::Write(code(&format!("ip {object} {action}"))) };
        self.record(verdict, site.range.clone());
    }

    pub(super) fn redis_cli(&mut self, site: &Site<'_>, rest: &[Word]) {
        let spec = Spec {
            short: "hpsaurindD",
            long: &[
                "user",
                "pass",
                "sni",
                "cacert",
                "cacertdir",
                "cert",
                "key",
                "tls-ciphers",
                "tls-ciphersuites",
                "rdb",
                "functions-rdb",
                "pipe-timeout",
                "pattern",
                "quoted-pattern",
                "count",
                "memkeys-samples",
                "intrinsic-latency",
                "eval",
                "cluster",
            ],
        };
        let (options, operands) = parse_options(rest, &spec, false);
        let range = site.range.clone();
        for option in &options {
            let verdict = match option.long() {
                "rdb" | "functions-rdb" => writes(option.value.unwrap_or_default()),
                "pipe" | "eval" => Verdict::Write(code(&format!("redis-cli --{}", option.long()))),
                "cluster" => match option.value {
                    Some("check" | "info" | "help") => Verdict::Read,
                    other => Verdict::Write(code(&format!("redis-cli --cluster {}", other.unwrap_or_default()))),
                },
                _ => Verdict::Read,
            };
            if verdict != Verdict::Read {
                return self.record(verdict, range);
            }
        }
        if !operands.is_empty() {
            let words: Vec<&str> = operands.iter().map(|w| w.value.as_str()).collect();
            return self.record(redis_command(&words), range);
        }
        let modes = [
            "scan",
            "bigkeys",
            "memkeys",
            "hotkeys",
            "keystats",
            "stat",
            "latency",
            "latency-history",
            "latency-dist",
            "intrinsic-latency",
            "cluster",
            "help",
            "version",
        ];
        if options.iter().any(|o| modes.contains(&o.long())) {
            return;
        }
        self.stdin_or(site, Language::Redis, Verdict::Write(code("redis-cli") + " (interactive)"));
    }

    pub(super) fn psql(&mut self, site: &Site<'_>, rest: &[Word]) {
        let spec = Spec {
            short: "cdfhLopPTUvFR",
            long: &[
                "command",
                "dbname",
                "file",
                "host",
                "log-file",
                "output",
                "port",
                "pset",
                "table-attr",
                "username",
                "set",
                "variable",
                "field-separator",
                "record-separator",
            ],
        };
        let (options, _) = parse_options(rest, &spec, true);
        let range = site.range.clone();
        let mut commands = 0;
        let mut from_stdin = false;
        for option in &options {
            match option.flag {
                Flag::Short('c') | Flag::Long("command") => {
                    commands += 1;
                    let sql = option.value.unwrap_or_default();
                    let origin = site.origin_of(std::slice::from_ref(option.word), sql);
                    self.psql_script(sql, &origin);
                }
                Flag::Short('f') | Flag::Long("file") => match option.value {
                    Some("-") => from_stdin = true,
                    file => self
                        .record(Verdict::Write(code(&format!("psql -f {}", file.unwrap_or_default()))), range.clone()),
                },
                Flag::Short('o' | 'L') | Flag::Long("output" | "log-file") => {
                    self.record(writes(option.value.unwrap_or_default()), range.clone());
                }
                Flag::Short('l') | Flag::Long("list") => commands += 1,
                _ => {}
            }
        }
        if commands == 0 || from_stdin {
            self.stdin_or(site, Language::Psql, Verdict::Write(code("psql") + " (interactive)"));
        }
    }

    pub(super) fn mysql(&mut self, site: &Site<'_>, rest: &[Word]) {
        let spec = Spec { short: "ehuPDSo", long: &["execute", "host", "user", "port", "database", "socket"] };
        // `-pSECRET` is a password stuck to its option, not a cluster of flags.
        let rest: Vec<Word> = rest.iter().filter(|w| !w.value.starts_with("-p")).cloned().collect();
        let (options, _) = parse_options(&rest, &spec, true);
        let mut commands = 0;
        for option in options.iter().filter(|o| o.is('e', "execute")) {
            commands += 1;
            let sql = option.value.unwrap_or_default();
            self.sql(sql, &site.origin_of(std::slice::from_ref(option.word), sql));
        }
        if commands == 0 {
            self.stdin_or(site, Language::Sql, Verdict::Write(code("mysql") + " (interactive)"));
        }
    }
}
