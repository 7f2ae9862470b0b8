//! Step safety: is a step read-only, a write, or destructive?
//!
//! Lint uses this to demand `confirm` on destructive steps; `runwell list`
//! shows it; dry-run (later) runs only `Read` steps. The classification is
//! deliberately conservative: a step is `Read` only when every command in it
//! is known to be read-only.
//!
//! Shell steps are lexed with [`shell`]; each simple command is judged by
//! its name after looking through wrappers (`sudo`, `env`, `timeout`, …),
//! and text that runs elsewhere — `bash -c '…'`, `ssh host '…'`, `watch
//! '…'`, `psql -c "…"`, a here-document fed to `psql` or `redis-cli` — is
//! judged by the rules of where it runs, with findings pointing into the
//! step's text. Anything unknown is a write.
//!
//! The walk over commands lives here; the rules live beside it:
//! `options` parses command lines, `programs` judges programs by their
//! arguments, `nested` follows programs that run text elsewhere,
//! `services` judges systemd verbs against the declared services, and
//! `sql` and `redis` judge statements and commands.

mod nested;
mod options;
mod origin;
mod programs;
mod redis;
mod services;
mod sql;
#[cfg(test)]
mod tests;
mod verdict;

use std::ops::Range;

use super::shell::{self, Command, Word};
use options::{SUDO, Spec, has, is_subcommand, parse_options, short_cluster, skip_assignments};
use origin::{Input, Origin, Site};
use programs::{
    READ_ONLY, aws, curl, docker_compose, gcloud, git, helm, iptables, journalctl, kill, nft, nginx, openssl, rm, sed,
    terraform, ufw, wget,
};
use verdict::{Verdict, code, generic, is_harmless_sink, writes};

/// Ordered: `Read < Write < Destructive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Safety {
    Read,
    Write,
    Destructive,
}

impl Safety {
    /// `read`, `write` or `destructive`: the word the format, lists and the
    /// journal use.
    pub fn as_str(self) -> &'static str {
        match self {
            Safety::Read => "read",
            Safety::Write => "write",
            Safety::Destructive => "destructive",
        }
    }
}

/// Why a step is not read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub safety: Safety,
    /// What it does, for messages: "`kill -9`", "`DROP TABLE`",
    /// "`systemctl stop tornado` (a declared service)".
    pub what: String,
    /// Byte range in the analysed text.
    pub range: Range<usize>,
}

/// The result of classifying one step's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The most severe class found (`Read` when there are no findings).
    pub safety: Safety,
    /// Every destructive finding, then the first write finding if any.
    pub findings: Vec<Finding>,
}

/// What the runbook declares that safety depends on.
#[derive(Debug, Default, Clone, Copy)]
pub struct Context<'a> {
    /// Declared service names and their systemd unit names:
    /// `systemctl stop NAME` of one of them is destructive.
    pub services: &'a [&'a str],
}

pub fn assess_shell(script: &str, context: Context<'_>) -> Assessment {
    let mut analysis = Analysis::new(context);
    analysis.shell(script, &Origin::default(), 0);
    analysis.finish()
}

pub fn assess_sql(sql: &str) -> Assessment {
    let mut analysis = Analysis::new(Context::default());
    analysis.sql(sql, &Origin::default());
    analysis.finish()
}

/// `commands` is Redis commands, one per line (`LLEN queue`, `FLUSHALL`).
pub fn assess_redis(commands: &str) -> Assessment {
    let mut analysis = Analysis::new(Context::default());
    analysis.redis(commands, &Origin::default());
    analysis.finish()
}

/// How deep `bash -c "ssh h 'sudo sh -c …'"` is followed before giving up
/// (as a write).
const MAX_NESTING: usize = 8;

#[derive(Debug)]
struct Analysis<'c> {
    context: Context<'c>,
    destructive: Vec<Finding>,
    writes: Vec<Finding>,
}

impl<'c> Analysis<'c> {
    fn new(context: Context<'c>) -> Self {
        Analysis { context, destructive: Vec::new(), writes: Vec::new() }
    }

    fn finish(mut self) -> Assessment {
        self.destructive.sort_by_key(|f| f.range.start);
        if !self.destructive.is_empty() {
            return Assessment { safety: Safety::Destructive, findings: self.destructive };
        }
        match self.writes.into_iter().min_by_key(|f| f.range.start) {
            Some(write) => Assessment { safety: Safety::Write, findings: vec![write] },
            None => Assessment { safety: Safety::Read, findings: Vec::new() },
        }
    }

    fn record(&mut self, verdict: Verdict, range: Range<usize>) {
        match verdict {
            Verdict::Read => {}
            Verdict::Write(what) => self.writes.push(Finding { safety: Safety::Write, what, range }),
            Verdict::Destructive(what) => self.destructive.push(Finding { safety: Safety::Destructive, what, range }),
        }
    }

    // ---- shell ------------------------------------------------------------

    fn shell(&mut self, text: &str, origin: &Origin, depth: usize) {
        if depth > MAX_NESTING {
            self.record(Verdict::Write("a deeply nested command".to_owned()), origin.map(&(0..text.len())));
            return;
        }
        let script = shell::parse(text);
        for (index, command) in script.commands.iter().enumerate() {
            let mut inputs = Vec::new();
            for heredoc in &command.heredocs {
                let body = text.get(heredoc.body.clone()).unwrap_or_default();
                inputs.push(Input { text: body.to_owned(), origin: origin.at(heredoc.body.start) });
            }
            for redirect in &command.redirects {
                if redirect.op == "<<<"
                    && let Some(target) = &redirect.target
                {
                    let origin = origin.within(text, &target.range, &target.value);
                    inputs.push(Input { text: target.value.clone(), origin });
                }
            }
            if let Some(previous) = index.checked_sub(1).and_then(|i| script.commands.get(i)) {
                inputs.extend(piped_output(text, previous, command, origin));
            }
            let site = Site { text, origin, depth, range: origin.map(&command.range), inputs };
            for redirect in &command.redirects {
                self.record(redirect_verdict(redirect), site.range.clone());
            }
            self.command(&site, &command.words);
        }
    }

    /// Judges the simple command `words` (the whole command, or what a
    /// wrapper runs).
    fn command(&mut self, site: &Site<'_>, words: &[Word]) {
        let Some((first, rest)) = words.split_first() else { return };
        let name = basename(&first.value);
        let args: Vec<&str> = rest.iter().map(|w| w.value.as_str()).collect();
        let verdict = match name {
            // Wrappers: judge what they run.
            "sudo" => {
                let (options, operands) = parse_options(rest, &SUDO, false);
                let operands = skip_assignments(operands);
                if has(&options, 'e', "edit") {
                    Verdict::Write(code("sudoedit"))
                } else if operands.is_empty() {
                    if ['l', 'v', 'k', 'K', 'V', 'h'].iter().any(|&c| has(&options, c, "")) {
                        Verdict::Read
                    } else {
                        Verdict::Write(code("sudo") + " (an interactive shell)")
                    }
                } else {
                    return self.command(site, operands);
                }
            }
            "doas" => return self.command(site, parse_options(rest, &Spec::short("uC"), false).1),
            "env" => {
                let (options, operands) =
                    parse_options(rest, &Spec { short: "uCS", long: &["unset", "chdir", "split-string"] }, false);
                if let Some(split) = options.iter().find(|o| o.is('S', "split-string")) {
                    let value = split.value.unwrap_or_default();
                    return self.shell(value, &site.origin_of(std::slice::from_ref(split.word), value), site.depth + 1);
                }
                let operands = skip_assignments(operands);
                if operands.is_empty() {
                    Verdict::Read
                } else {
                    return self.command(site, operands);
                }
            }
            "nohup" | "builtin" => return self.command(site, rest),
            "exec" => return self.command(site, parse_options(rest, &Spec::short("a"), false).1),
            "command" => {
                if args.first().is_some_and(|a| matches!(*a, "-v" | "-V")) {
                    Verdict::Read
                } else {
                    return self.command(site, parse_options(rest, &Spec::short(""), false).1);
                }
            }
            "time" => {
                let (options, operands) =
                    parse_options(rest, &Spec { short: "fo", long: &["format", "output"] }, false);
                self.command(site, operands);
                match options.iter().find(|o| o.is('o', "output")) {
                    Some(output) => writes(output.value.unwrap_or_default()),
                    None => Verdict::Read,
                }
            }
            "nice" | "ionice" | "stdbuf" | "chrt" | "taskset" => {
                let spec = match name {
                    "nice" => Spec { short: "n", long: &["adjustment"] },
                    "ionice" => Spec { short: "cnpPu", long: &["class", "classdata", "pid", "pgid", "uid"] },
                    "stdbuf" => Spec { short: "ioe", long: &["input", "output", "error"] },
                    _ => Spec::short(""),
                };
                let (options, operands) = parse_options(rest, &spec, false);
                let operands = match name {
                    // `chrt PRIORITY cmd`, `taskset MASK cmd`.
                    "chrt" | "taskset" => operands.get(1..).unwrap_or_default(),
                    _ => operands,
                };
                if operands.is_empty() {
                    let changes_a_process =
                        options.iter().any(|o| o.is('p', "pid") || o.is('P', "pgid") || o.is('u', "uid"));
                    if changes_a_process || matches!(name, "chrt" | "taskset") {
                        Verdict::Write(code(name))
                    } else {
                        Verdict::Read
                    }
                } else {
                    return self.command(site, operands);
                }
            }
            "timeout" => {
                let (_, operands) = parse_options(rest, &Spec { short: "sk", long: &["signal", "kill-after"] }, false);
                return self.command(site, operands.get(1..).unwrap_or_default());
            }
            "xargs" => {
                let spec = Spec {
                    short: "adEILnPs",
                    long: &[
                        "arg-file",
                        "delimiter",
                        "max-lines",
                        "max-args",
                        "max-procs",
                        "max-chars",
                        "process-slot-var",
                        "replace",
                    ],
                };
                let (_, operands) = parse_options(rest, &spec, false);
                if operands.is_empty() {
                    // Runs `echo`.
                    Verdict::Read
                } else {
                    return self.command(site, operands);
                }
            }
            "watch" => {
                let (options, operands) =
                    parse_options(rest, &Spec { short: "nq", long: &["interval", "equexit"] }, false);
                if options.iter().any(|o| o.is('x', "exec")) {
                    return self.command(site, operands);
                }
                return self.joined(site, operands);
            }
            "strace" | "ltrace" => {
                let spec = Spec { short: "abeEIopPsSuUX", long: &["output", "attach", "user", "expr", "env"] };
                let (options, operands) = parse_options(rest, &spec, false);
                if !operands.is_empty() {
                    self.command(site, operands);
                }
                match options.iter().find(|o| o.is('o', "output")) {
                    Some(output) => writes(output.value.unwrap_or_default()),
                    None => Verdict::Read,
                }
            }
            "eval" => return self.joined(site, rest),
            "trap" => match args.first() {
                Some(&("-p" | "-l" | "-" | "")) | None => Verdict::Read,
                Some(command) => return self.shell(command, &site.origin_of(&rest[..1], command), site.depth + 1),
            },
            "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "fish" => return self.shell_command(site, name, rest),
            "su" | "runuser" => {
                let spec = Spec {
                    short: "cgGsuw",
                    long: &["command", "group", "supp-group", "shell", "user", "whitelist-environment"],
                };
                let (options, operands) = parse_options(rest, &spec, true);
                if let Some(command) = options.iter().find(|o| o.is('c', "command")) {
                    let value = command.value.unwrap_or_default();
                    return self.shell(
                        value,
                        &site.origin_of(std::slice::from_ref(command.word), value),
                        site.depth + 1,
                    );
                }
                if name == "runuser" && options.iter().any(|o| o.is('u', "user")) && !operands.is_empty() {
                    return self.command(site, operands);
                }
                Verdict::Write(code(name))
            }
            "ssh" => return self.ssh(site, rest),
            // Processes.
            "kill" | "pkill" | "killall" | "skill" => kill(name, &args),
            "fuser" => {
                if args.iter().any(|a| short_cluster(a).is_some_and(|c| c.contains('k')) || *a == "--kill") {
                    Verdict::Destructive(code("fuser -k"))
                } else {
                    Verdict::Read
                }
            }
            // Files and disks.
            "rm" => rm(&args),
            "find" => return self.find(site, rest),
            "shred" | "wipefs" | "truncate" | "mkswap" | "blkdiscard" | "mke2fs" | "dropdb" | "pg_dropcluster" => {
                Verdict::Destructive(code(name))
            }
            mkfs if mkfs == "mkfs" || mkfs.starts_with("mkfs.") => Verdict::Destructive(code(mkfs)),
            "dd" => match args.iter().find_map(|a| a.strip_prefix("of=")) {
                Some(device) if device.starts_with("/dev/") && !is_harmless_sink(device) => {
                    Verdict::Destructive(code(&format!("dd of={device}")))
                }
                Some(file) => writes(file),
                None => Verdict::Read,
            },
            "tee" => {
                let (_, operands) = parse_options(rest, &Spec::short(""), true);
                operands.iter().map(|w| writes(&w.value)).find(|v| *v != Verdict::Read).unwrap_or(Verdict::Read)
            }
            "sed" => sed(&args),
            "awk" | "gawk" => {
                if args.windows(2).any(|w| w[0] == "-i" && w[1] == "inplace") || args.contains(&"--include=inplace") {
                    Verdict::Write(code("awk -i inplace"))
                } else {
                    Verdict::Read
                }
            }
            "yq" => {
                if args.iter().any(|a| *a == "--inplace" || (short_cluster(a).is_some_and(|c| c.contains('i')))) {
                    Verdict::Write(code("yq -i"))
                } else {
                    Verdict::Read
                }
            }
            "sort" => {
                let spec = Spec {
                    short: "kStTo",
                    long: &[
                        "key",
                        "buffer-size",
                        "field-separator",
                        "temporary-directory",
                        "output",
                        "parallel",
                        "files0-from",
                    ],
                };
                let (options, _) = parse_options(rest, &spec, true);
                options
                    .iter()
                    .find(|o| o.is('o', "output"))
                    .map_or(Verdict::Read, |o| writes(o.value.unwrap_or_default()))
            }
            "uniq" | "xxd" => {
                let spec = if name == "uniq" { Spec::short("fsw") } else { Spec::short("cgloOs") };
                let (_, operands) = parse_options(rest, &spec, true);
                operands.get(1).map_or(Verdict::Read, |out| writes(&out.value))
            }
            // Version control, containers, orchestration, infrastructure.
            "git" => git(&args),
            "docker" | "podman" => return self.docker(site, rest),
            "docker-compose" | "podman-compose" => docker_compose(name, &args),
            "kubectl" | "oc" => return self.kubectl(site, rest),
            "helm" => helm(&args),
            "terraform" | "tofu" => terraform(name, &args),
            "aws" => aws(&args),
            "gcloud" => gcloud(&args),
            // Databases and caches.
            "redis-cli" | "valkey-cli" | "keydb-cli" => return self.redis_cli(site, rest),
            "psql" => return self.psql(site, rest),
            "mysql" | "mariadb" => return self.mysql(site, rest),
            "pg_ctl" | "pg_ctlcluster" => {
                if args.contains(&"status") {
                    Verdict::Read
                } else {
                    Verdict::Write(code(&format!("{name} {}", args.iter().find(|a| is_subcommand(a)).unwrap_or(&""))))
                }
            }
            "pgbackrest" => match args.iter().find(|a| !a.starts_with('-')) {
                Some(&("info" | "check" | "verify" | "version" | "help")) | None => Verdict::Read,
                Some(&"stanza-delete") => Verdict::Destructive(code("pgbackrest stanza-delete")),
                Some(other) => Verdict::Write(code(&format!("pgbackrest {other}"))),
            },
            // Services and the machine.
            "systemctl" => self.systemctl(&args),
            "service" => match args.as_slice() {
                [] | ["--status-all" | "--help" | "--version", ..] | [_, "status"] => Verdict::Read,
                [unit, verb, ..] => self.systemd_verb(verb, &[*unit]),
                [unit] => Verdict::Write(code(&format!("service {unit}"))),
            },
            "shutdown" => {
                if args.iter().any(|a| *a == "-c" || *a == "--show") {
                    Verdict::Write(code("shutdown -c"))
                } else {
                    Verdict::Destructive(code("shutdown"))
                }
            }
            "reboot" | "halt" | "poweroff" => Verdict::Destructive(code(name)),
            "init" | "telinit" if matches!(args.first(), Some(&("0" | "6"))) => {
                Verdict::Destructive(code(&format!("{name} {}", args[0])))
            }
            "journalctl" => journalctl(&args),
            "crontab" => {
                if args.iter().any(|a| short_cluster(a).is_some_and(|c| c.contains('r'))) {
                    Verdict::Destructive(code("crontab -r"))
                } else if args.iter().any(|a| short_cluster(a).is_some_and(|c| c.contains('l'))) {
                    Verdict::Read
                } else {
                    Verdict::Write(code("crontab"))
                }
            }
            "timedatectl" | "hostnamectl" | "resolvectl" | "loginctl" | "networkctl" | "localectl" | "busctl"
            | "machinectl" | "coredumpctl" => match args.iter().find(|a| !a.starts_with('-')) {
                None => Verdict::Read,
                Some(verb)
                    if matches!(
                        *verb,
                        "status"
                            | "show"
                            | "list"
                            | "info"
                            | "dump"
                            | "help"
                            | "query"
                            | "statistics"
                            | "dns"
                            | "domain"
                    ) || verb.starts_with("list")
                        || verb.starts_with("show")
                        || verb.starts_with("get") =>
                {
                    Verdict::Read
                }
                Some(verb) => Verdict::Write(code(&format!("{name} {verb}"))),
            },
            // Network and firewall.
            "iptables" | "ip6tables" | "iptables-legacy" | "ip6tables-legacy" | "iptables-nft" | "ip6tables-nft" => {
                iptables(name, &args)
            }
            "nft" => nft(&args),
            "ufw" => ufw(&args),
            "ip" => return self.ip(site, rest),
            "nc" | "ncat" | "netcat" => {
                if args.iter().any(|a| short_cluster(a).is_some_and(|c| c.contains('z'))) {
                    Verdict::Read
                } else {
                    Verdict::Write(code(name))
                }
            }
            "curl" => curl(&args),
            "wget" => wget(&args),
            "openssl" => openssl(&args),
            "wg" => match args.first() {
                None
                | Some(&("show" | "showconf" | "help" | "--help" | "--version" | "genkey" | "pubkey" | "genpsk")) => {
                    Verdict::Read
                }
                Some(verb) => Verdict::Write(code(&format!("wg {verb}"))),
            },
            "nginx" | "openresty" => nginx(name, &args),
            "apachectl" | "apache2ctl" => match args.first() {
                Some(&("-t" | "configtest" | "-S" | "-v" | "-V" | "-M" | "-l" | "-L" | "status" | "fullstatus")) => {
                    Verdict::Read
                }
                _ => Verdict::Write(code(&format!("{name} {}", args.first().unwrap_or(&"")))),
            },
            "haproxy" if args.contains(&"-c") => Verdict::Read,
            "ss" => {
                if args.iter().any(|a| *a == "--kill" || short_cluster(a).is_some_and(|c| c.contains('K'))) {
                    Verdict::Write(code("ss -K"))
                } else {
                    Verdict::Read
                }
            }
            "tcpdump" => {
                let (options, _) = parse_options(rest, &Spec::short("BcCEFGijMmrsTVwWyzZ"), true);
                options.iter().find(|o| o.is('w', "")).map_or(Verdict::Read, |o| writes(o.value.unwrap_or_default()))
            }
            "ifconfig" if args.len() <= 1 => Verdict::Read,
            // Small tools with a harmful mode.
            "date" => {
                if args.iter().any(|a| {
                    a.starts_with("--set") || a.starts_with("-s") || short_cluster(a).is_some_and(|c| c.ends_with('s'))
                }) {
                    Verdict::Write(code("date -s"))
                } else {
                    Verdict::Read
                }
            }
            "hostname" => {
                let sets = args.iter().any(|a| {
                    !a.starts_with('-') || matches!(*a, "-F" | "--file" | "-b" | "--boot") || a.starts_with("--file=")
                });
                if sets { Verdict::Write(code(&format!("hostname {}", args.join(" ")))) } else { Verdict::Read }
            }
            "dmesg" => {
                let clears = args.iter().any(|a| {
                    matches!(*a, "--clear" | "--read-clear" | "--console-off" | "--console-on" | "--console-level")
                        || short_cluster(a).is_some_and(|c| c.contains(['c', 'C', 'D', 'E', 'n']))
                });
                if clears { Verdict::Write(code("dmesg -C")) } else { Verdict::Read }
            }
            "mount" => {
                if args.is_empty() || args == ["-l"] {
                    Verdict::Read
                } else {
                    Verdict::Write(code("mount"))
                }
            }
            "top" => {
                if args.iter().any(|a| short_cluster(a).is_some_and(|c| c.contains('b'))) {
                    Verdict::Read
                } else {
                    Verdict::Write(code("top") + " without `-b`")
                }
            }
            "sysctl" => {
                let sets = args.iter().any(|a| {
                    a.contains('=') && !a.starts_with('-')
                        || matches!(*a, "--write" | "--load" | "--system")
                        || a.starts_with("--load=")
                        || short_cluster(a).is_some_and(|c| c.contains(['w', 'p']))
                });
                if sets {
                    Verdict::Write(code(&format!("sysctl {}", args.iter().find(|a| a.contains('=')).unwrap_or(&"-w"))))
                } else {
                    Verdict::Read
                }
            }
            "ulimit" => {
                if args.iter().all(|a| a.starts_with('-')) {
                    Verdict::Read
                } else {
                    Verdict::Write(code(&format!("ulimit {}", args.join(" "))))
                }
            }
            "set" => {
                let mut after_o = false;
                let mut positional = false;
                for arg in &args {
                    if *arg == "--" {
                        break;
                    }
                    positional |= !after_o && !arg.starts_with(['-', '+']);
                    // `-o pipefail`, `-euo pipefail`: the option's value.
                    after_o = arg.starts_with(['-', '+']) && arg.ends_with('o');
                }
                if positional { Verdict::Write(code(&format!("set {}", args.join(" ")))) } else { Verdict::Read }
            }
            name if READ_ONLY.contains(&name) => Verdict::Read,
            name => Verdict::Write(generic(name, &args)),
        };
        self.record(verdict, site.range.clone());
    }

    /// Runs the words' values, joined by spaces, as a script (`watch a b`,
    /// `eval "$x"`, `ssh host cmd args`).
    fn joined(&mut self, site: &Site<'_>, words: &[Word]) {
        if words.is_empty() {
            return;
        }
        let text = words.iter().map(|w| w.value.as_str()).collect::<Vec<_>>().join(" ");
        self.shell(&text, &site.origin_of(words, &text), site.depth + 1);
    }

    /// Judges what the command reads on standard input as `language`, or
    /// records `otherwise` when there is none (an interactive session).
    fn stdin_or(&mut self, site: &Site<'_>, language: Language, otherwise: Verdict) {
        if site.inputs.is_empty() {
            return self.record(otherwise, site.range.clone());
        }
        for input in &site.inputs {
            match language {
                Language::Shell => self.shell(&input.text, &input.origin, site.depth + 1),
                Language::Psql => self.psql_script(&input.text, &input.origin),
                Language::Sql => self.sql(&input.text, &input.origin),
                Language::Redis => self.redis(&input.text, &input.origin),
            }
        }
    }
}

/// How text fed to a command is to be read.
#[derive(Debug, Clone, Copy)]
enum Language {
    Shell,
    Sql,
    Psql,
    Redis,
}

/// What `previous` prints into `command` when they form `previous | command`
/// and that is knowable: `echo`/`printf` arguments or a `cat` here-document.
fn piped_output(text: &str, previous: &Command, command: &Command, origin: &Origin) -> Option<Input> {
    let between = text.get(previous.range.end..command.range.start)?;
    if !matches!(between.trim(), "|" | "|&") {
        return None;
    }
    let (first, args) = previous.words.split_first()?;
    let whole = Origin { offset: 0, whole: Some(origin.map(&previous.range)) };
    match basename(&first.value) {
        "echo" | "printf" => {
            let args: Vec<&str> = args.iter().map(|w| w.value.as_str()).filter(|a| !a.starts_with('-')).collect();
            let text = args.join(" ").replace("\\n", "\n");
            Some(Input { text, origin: whole })
        }
        "cat" if args.is_empty() => {
            let heredoc = previous.heredocs.first()?;
            let body = text.get(heredoc.body.clone())?;
            Some(Input { text: body.to_owned(), origin: origin.at(heredoc.body.start) })
        }
        _ => None,
    }
}

fn redirect_verdict(redirect: &shell::Redirect) -> Verdict {
    let op = redirect.op.trim_start_matches(|c: char| c.is_ascii_digit());
    if !op.contains('>') {
        return Verdict::Read;
    }
    match &redirect.target {
        None => Verdict::Write(format!("{} without a target", code(op))),
        Some(target)
            if op.ends_with('&') && (target.value == "-" || target.value.bytes().all(|b| b.is_ascii_digit())) =>
        {
            Verdict::Read
        }
        Some(target) => writes(&target.value),
    }
}

/// `/usr/bin/rm` → `rm`; an expansion (`$(which psql)`) stays whole.
fn basename(program: &str) -> &str {
    if program.contains(['$', '`']) {
        return program;
    }
    program.rsplit('/').next().unwrap_or(program)
}
