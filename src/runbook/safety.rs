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

use std::ops::Range;

use super::shell::{self, Command, Word};
use super::sql;

/// Ordered: `Read < Write < Destructive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Safety {
    Read,
    Write,
    Destructive,
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

/// The verdict on one command or statement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Read,
    Write(String),
    Destructive(String),
}

/// Where a piece of analysed text sits in the step's text.
#[derive(Debug, Clone, Default)]
struct Origin {
    /// Added to ranges in the piece when it appears verbatim in the step.
    offset: usize,
    /// When it does not (it was unquoted or joined), every finding points
    /// at this range instead: the words it came from.
    whole: Option<Range<usize>>,
}

impl Origin {
    fn map(&self, range: &Range<usize>) -> Range<usize> {
        match &self.whole {
            Some(whole) => whole.clone(),
            None => range.start + self.offset..range.end + self.offset,
        }
    }

    /// The origin of `inner`, which came from `range` of `text` (itself at
    /// this origin): precise when `inner` appears there verbatim.
    fn within(&self, text: &str, range: &Range<usize>, inner: &str) -> Origin {
        if self.whole.is_some() {
            return self.clone();
        }
        match text.get(range.clone()).and_then(|raw| raw.find(inner)) {
            Some(at) if !inner.is_empty() => Origin { offset: self.offset + range.start + at, whole: None },
            _ => Origin { offset: 0, whole: Some(self.map(range)) },
        }
    }

    /// The origin of the verbatim piece of `text` starting at `start`.
    fn at(&self, start: usize) -> Origin {
        Origin { offset: self.offset + start, whole: self.whole.clone() }
    }
}

/// Text a command reads on standard input: a here-document, a here-string,
/// or what the previous command in a pipeline prints.
#[derive(Debug)]
struct Input {
    text: String,
    origin: Origin,
}

/// One command being judged, and where it came from.
#[derive(Debug)]
struct Site<'a> {
    text: &'a str,
    origin: &'a Origin,
    depth: usize,
    /// The command's range in the step.
    range: Range<usize>,
    inputs: Vec<Input>,
}

impl Site<'_> {
    /// The origin of text taken from `words` (one word: precise; several
    /// joined: their whole span).
    fn origin_of(&self, words: &[Word], inner: &str) -> Origin {
        match words {
            [word] => self.origin.within(self.text, &word.range, inner),
            [first, .., last] => {
                Origin { offset: 0, whole: Some(self.origin.map(&(first.range.start..last.range.end))) }
            }
            [] => Origin { offset: 0, whole: Some(self.range.clone()) },
        }
    }
}

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

    fn shell_command(&mut self, site: &Site<'_>, name: &str, rest: &[Word]) {
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

    fn ssh(&mut self, site: &Site<'_>, rest: &[Word]) {
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

    fn find(&mut self, site: &Site<'_>, rest: &[Word]) {
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

    fn docker(&mut self, site: &Site<'_>, rest: &[Word]) {
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

    fn kubectl(&mut self, site: &Site<'_>, rest: &[Word]) {
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

    fn ip(&mut self, site: &Site<'_>, rest: &[Word]) {
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

    fn redis_cli(&mut self, site: &Site<'_>, rest: &[Word]) {
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

    fn psql(&mut self, site: &Site<'_>, rest: &[Word]) {
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

    fn mysql(&mut self, site: &Site<'_>, rest: &[Word]) {
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

    fn systemctl(&self, args: &[&str]) -> Verdict {
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

    fn systemd_verb(&self, verb: &str, units: &[&str]) -> Verdict {
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

    // ---- SQL and Redis ----------------------------------------------------

    fn sql(&mut self, text: &str, origin: &Origin) {
        for statement in sql::statements(text) {
            self.record(sql_verdict(&statement.words), origin.map(&statement.range));
        }
    }

    /// SQL as `psql` reads it: backslash meta-commands on their own lines,
    /// SQL around them.
    fn psql_script(&mut self, text: &str, origin: &Origin) {
        let mut sql = String::with_capacity(text.len());
        let mut line_start = 0;
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            if trimmed.starts_with('\\') {
                let start = line_start + line.len() - trimmed.len();
                let meta = trimmed.trim_end();
                self.record(meta_command_verdict(meta), origin.map(&(start..start + meta.len())));
                // Blanked, not removed, so that offsets still match `text`.
                sql.push_str(&blank(line));
            } else {
                sql.push_str(line);
            }
            line_start += line.len();
        }
        self.sql(&sql, origin);
    }

    fn redis(&mut self, text: &str, origin: &Origin) {
        let mut line_start = 0;
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                let start = line_start + (line.len() - line.trim_start().len());
                let words = redis_words(trimmed);
                let words: Vec<&str> = words.iter().map(String::as_str).collect();
                self.record(redis_command(&words), origin.map(&(start..start + trimmed.len())));
            }
            line_start += line.len();
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

/// `line` with every character but the newline replaced by spaces of the
/// same byte length.
fn blank(line: &str) -> String {
    line.chars().map(|c| if c == '\n' { "\n".to_owned() } else { " ".repeat(c.len_utf8()) }).collect()
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

fn is_harmless_sink(path: &str) -> bool {
    matches!(path, "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty" | "-") || path.starts_with("/dev/fd/")
}

/// Writing to `file`, unless it is a harmless sink.
fn writes(file: &str) -> Verdict {
    if is_harmless_sink(file) { Verdict::Read } else { Verdict::Write(format!("writes {}", code(file))) }
}

/// `text` in backticks, shortened: messages name a command, they do not
/// quote it whole.
fn code(text: &str) -> String {
    const MAX: usize = 48;
    let text = text.trim();
    if text.chars().count() <= MAX {
        format!("`{text}`")
    } else {
        let short: String = text.chars().take(MAX - 1).collect();
        format!("`{}…`", short.trim_end())
    }
}

/// `/usr/bin/rm` → `rm`; an expansion (`$(which psql)`) stays whole.
fn basename(program: &str) -> &str {
    if program.contains(['$', '`']) {
        return program;
    }
    program.rsplit('/').next().unwrap_or(program)
}

/// The letters of a short-option cluster (`-rf` → `rf`), if `arg` is one.
fn short_cluster(arg: &str) -> Option<&str> {
    arg.strip_prefix('-').filter(|rest| !rest.is_empty() && !rest.starts_with('-'))
}

/// Whether `arg` reads as a subcommand (`restart`, `list-units`).
fn is_subcommand(arg: &str) -> bool {
    arg.len() <= 24
        && arg.starts_with(|c: char| c.is_ascii_lowercase())
        && arg.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// An unknown command: its name, and its subcommand when it has one.
fn generic(name: &str, args: &[&str]) -> String {
    // Commands whose first argument is a file, never a subcommand.
    const FILE_FIRST: &[&str] = &[
        "cp", "mv", "ln", "chmod", "chown", "chgrp", "mkdir", "rmdir", "touch", "install", "rsync", "scp", "tar",
        "zip", "unzip", "gzip", "gunzip", "xz", "unlink", "patch", "vi", "vim", "nano", "emacs", "source", ".",
        "python", "python3", "perl", "ruby", "node",
    ];
    if name.is_empty() {
        return "a command with an empty name".to_owned();
    }
    match args.first() {
        Some(sub) if is_subcommand(sub) && !FILE_FIRST.contains(&name) => code(&format!("{name} {sub}")),
        _ => code(name),
    }
}

fn skip_assignments(words: &[Word]) -> &[Word] {
    let count = words
        .iter()
        .take_while(|w| {
            w.value.split_once('=').is_some_and(|(name, _)| {
                name.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic())
                    && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
            })
        })
        .count();
    &words[count..]
}

// ---- option parsing ---------------------------------------------------------

/// Which options take a value.
#[derive(Debug)]
struct Spec {
    /// Short options that take a value (`-u USER`, `-uUSER`).
    short: &'static str,
    /// Long options that take a value as the next word (`--user USER`);
    /// `--user=USER` works for any.
    long: &'static [&'static str],
}

impl Spec {
    const fn short(short: &'static str) -> Spec {
        Spec { short, long: &[] }
    }
}

const SUDO: Spec = Spec {
    short: "ugpCDhrtUTR",
    long: &[
        "user",
        "group",
        "prompt",
        "close-from",
        "chdir",
        "host",
        "role",
        "type",
        "other-user",
        "command-timeout",
        "chroot",
    ],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag<'w> {
    Short(char),
    Long(&'w str),
}

#[derive(Debug)]
struct Opt<'w> {
    flag: Flag<'w>,
    value: Option<&'w str>,
    /// The word holding the value, or the option itself.
    word: &'w Word,
}

impl Opt<'_> {
    fn is(&self, short: char, long: &str) -> bool {
        match self.flag {
            Flag::Short(c) => c == short,
            Flag::Long(name) => !long.is_empty() && name == long,
        }
    }

    fn long(&self) -> &str {
        match self.flag {
            Flag::Long(name) => name,
            Flag::Short(_) => "",
        }
    }
}

fn has(options: &[Opt<'_>], short: char, long: &str) -> bool {
    options.iter().any(|o| o.is(short, long))
}

/// Splits `args` into options and operands, getopt-style. Without
/// `interleaved`, the first operand ends the options (`sudo -u x cmd -f`).
fn parse_options<'w>(args: &'w [Word], spec: &Spec, interleaved: bool) -> (Vec<Opt<'w>>, &'w [Word]) {
    let (options, operands) = collect_options(args, spec, interleaved);
    if interleaved {
        // Operands are scattered; callers that need the words get them in
        // order, cloned into place by `interleaved_operands`.
        return (options, interleaved_operands(args, &operands));
    }
    (options, operands.first().map_or(&args[args.len()..], |&first| &args[first..]))
}

/// Indices of operands, and the options.
fn collect_options<'w>(args: &'w [Word], spec: &Spec, interleaved: bool) -> (Vec<Opt<'w>>, Vec<usize>) {
    let mut options = Vec::new();
    let mut operands = Vec::new();
    let mut i = 0;
    while let Some(word) = args.get(i) {
        let index = i;
        i += 1;
        let value = word.value.as_str();
        if value == "--" {
            operands.extend(i..args.len());
            break;
        }
        if let Some(long) = value.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((name, attached)) => (name, Some(attached)),
                None => (long, None),
            };
            let mut holder = word;
            let value = match attached {
                Some(attached) => Some(attached),
                None if spec.long.contains(&name) => {
                    let next = args.get(i);
                    i += 1;
                    holder = next.unwrap_or(word);
                    next.map(|w| w.value.as_str())
                }
                None => None,
            };
            options.push(Opt { flag: Flag::Long(name), value, word: holder });
        } else if let Some(cluster) = short_cluster(value) {
            for (at, letter) in cluster.char_indices() {
                if spec.short.contains(letter) {
                    let attached = &cluster[at + letter.len_utf8()..];
                    if attached.is_empty() {
                        let next = args.get(i);
                        i += 1;
                        options.push(Opt {
                            flag: Flag::Short(letter),
                            value: next.map(|w| w.value.as_str()),
                            word: next.unwrap_or(word),
                        });
                    } else {
                        options.push(Opt { flag: Flag::Short(letter), value: Some(attached), word });
                    }
                    break;
                }
                options.push(Opt { flag: Flag::Short(letter), value: None, word });
            }
        } else {
            operands.push(index);
            if !interleaved {
                operands.extend(i..args.len());
                break;
            }
        }
    }
    (options, operands)
}

/// The operands of an interleaved command line. They are contiguous in the
/// common case (`tee -a f g`); when options sit between them, the run from
/// the first operand on is returned only if it holds no option, else just
/// the operands up to the first option after them.
fn interleaved_operands<'w>(args: &'w [Word], operands: &[usize]) -> &'w [Word] {
    let Some(&first) = operands.first() else { return &args[args.len()..] };
    let contiguous = operands.iter().enumerate().take_while(|(n, index)| **index == first + n).count();
    &args[first..first + contiguous]
}

// ---- command rules ----------------------------------------------------------

/// Commands that only read, whatever their arguments (redirections aside).
const READ_ONLY: &[&str] = &[
    "cat",
    "tac",
    "less",
    "more",
    "head",
    "tail",
    "grep",
    "egrep",
    "fgrep",
    "zgrep",
    "rg",
    "ag",
    "jq",
    "ls",
    "ll",
    "la",
    "tree",
    "du",
    "df",
    "free",
    "uptime",
    "uname",
    "whoami",
    "id",
    "groups",
    "who",
    "w",
    "users",
    "last",
    "lastlog",
    "ps",
    "pgrep",
    "pidof",
    "htop",
    "btop",
    "netstat",
    "lsof",
    "dig",
    "nslookup",
    "host",
    "whois",
    "ping",
    "ping6",
    "traceroute",
    "traceroute6",
    "tracepath",
    "mtr",
    "vmstat",
    "iostat",
    "mpstat",
    "sar",
    "pidstat",
    "pmap",
    "lsblk",
    "blkid",
    "findmnt",
    "stat",
    "file",
    "wc",
    "cut",
    "tr",
    "column",
    "od",
    "hexdump",
    "md5sum",
    "sha1sum",
    "sha224sum",
    "sha256sum",
    "sha384sum",
    "sha512sum",
    "b2sum",
    "cksum",
    "base64",
    "base32",
    "nl",
    "rev",
    "fold",
    "fmt",
    "strings",
    "comm",
    "join",
    "paste",
    "expand",
    "unexpand",
    "zcat",
    "zless",
    "bzcat",
    "xzcat",
    "zstdcat",
    "which",
    "type",
    "whereis",
    "printenv",
    "getent",
    "nproc",
    "lscpu",
    "lsmem",
    "lsmod",
    "lspci",
    "lsusb",
    "getconf",
    "locale",
    "echo",
    "printf",
    "true",
    "false",
    "test",
    "[",
    "[[",
    "sleep",
    "cd",
    "pwd",
    "pushd",
    "popd",
    "dirs",
    "read",
    "wait",
    ":",
    "exit",
    "return",
    "break",
    "continue",
    "shift",
    "local",
    "declare",
    "typeset",
    "readonly",
    "export",
    "unset",
    "alias",
    "unalias",
    "hash",
    "help",
    "jobs",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "seq",
    "yes",
    "diff",
    "cmp",
    "getfacl",
    "lsattr",
    "namei",
    "tput",
    "pg_isready",
    "pg_lsclusters",
    "pg_controldata",
    "pg_config",
    "iptables-save",
    "ip6tables-save",
    "clear",
    "history",
    "sensors",
    "numfmt",
    "expr",
    "bc",
    "factor",
    "shuf",
    "look",
    "logname",
    "tty",
    "arch",
    "hostid",
    "iconv",
    "xmllint",
    "dircolors",
    "mapfile",
    "readarray",
    "getopts",
    "let",
    "caller",
    "times",
    "umask",
];

fn kill(name: &str, args: &[&str]) -> Verdict {
    let is_kill = |signal: &str| matches!(signal.to_ascii_uppercase().as_str(), "9" | "KILL" | "SIGKILL");
    let mut signal = None;
    for (i, arg) in args.iter().enumerate() {
        if *arg == "--" || !arg.starts_with('-') {
            break;
        }
        if matches!(*arg, "-l" | "-L" | "--list" | "--table") {
            return Verdict::Read;
        }
        let next = args.get(i + 1).copied().unwrap_or_default();
        let (shown, value) = match *arg {
            "-s" | "--signal" | "-n" => (format!("{arg} {next}"), next),
            _ => match arg.strip_prefix("--signal=") {
                Some(value) => ((*arg).to_owned(), value),
                None => ((*arg).to_owned(), &arg[1..]),
            },
        };
        if is_kill(value) {
            return Verdict::Destructive(code(&format!("{name} {shown}")));
        }
        if signal.is_none() && value.chars().next().is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
            signal = Some(shown);
        }
    }
    Verdict::Write(code(&format!("{name} {}", signal.unwrap_or_default())))
}

fn rm(args: &[&str]) -> Verdict {
    for arg in args {
        if *arg == "--" {
            break;
        }
        if *arg == "--recursive" || short_cluster(arg).is_some_and(|c| c.contains(['r', 'R'])) {
            return Verdict::Destructive(code(&format!("rm {arg}")));
        }
    }
    Verdict::Write(code("rm"))
}

fn sed(args: &[&str]) -> Verdict {
    for arg in args {
        if *arg == "--in-place" || arg.starts_with("--in-place=") {
            return Verdict::Write(code("sed -i"));
        }
        if let Some(cluster) = short_cluster(arg) {
            for letter in cluster.chars() {
                match letter {
                    'i' => return Verdict::Write(code("sed -i")),
                    'e' | 'f' | 'l' => break,
                    _ => {}
                }
            }
        }
    }
    Verdict::Read
}

fn git(args: &[&str]) -> Verdict {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if matches!(*arg, "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace") {
            i += 2;
        } else if arg.starts_with('-') {
            i += 1;
        } else {
            break;
        }
    }
    let Some((verb, rest)) = args.get(i..).and_then(<[&str]>::split_first) else { return Verdict::Read };
    let cluster_has = |letter: char| rest.iter().any(|a| short_cluster(a).is_some_and(|c| c.contains(letter)));
    let only = |allowed: &[&str]| rest.iter().all(|a| allowed.contains(a));
    match *verb {
        "reset" if rest.contains(&"--hard") => Verdict::Destructive(code("git reset --hard")),
        "clean" if rest.contains(&"--dry-run") || cluster_has('n') => Verdict::Read,
        "clean" if rest.contains(&"--force") || cluster_has('f') => {
            let flag = rest.iter().find(|a| **a == "--force" || short_cluster(a).is_some_and(|c| c.contains('f')));
            Verdict::Destructive(code(&format!("git clean {}", flag.unwrap_or(&"-f"))))
        }
        "push" => {
            let force = rest.iter().find(|a| {
                matches!(**a, "--force" | "--mirror" | "--delete" | "--prune")
                    || a.starts_with("--force-with-lease")
                    || short_cluster(a).is_some_and(|c| c.contains(['f', 'd']))
                    || (a.starts_with('+') && a.len() > 1)
            });
            match force {
                Some(flag) => Verdict::Destructive(code(&format!("git push {flag}"))),
                None => Verdict::Write(code("git push")),
            }
        }
        "status" | "log" | "diff" | "show" | "rev-parse" | "describe" | "blame" | "ls-files" | "ls-remote"
        | "ls-tree" | "shortlog" | "grep" | "cat-file" | "rev-list" | "whatchanged" | "version" | "help"
        | "name-rev" | "merge-base" | "for-each-ref" | "show-ref" | "count-objects" | "fsck" | "verify-commit"
        | "verify-tag" => Verdict::Read,
        "branch"
            if only(&[
                "-a",
                "-r",
                "-v",
                "-vv",
                "--list",
                "-l",
                "--all",
                "--remotes",
                "--show-current",
                "--verbose",
            ]) =>
        {
            Verdict::Read
        }
        "remote" if only(&["-v", "--verbose"]) || matches!(rest.first(), Some(&("show" | "get-url"))) => Verdict::Read,
        "tag" if only(&["-l", "--list", "-n"]) => Verdict::Read,
        "reflog" if rest.is_empty() || rest.first() == Some(&"show") => Verdict::Read,
        "config" if rest.iter().any(|a| matches!(*a, "--get" | "--get-all" | "--list" | "-l" | "--get-regexp")) => {
            Verdict::Read
        }
        "stash" if matches!(rest.first(), Some(&("list" | "show"))) => Verdict::Read,
        "stash" if matches!(rest.first(), Some(&("clear" | "drop"))) => {
            Verdict::Destructive(code(&format!("git stash {}", rest[0])))
        }
        verb => Verdict::Write(code(&format!("git {verb}"))),
    }
}

fn docker_compose(name: &str, args: &[&str]) -> Verdict {
    let verb = args.iter().find(|a| !a.starts_with('-'));
    match verb {
        Some(&"down") if args.iter().any(|a| *a == "--volumes" || *a == "-v") => {
            Verdict::Destructive(code(&format!("{name} down -v")))
        }
        Some(&"rm") if args.iter().any(|a| *a == "--force" || short_cluster(a).is_some_and(|c| c.contains('f'))) => {
            Verdict::Destructive(code(&format!("{name} rm -f")))
        }
        Some(&("ps" | "logs" | "config" | "ls" | "top" | "images" | "version" | "port")) => Verdict::Read,
        Some(verb) => Verdict::Write(code(&format!("{name} {verb}"))),
        None => Verdict::Write(code(name)),
    }
}

fn helm(args: &[&str]) -> Verdict {
    let verb = operands_skipping(args, &["-n", "--namespace", "--kube-context", "--kubeconfig"]).next();
    match verb {
        Some(verb @ ("uninstall" | "delete" | "del" | "un")) => Verdict::Destructive(code(&format!("helm {verb}"))),
        Some(
            "list" | "ls" | "status" | "get" | "history" | "hist" | "show" | "inspect" | "search" | "version"
            | "template" | "lint" | "env" | "verify",
        )
        | None => Verdict::Read,
        Some(verb @ ("repo" | "plugin" | "dependency" | "dep")) => {
            match operands_skipping(args, &["-n", "--namespace"]).nth(1) {
                Some("list" | "ls") => Verdict::Read,
                sub => Verdict::Write(code(&format!("helm {verb} {}", sub.unwrap_or_default()))),
            }
        }
        Some(verb) => Verdict::Write(code(&format!("helm {verb}"))),
    }
}

/// Arguments that are not options nor the values of `with_value` options.
fn operands_skipping<'a>(args: &'a [&'a str], with_value: &'a [&'a str]) -> impl Iterator<Item = &'a str> + 'a {
    let mut skip = false;
    args.iter().copied().filter(move |arg| {
        if std::mem::take(&mut skip) {
            return false;
        }
        if arg.starts_with('-') {
            skip = with_value.contains(arg);
            return false;
        }
        true
    })
}

fn terraform(name: &str, args: &[&str]) -> Verdict {
    let mut operands = args.iter().filter(|a| !a.starts_with('-'));
    let verb = operands.next().copied();
    let sub = operands.next().copied();
    match verb {
        Some("destroy") => Verdict::Destructive(code(&format!("{name} destroy"))),
        Some("apply") if args.contains(&"-destroy") => Verdict::Destructive(code(&format!("{name} apply -destroy"))),
        Some("fmt") if args.iter().any(|a| a.starts_with("-check")) => Verdict::Read,
        Some("plan" | "show" | "output" | "validate" | "version" | "providers" | "graph" | "console") | None => {
            Verdict::Read
        }
        Some("state") if matches!(sub, Some("list" | "show" | "pull")) => Verdict::Read,
        Some("state") if matches!(sub, Some("rm")) => Verdict::Destructive(code(&format!("{name} state rm"))),
        Some("workspace") if matches!(sub, Some("list" | "show")) => Verdict::Read,
        Some(verb) => Verdict::Write(code(&format!("{name} {verb}"))),
    }
}

fn aws(args: &[&str]) -> Verdict {
    let with_value = [
        "--region",
        "--profile",
        "--output",
        "--endpoint-url",
        "--query",
        "--cli-read-timeout",
        "--cli-connect-timeout",
        "--color",
        "--ca-bundle",
    ];
    let mut operands = operands_skipping(args, &with_value);
    let (Some(service), Some(operation)) = (operands.next(), operands.next()) else { return Verdict::Read };
    let what = || code(&format!("aws {service} {operation}"));
    if operation.starts_with("describe-")
        || operation.starts_with("list-")
        || operation.starts_with("get-")
        || matches!(operation, "help" | "wait")
        || (service == "s3" && operation == "ls")
        || (service == "sts" && operation == "get-caller-identity")
    {
        Verdict::Read
    } else if operation.starts_with("delete-")
        || operation.starts_with("terminate-")
        || (service == "s3" && (operation == "rb" || (operation == "rm" && args.contains(&"--recursive"))))
    {
        Verdict::Destructive(what())
    } else {
        Verdict::Write(what())
    }
}

fn gcloud(args: &[&str]) -> Verdict {
    let operands: Vec<&str> = args.iter().copied().take_while(|a| !a.starts_with('-')).collect();
    let what = |end: usize| code(&format!("gcloud {}", operands[..end].join(" ")));
    if let Some(at) = operands.iter().position(|a| *a == "delete") {
        Verdict::Destructive(what(at + 1))
    } else if operands
        .iter()
        .any(|a| matches!(*a, "list" | "describe" | "info" | "version" | "get-value" | "get-iam-policy"))
        || operands.is_empty()
    {
        Verdict::Read
    } else {
        Verdict::Write(what(operands.len().min(3)))
    }
}

fn journalctl(args: &[&str]) -> Verdict {
    for arg in args {
        let option = arg.split_once('=').map_or(*arg, |(option, _)| option);
        if option.starts_with("--vacuum-") {
            return Verdict::Destructive(code(&format!("journalctl {option}")));
        }
        if matches!(
            option,
            "--rotate"
                | "--flush"
                | "--sync"
                | "--relinquish-var"
                | "--smart-relinquish-var"
                | "--setup-keys"
                | "--update-catalog"
        ) {
            return Verdict::Write(code(&format!("journalctl {option}")));
        }
    }
    Verdict::Read
}

fn iptables(name: &str, args: &[&str]) -> Verdict {
    let mut verdict = None;
    for arg in args {
        let letters: String = match *arg {
            "--flush" => "F".into(),
            "--delete-chain" => "X".into(),
            "--append" => "A".into(),
            "--delete" => "D".into(),
            "--insert" => "I".into(),
            "--replace" => "R".into(),
            "--zero" => "Z".into(),
            "--new-chain" => "N".into(),
            "--policy" => "P".into(),
            "--rename-chain" => "E".into(),
            "--list" => "L".into(),
            "--list-rules" => "S".into(),
            "--check" => "C".into(),
            _ => short_cluster(arg).unwrap_or_default().chars().filter(char::is_ascii_uppercase).collect(),
        };
        if letters.contains(['F', 'X']) {
            return Verdict::Destructive(code(&format!("{name} {arg}")));
        }
        if letters.contains(['A', 'D', 'I', 'R', 'Z', 'N', 'P', 'E']) {
            verdict = Some(Verdict::Write(code(&format!("{name} {arg}"))));
        } else if letters.contains(['L', 'S', 'C']) && verdict.is_none() {
            verdict = Some(Verdict::Read);
        }
    }
    verdict.unwrap_or_else(|| Verdict::Write(code(name)))
}

fn nft(args: &[&str]) -> Verdict {
    if args.iter().any(|a| *a == "-f" || *a == "--file") {
        return Verdict::Write(code("nft -f"));
    }
    match args.iter().find(|a| !a.starts_with('-')) {
        Some(&("list" | "describe" | "monitor")) => Verdict::Read,
        Some(&verb @ ("flush" | "delete" | "destroy")) => Verdict::Destructive(code(&format!("nft {verb}"))),
        Some(verb) => Verdict::Write(code(&format!("nft {verb}"))),
        None => Verdict::Write(code("nft")),
    }
}

fn ufw(args: &[&str]) -> Verdict {
    let mut operands = args.iter().filter(|a| !a.starts_with('-'));
    match (operands.next(), operands.next()) {
        (Some(&("status" | "show" | "version" | "help")), _) | (Some(&"app"), Some(&("list" | "info"))) => {
            Verdict::Read
        }
        (None, _) if args.iter().any(|a| matches!(*a, "--version" | "--help" | "-h")) => Verdict::Read,
        (Some(&verb @ ("delete" | "deny" | "reset" | "disable")), _) => {
            Verdict::Destructive(code(&format!("ufw {verb}")))
        }
        (Some(verb), _) => Verdict::Write(code(&format!("ufw {verb}"))),
        (None, _) => Verdict::Write(code("ufw")),
    }
}

fn curl(args: &[&str]) -> Verdict {
    let spec = Spec {
        short: "AbcCdDeEFHKmoPQrtTuUwxXyYz",
        long: &[
            "request",
            "data",
            "data-raw",
            "data-binary",
            "data-ascii",
            "data-urlencode",
            "json",
            "form",
            "form-string",
            "upload-file",
            "output",
            "cookie-jar",
            "dump-header",
            "config",
            "header",
            "user",
            "user-agent",
            "url",
            "max-time",
            "connect-timeout",
            "retry",
            "retry-delay",
            "retry-max-time",
            "resolve",
            "connect-to",
            "cacert",
            "cert",
            "key",
            "proxy",
            "write-out",
            "referer",
            "range",
            "output-dir",
            "cookie",
            "quote",
            "unix-socket",
            "interface",
            "aws-sigv4",
            "oauth2-bearer",
            "capath",
        ],
    };
    let words: Vec<Word> = args.iter().map(|a| Word { value: (*a).to_owned(), range: 0..0 }).collect();
    let (options, _) = collect_options(&words, &spec, true);
    for option in &options {
        let value = option.value.unwrap_or_default();
        let verdict = match option.flag {
            Flag::Short('X') | Flag::Long("request") => {
                let method = value.to_ascii_uppercase();
                if matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") {
                    Verdict::Write(code(&format!("curl -X {method}")))
                } else {
                    Verdict::Read
                }
            }
            Flag::Short(letter @ ('d' | 'F' | 'T' | 'K' | 'Q')) => Verdict::Write(code(&format!("curl -{letter}"))),
            Flag::Long(long)
                if long.starts_with("data")
                    || long.starts_with("form")
                    || matches!(long, "json" | "upload-file" | "config" | "quote") =>
            {
                Verdict::Write(code(&format!("curl --{long}")))
            }
            Flag::Short('o' | 'c' | 'D') | Flag::Long("output" | "cookie-jar" | "dump-header") => writes(value),
            Flag::Short('O') | Flag::Long("remote-name" | "remote-name-all" | "output-dir") => {
                Verdict::Write(code("curl -O"))
            }
            _ => Verdict::Read,
        };
        if verdict != Verdict::Read {
            return verdict;
        }
    }
    Verdict::Read
}

fn wget(args: &[&str]) -> Verdict {
    let spec = Spec {
        short: "OoaPeUiBTtwQlDAR",
        long: &[
            "output-document",
            "output-file",
            "append-output",
            "directory-prefix",
            "post-data",
            "post-file",
            "method",
            "body-data",
            "body-file",
            "header",
            "user-agent",
            "tries",
            "timeout",
            "execute",
            "input-file",
        ],
    };
    let words: Vec<Word> = args.iter().map(|a| Word { value: (*a).to_owned(), range: 0..0 }).collect();
    let (options, _) = collect_options(&words, &spec, true);
    let mut read = false;
    for option in &options {
        let value = option.value.unwrap_or_default();
        match option.flag {
            Flag::Long("spider") => read = true,
            Flag::Short('O') | Flag::Long("output-document") => {
                if !is_harmless_sink(value) {
                    return writes(value);
                }
                read = true;
            }
            Flag::Short('o' | 'a') | Flag::Long("output-file" | "append-output") if !is_harmless_sink(value) => {
                return writes(value);
            }
            Flag::Long(long @ ("post-data" | "post-file" | "body-data" | "body-file" | "method")) => {
                return Verdict::Write(code(&format!("wget --{long}")));
            }
            Flag::Short('e' | 'i') | Flag::Long("execute" | "input-file") => return Verdict::Write(code("wget -e")),
            _ => {}
        }
    }
    if read { Verdict::Read } else { Verdict::Write(code("wget") + " (saves a file)") }
}

fn openssl(args: &[&str]) -> Verdict {
    let Some((verb, rest)) = args.split_first() else { return Verdict::Write(code("openssl")) };
    let has = |option: &str| rest.contains(&option);
    if let Some(at) = rest.iter().position(|a| matches!(*a, "-out" | "-keyout")) {
        return writes(rest.get(at + 1).copied().unwrap_or_default());
    }
    let reads = match *verb {
        "s_client" | "verify" | "crl" | "ciphers" | "version" | "dgst" | "rand" | "list" | "help" | "asn1parse"
        | "errstr" => true,
        "x509" => !(has("-req") || has("-signkey") || has("-CA")),
        "req" => (has("-text") || has("-noout") || has("-verify")) && !(has("-new") || has("-newkey") || has("-x509")),
        "rsa" | "ec" | "pkey" => has("-check") || has("-noout") || has("-text"),
        _ => false,
    };
    if reads { Verdict::Read } else { Verdict::Write(code(&format!("openssl {verb}"))) }
}

fn nginx(name: &str, args: &[&str]) -> Verdict {
    let mut reads = false;
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        match *arg {
            "-t" | "-T" | "-v" | "-V" | "-h" | "-?" | "-q" | "-tq" | "-qt" => reads |= *arg != "-q",
            "-c" | "-p" | "-g" | "-e" => i += 1,
            "-s" => return Verdict::Write(code(&format!("{name} -s {}", args.get(i).unwrap_or(&"")))),
            _ => return Verdict::Write(code(name)),
        }
    }
    if reads { Verdict::Read } else { Verdict::Write(code(name)) }
}

fn meta_command_verdict(meta: &str) -> Verdict {
    let name = meta.trim_start_matches('\\').split_whitespace().next().unwrap_or_default();
    let reads = (name.starts_with('d') && name != "drds")
        || (name.starts_with('l') && !name.starts_with("lo_"))
        || matches!(
            name,
            "x" | "timing"
                | "conninfo"
                | "echo"
                | "qecho"
                | "warn"
                | "pset"
                | "set"
                | "unset"
                | "c"
                | "connect"
                | "q"
                | "h"
                | "help"
                | "?"
                | "a"
                | "t"
                | "f"
                | "H"
                | "T"
                | "C"
                | "encoding"
                | "prompt"
                | "sf"
                | "sv"
                | "z"
                | "errverbose"
                | "p"
                | "r"
                | "getenv"
        );
    if reads { Verdict::Read } else { Verdict::Write(code(&format!("\\{name}"))) }
}

// ---- SQL --------------------------------------------------------------------

/// Functions that change the server's state from inside a `SELECT`.
const SQL_WRITE_FUNCTIONS: &[&str] = &[
    "PG_TERMINATE_BACKEND",
    "PG_CANCEL_BACKEND",
    "PG_RELOAD_CONF",
    "SET_CONFIG",
    "PG_ROTATE_LOGFILE",
    "PG_SWITCH_WAL",
    "PG_SWITCH_XLOG",
    "PG_CREATE_RESTORE_POINT",
    "PG_PROMOTE",
    "PG_WAL_REPLAY_PAUSE",
    "PG_WAL_REPLAY_RESUME",
    "PG_XLOG_REPLAY_PAUSE",
    "PG_XLOG_REPLAY_RESUME",
    "PG_DROP_REPLICATION_SLOT",
    "PG_CREATE_PHYSICAL_REPLICATION_SLOT",
    "PG_CREATE_LOGICAL_REPLICATION_SLOT",
    "PG_REPLICATION_SLOT_ADVANCE",
    "PG_LOGICAL_SLOT_GET_CHANGES",
    "PG_ADVISORY_LOCK",
    "PG_ADVISORY_XACT_LOCK",
    "PG_TRY_ADVISORY_LOCK",
    "PG_ADVISORY_UNLOCK",
    "PG_ADVISORY_UNLOCK_ALL",
    "NEXTVAL",
    "SETVAL",
    "LO_UNLINK",
    "LO_IMPORT",
    "LO_EXPORT",
    "LO_CREATE",
    "LO_FROM_BYTEA",
    "DBLINK_EXEC",
    "PG_FILE_WRITE",
    "PG_FILE_UNLINK",
    "PG_FILE_RENAME",
    "PG_STAT_RESET",
    "PG_STAT_RESET_SHARED",
    "PG_STAT_RESET_SINGLE_TABLE_COUNTERS",
    "PG_STAT_STATEMENTS_RESET",
    "PG_IMPORT_SYSTEM_COLLATIONS",
];

/// Keywords that make a query-looking statement (`WITH … DELETE`, `SELECT
/// … INTO`, `SELECT … FOR UPDATE`) more than a query. Keywords that only
/// start a statement (`VACUUM`, `COPY`, `DO` …) need no entry: a statement
/// is a query only when it starts as one.
const SQL_WRITE_KEYWORDS: &[&str] =
    &["INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "DROP", "ALTER", "CREATE", "GRANT", "REVOKE", "INTO"];

fn sql_verdict(words: &[String]) -> Verdict {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let Some(&first) = words.first() else { return Verdict::Write(code("SQL statement")) };
    let after = |i: usize| words.get(i + 1..).unwrap_or_default();
    let before = |i: usize| i.checked_sub(1).and_then(|p| words.get(p)).copied().unwrap_or_default();
    for (i, word) in words.iter().enumerate() {
        let verdict = match *word {
            "TRUNCATE" => Some(Verdict::Destructive(code("TRUNCATE"))),
            "DROP" => match words.get(i + 1) {
                Some(&("NOT" | "DEFAULT" | "EXPRESSION" | "IDENTITY")) => None,
                Some(object) => Some(Verdict::Destructive(code(&format!("DROP {object}")))),
                None => Some(Verdict::Destructive(code("DROP"))),
            },
            "DELETE" if words.get(i + 1) == Some(&"FROM") && before(i) != "ON" && !after(i).contains(&"WHERE") => {
                Some(Verdict::Destructive(format!("{} without {}", code("DELETE"), code("WHERE"))))
            }
            "UPDATE"
                if !matches!(before(i), "ON" | "FOR" | "KEY" | "GRANT" | "DO" | "OF" | "NO")
                    && after(i).contains(&"SET")
                    && !after(i).contains(&"WHERE") =>
            {
                Some(Verdict::Destructive(format!("{} without {}", code("UPDATE"), code("WHERE"))))
            }
            "PG_TERMINATE_BACKEND" => Some(Verdict::Destructive(code("pg_terminate_backend"))),
            _ => None,
        };
        if let Some(verdict) = verdict {
            return verdict;
        }
    }
    let reads_first = match first {
        "SELECT" | "SHOW" | "TABLE" | "VALUES" | "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT"
        | "SET" | "RESET" => true,
        "WITH" => words.contains(&"SELECT"),
        "EXPLAIN" => !words.contains(&"ANALYZE") && !words.contains(&"ANALYSE"),
        _ => false,
    };
    if let Some(function) = words.iter().find(|w| SQL_WRITE_FUNCTIONS.contains(w)) {
        return Verdict::Write(code(&function.to_ascii_lowercase()));
    }
    if let Some(keyword) = words.iter().find(|w| SQL_WRITE_KEYWORDS.contains(w))
        && reads_first
    {
        return Verdict::Write(code(keyword));
    }
    if reads_first {
        return Verdict::Read;
    }
    let what = match words.as_slice() {
        ["CREATE", "OR", "REPLACE", object, ..] => format!("CREATE OR REPLACE {object}"),
        ["CREATE" | "ALTER" | "COMMENT" | "REFRESH" | "EXPLAIN" | "SECURITY" | "IMPORT", second, ..] => {
            format!("{first} {second}")
        }
        _ => first.to_owned(),
    };
    Verdict::Write(code(&what))
}

// ---- Redis ------------------------------------------------------------------

/// Redis commands that only read.
const REDIS_READS: &[&str] = &[
    "PING",
    "ECHO",
    "INFO",
    "GET",
    "MGET",
    "GETRANGE",
    "STRLEN",
    "EXISTS",
    "TYPE",
    "TTL",
    "PTTL",
    "EXPIRETIME",
    "PEXPIRETIME",
    "KEYS",
    "SCAN",
    "SSCAN",
    "HSCAN",
    "ZSCAN",
    "LLEN",
    "LRANGE",
    "LINDEX",
    "LPOS",
    "XLEN",
    "XRANGE",
    "XREVRANGE",
    "XINFO",
    "XPENDING",
    "HGET",
    "HGETALL",
    "HMGET",
    "HLEN",
    "HKEYS",
    "HVALS",
    "HEXISTS",
    "HSTRLEN",
    "HRANDFIELD",
    "SMEMBERS",
    "SCARD",
    "SISMEMBER",
    "SMISMEMBER",
    "SRANDMEMBER",
    "SINTER",
    "SUNION",
    "SDIFF",
    "SINTERCARD",
    "ZRANGE",
    "ZREVRANGE",
    "ZCARD",
    "ZSCORE",
    "ZMSCORE",
    "ZRANK",
    "ZREVRANK",
    "ZCOUNT",
    "ZLEXCOUNT",
    "ZRANGEBYSCORE",
    "ZREVRANGEBYSCORE",
    "ZRANGEBYLEX",
    "ZREVRANGEBYLEX",
    "ZRANDMEMBER",
    "DBSIZE",
    "LASTSAVE",
    "ROLE",
    "TIME",
    "BITCOUNT",
    "BITPOS",
    "GETBIT",
    "PFCOUNT",
    "GEOPOS",
    "GEODIST",
    "GEOHASH",
    "GEOSEARCH",
    "RANDOMKEY",
    "DUMP",
    "OBJECT",
    "COMMAND",
    "SELECT",
    "AUTH",
    "HELLO",
    "LOLWUT",
    "MONITOR",
    "PUBSUB",
    "READONLY",
    "QUIT",
];

fn redis_command(words: &[&str]) -> Verdict {
    let Some(first) = words.first() else { return Verdict::Read };
    let command = first.to_ascii_uppercase();
    let sub = words.get(1).map(|s| s.to_ascii_uppercase()).unwrap_or_default();
    let pair = (command.as_str(), sub.as_str());
    match pair {
        ("FLUSHALL" | "FLUSHDB" | "SHUTDOWN", _) => Verdict::Destructive(code(&command)),
        ("SCRIPT" | "FUNCTION", "FLUSH") => Verdict::Destructive(code(&format!("{command} FLUSH"))),
        ("CONFIG", "GET")
        | ("CLIENT", "LIST" | "INFO" | "GETNAME" | "ID")
        | ("SLOWLOG", "GET" | "LEN")
        | ("MEMORY", "USAGE" | "STATS" | "DOCTOR" | "MALLOC-STATS")
        | ("CLUSTER", "INFO" | "NODES" | "SLOTS" | "SHARDS" | "MYID" | "KEYSLOT" | "COUNTKEYSINSLOT")
        | ("LATENCY", "LATEST" | "HISTORY" | "DOCTOR" | "GRAPH")
        | ("SCRIPT", "EXISTS")
        | ("FUNCTION", "LIST" | "STATS")
        | ("ACL", "WHOAMI" | "LIST" | "USERS" | "CAT" | "GETUSER")
        | ("MODULE", "LIST")
        | (
            "SENTINEL",
            "MASTERS" | "MASTER" | "REPLICAS" | "SLAVES" | "SENTINELS" | "GET-MASTER-ADDR-BY-NAME" | "CKQUORUM",
        ) => Verdict::Read,
        (
            "CONFIG" | "CLIENT" | "SLOWLOG" | "MEMORY" | "CLUSTER" | "LATENCY" | "SCRIPT" | "FUNCTION" | "ACL"
            | "MODULE" | "SENTINEL" | "DEBUG" | "XGROUP",
            _,
        ) => Verdict::Write(code(&format!("{command} {sub}"))),
        _ if REDIS_READS.contains(&command.as_str()) => Verdict::Read,
        _ => Verdict::Write(code(&command)),
    }
}

/// Splits a Redis command line into words, as `redis-cli` does with quotes.
fn redis_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            if c == '"' || c == '\'' {
                while let Some(inner) = chars.next() {
                    if inner == c {
                        break;
                    }
                    if inner == '\\' && c == '"' {
                        word.extend(chars.next());
                    } else {
                        word.push(inner);
                    }
                }
            } else {
                word.push(c);
            }
        }
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell_in(script: &str, services: &[&str]) -> Assessment {
        assess_shell(script, Context { services })
    }

    fn shell(script: &str) -> Assessment {
        shell_in(script, &[])
    }

    fn safety(script: &str) -> Safety {
        shell(script).safety
    }

    /// The class and the first finding's `what`.
    fn verdict(script: &str) -> (Safety, String) {
        let assessment = shell(script);
        (assessment.safety, assessment.findings.first().map(|f| f.what.clone()).unwrap_or_default())
    }

    fn assert_reads(scripts: &[&str]) {
        for script in scripts {
            assert_eq!(shell(script), Assessment { safety: Safety::Read, findings: vec![] }, "{script}");
        }
    }

    fn assert_writes(scripts: &[&str]) {
        for script in scripts {
            let assessment = shell(script);
            assert_eq!(assessment.safety, Safety::Write, "{script}: {assessment:?}");
            assert_eq!(assessment.findings.len(), 1, "{script}");
        }
    }

    fn assert_destroys(scripts: &[&str]) {
        for script in scripts {
            assert_eq!(safety(script), Safety::Destructive, "{script}: {:?}", shell(script));
        }
    }

    #[test]
    fn seed_examples() {
        assert_eq!(verdict("kill -9 $(cat /var/run/sentinel.pid)"), (Safety::Destructive, "`kill -9`".into()));
        assert_eq!(verdict("kill -TERM $(cat /var/run/sentinel.pid)"), (Safety::Write, "`kill -TERM`".into()));
        assert_eq!(verdict("curl -sSf http://127.0.0.1:8000/health"), (Safety::Read, String::new()));
        assert_eq!(verdict("curl -X POST http://x/api"), (Safety::Write, "`curl -X POST`".into()));
        assert_eq!(
            verdict(
                r#"psql -h 127.0.0.1 -U axiomdb -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle';""#
            ),
            (Safety::Destructive, "`pg_terminate_backend`".into())
        );
        assert_eq!(
            safety(
                r#"psql -h 127.0.0.1 -U axiomdb -c "SELECT pid, state, query FROM pg_stat_activity WHERE query ~* 'ALTER|CREATE|DROP' ORDER BY query_start;""#
            ),
            Safety::Read
        );
        assert_eq!(
            shell_in("sudo systemctl stop pgbouncer", &["pgbouncer"]).findings[0].what,
            "`systemctl stop pgbouncer` (a declared service)"
        );
        assert_eq!(shell_in("sudo systemctl stop pgbouncer.service", &["pgbouncer"]).safety, Safety::Destructive);
        assert_eq!(shell_in("systemctl stop pgbouncer", &["pgbouncer.service"]).safety, Safety::Destructive);
        assert_eq!(verdict("sudo systemctl stop pgbouncer"), (Safety::Write, "`systemctl stop pgbouncer`".into()));
        assert_eq!(verdict("sudo ufw allow from 10.0.0.0/8 to any port 5432"), (Safety::Write, "`ufw allow`".into()));
        assert_eq!(safety("sudo ufw status numbered"), Safety::Read);
        assert_eq!(safety("redis-cli -h 127.0.0.1 llen axiomdb:commands"), Safety::Read);
        assert_eq!(verdict("redis-cli FLUSHALL"), (Safety::Destructive, "`FLUSHALL`".into()));
        assert_eq!(verdict("find /tmp -mtime +7 -delete"), (Safety::Destructive, "`find -delete`".into()));
        assert_eq!(verdict("echo hi > /etc/motd"), (Safety::Write, "writes `/etc/motd`".into()));
        assert_eq!(safety("wg show"), Safety::Read);
        assert_eq!(verdict("psql <<SQL\nDROP TABLE x;\nSQL\n"), (Safety::Destructive, "`DROP TABLE`".into()));
    }

    #[test]
    fn findings_point_at_the_command_or_statement() {
        let script = "uptime\nsudo kill -9 1234 && rm -rf /tmp/x\n";
        let assessment = shell(script);
        let found: Vec<(&str, &str)> =
            assessment.findings.iter().map(|f| (f.what.as_str(), &script[f.range.clone()])).collect();
        assert_eq!(found, [("`kill -9`", "sudo kill -9 1234"), ("`rm -rf`", "rm -rf /tmp/x")]);

        let script = r#"psql -c "SELECT 1; DELETE FROM jobs; TRUNCATE t""#;
        let assessment = shell(script);
        let found: Vec<(&str, &str)> =
            assessment.findings.iter().map(|f| (f.what.as_str(), &script[f.range.clone()])).collect();
        assert_eq!(found, [("`DELETE` without `WHERE`", "DELETE FROM jobs"), ("`TRUNCATE`", "TRUNCATE t")]);

        let script = "psql -d app <<'SQL'\nSELECT 1;\nDROP INDEX i;\nSQL\n";
        let finding = &shell(script).findings[0];
        assert_eq!(&script[finding.range.clone()], "DROP INDEX i");

        let script = "ssh db1 'sudo systemctl restart x; rm -r /srv/old'";
        let finding = &shell(script).findings[0];
        assert_eq!(&script[finding.range.clone()], "rm -r /srv/old");

        let script = "redis-cli <<EOF\nGET a\nflushdb\nEOF";
        let finding = &shell(script).findings[0];
        assert_eq!((finding.what.as_str(), &script[finding.range.clone()]), ("`FLUSHDB`", "flushdb"));
    }

    #[test]
    fn destructive_findings_come_first_and_only_then_the_first_write() {
        let assessment = shell("systemctl restart tornado\ncp a b\nkill -KILL 1\nrm -fr /x");
        assert_eq!(assessment.safety, Safety::Destructive);
        assert_eq!(
            assessment.findings.iter().map(|f| f.what.as_str()).collect::<Vec<_>>(),
            ["`kill -KILL`", "`rm -fr`"]
        );
        let assessment = shell("uptime\nsystemctl restart tornado\ncp a b");
        assert_eq!(
            assessment.findings.iter().map(|f| f.what.as_str()).collect::<Vec<_>>(),
            ["`systemctl restart tornado`"]
        );
    }

    #[test]
    fn empty_and_assignment_only_scripts_read() {
        assert_reads(&[
            "",
            "  \n# just a comment\n",
            "X=1",
            "export PGHOST=127.0.0.1 PGPORT=5432",
            "set -euo pipefail",
        ]);
    }

    #[test]
    fn kill_signals() {
        assert_destroys(&[
            "kill -9 1",
            "kill -KILL 1",
            "kill -SIGKILL 1",
            "kill -s KILL 1",
            "kill -s 9 1",
            "kill --signal=KILL 1",
            "pkill -9 -f sentinel",
            "killall -KILL nginx",
            "killall -s SIGKILL nginx",
            "sudo -u root kill -9 1",
        ]);
        assert_eq!(verdict("kill -s KILL 1").1, "`kill -s KILL`");
        assert_writes(&["kill 1", "kill -HUP 1", "pkill -f x", "killall nginx", "kill -USR1 1"]);
        assert_reads(&["kill -l"]);
    }

    #[test]
    fn file_removal() {
        assert_destroys(&[
            "rm -rf /tmp/x",
            "rm -fr x",
            "rm -Rf x",
            "rm -r x",
            "rm --recursive x",
            "/bin/rm -rfv x",
            "find . -name '*.log' -exec rm {} \\;",
            "find . -execdir rm -f {} +",
            "shred -u key.pem",
            "wipefs -a /dev/sdb",
            "mkfs.ext4 /dev/sdb1",
            "mkfs -t xfs /dev/sdb1",
            "dd if=/dev/zero of=/dev/sdb bs=1M",
            "truncate -s 0 /var/log/app.log",
        ]);
        assert_eq!(verdict("rm -rf /tmp/x").1, "`rm -rf`");
        assert_eq!(verdict("find . -exec rm {} ;").1, "`find -exec rm`");
        assert_eq!(verdict("dd if=x of=/dev/sdb").1, "`dd of=/dev/sdb`");
        assert_writes(&[
            "rm /tmp/x",
            "rm -f -- -r",
            "find . -exec chmod 600 {} \\;",
            "find / -fprint /tmp/list",
            "dd if=a of=b",
        ]);
        assert_reads(&[
            "find /var/log -name '*.gz' -mtime +7",
            "find . -exec grep -l x {} +",
            "dd if=/dev/sda count=1",
        ]);
    }

    #[test]
    fn version_control_and_containers() {
        assert_destroys(&[
            "git reset --hard origin/main",
            "git clean -fdx",
            "git -C /srv/app clean -f",
            "git push --force origin main",
            "git push -f",
            "git push origin +main",
            "docker rm -f web",
            "docker container rm --force web",
            "docker system prune -af",
            "docker image prune",
            "docker volume prune -f",
            "docker container prune",
            "docker volume rm pgdata",
            "docker compose down -v",
            "kubectl delete pod web-1",
            "kubectl -n prod delete deploy web",
            "helm uninstall web",
            "helm delete web",
            "terraform destroy -auto-approve",
            "terraform -chdir=infra apply -destroy",
        ]);
        assert_eq!(verdict("git clean -fdx").1, "`git clean -fdx`");
        assert_eq!(verdict("docker system prune -af").1, "`docker system prune`");
        assert_eq!(verdict("kubectl delete pod x").1, "`kubectl delete`");
        assert_writes(&[
            "git pull",
            "git reset HEAD~1",
            "git clean -d",
            "git push origin main",
            "docker rm web",
            "docker restart web",
            "docker run --rm alpine true",
            "kubectl rollout restart deploy/web",
            "kubectl apply -f x.yaml",
            "helm upgrade web ./chart",
            "terraform apply",
        ]);
        assert_reads(&[
            "git status",
            "git log --oneline -5",
            "git diff HEAD~1",
            "git branch",
            "git remote -v",
            "git clean -n",
            "docker ps -a",
            "docker logs --tail 100 web",
            "docker inspect web",
            "docker stats --no-stream",
            "docker images",
            "docker container ls",
            "docker compose ps",
            "kubectl get pods -n prod -o wide",
            "kubectl -n prod describe pod web-1",
            "kubectl logs -f deploy/web",
            "kubectl auth can-i get pods",
            "kubectl config current-context",
            "helm list -A",
            "helm status web",
            "terraform plan -out=tfplan",
            "terraform output -json",
        ]);
    }

    #[test]
    fn commands_inside_containers_are_judged() {
        assert_reads(&["docker exec -it pg psql -c 'SELECT 1'", "kubectl exec -n db pg-0 -- psql -c 'SELECT 1'"]);
        assert_destroys(&["docker exec pg psql -c 'DROP TABLE t'", "kubectl exec pg-0 -- rm -rf /data"]);
        assert_writes(&["docker exec -it pg bash", "kubectl exec pg-0 ls"]);
    }

    #[test]
    fn redis() {
        assert_destroys(&[
            "redis-cli FLUSHALL",
            "redis-cli flushdb",
            "redis-cli -h 10.0.0.5 -p 6380 -a secret -n 2 FLUSHDB",
            "redis-cli --no-auth-warning shutdown nosave",
            "redis-cli SCRIPT FLUSH",
            "redis-cli function flush",
            "echo FLUSHALL | redis-cli",
            "redis-cli <<< 'FLUSHALL'",
        ]);
        assert_reads(&[
            "redis-cli PING",
            "redis-cli -h 127.0.0.1 llen axiomdb:commands",
            "redis-cli INFO replication",
            "redis-cli CONFIG GET notify-keyspace-events",
            "redis-cli --scan --pattern 'session:*'",
            "redis-cli --bigkeys",
            "redis-cli --latency",
            "redis-cli CLIENT LIST",
            "redis-cli slowlog get 10",
            "redis-cli XINFO GROUPS stream",
        ]);
        assert_eq!(verdict("redis-cli CONFIG SET maxmemory 2gb"), (Safety::Write, "`CONFIG SET`".into()));
        assert_writes(&["redis-cli", "redis-cli -h x", "redis-cli DEL key", "redis-cli --rdb /tmp/dump.rdb"]);
    }

    #[test]
    fn firewall_and_network() {
        assert_destroys(&[
            "iptables -F",
            "sudo iptables --flush INPUT",
            "ip6tables -X",
            "iptables -t nat -F",
            "nft flush ruleset",
            "ufw delete 3",
            "ufw deny 22",
            "ufw --force reset",
            "ufw disable",
        ]);
        assert_eq!(verdict("iptables -t nat -F").1, "`iptables -F`");
        assert_writes(&[
            "iptables -A INPUT -p tcp --dport 22 -j ACCEPT",
            "ufw allow 22/tcp",
            "ufw enable",
            "nft add rule inet filter input accept",
            "ip addr add 10.0.0.1/24 dev eth0",
            "ip link set eth0 down",
            "ip route del default",
            "nc 10.0.0.1 80",
        ]);
        assert_reads(&[
            "iptables -L -n -v",
            "iptables -nvL",
            "iptables -S",
            "iptables -C INPUT -j ACCEPT",
            "nft list ruleset",
            "ufw status verbose",
            "ip addr",
            "ip a",
            "ip -4 addr show dev eth0",
            "ip route",
            "ip link show",
            "ip -s link",
            "ip route get 1.1.1.1",
            "ss -tlnp",
            "nc -zv 10.0.0.1 5432",
            "nc -z -w 3 host 80",
            "wg",
            "wg showconf wg0",
            "dig +short example.com",
            "ping -c 3 10.0.0.1",
        ]);
    }

    #[test]
    fn services_and_the_machine() {
        let services = ["tornado", "redis-server"];
        for script in [
            "systemctl stop tornado",
            "systemctl disable --now tornado.service",
            "systemctl mask redis-server",
            "systemctl kill -s KILL tornado",
            "sudo systemctl stop nginx tornado",
            "service tornado stop",
        ] {
            assert_eq!(shell_in(script, &services).safety, Safety::Destructive, "{script}");
        }
        assert_eq!(shell_in("systemctl restart tornado", &services).safety, Safety::Write);
        assert_eq!(shell_in("systemctl stop nginx", &services).safety, Safety::Write);
        assert_destroys(&[
            "shutdown -r now",
            "reboot",
            "sudo poweroff",
            "halt",
            "systemctl reboot",
            "journalctl --vacuum-time=2d",
            "journalctl --vacuum-size 500M",
            "dropdb app",
            "pg_dropcluster 14 main",
            "crontab -r",
        ]);
        assert_eq!(verdict("journalctl --vacuum-time=2d").1, "`journalctl --vacuum-time`");
        assert_writes(&[
            "systemctl restart tornado",
            "systemctl daemon-reload",
            "service nginx reload",
            "journalctl --rotate",
            "sysctl -w net.core.somaxconn=1024",
            "sysctl net.core.somaxconn=1024",
            "hostname web-1",
            "date -s '2024-01-01'",
            "dmesg -C",
            "mount /dev/sdb1 /mnt",
            "top",
            "ulimit -n 65536",
        ]);
        assert_reads(&[
            "systemctl status tornado",
            "systemctl is-active --quiet tornado",
            "systemctl list-units --failed",
            "systemctl",
            "systemctl --no-pager -l status x",
            "systemctl show -p ActiveState tornado",
            "systemctl cat tornado",
            "service tornado status",
            "journalctl -u tornado --since '10 min ago' --no-pager",
            "journalctl -fu tornado",
            "sysctl net.core.somaxconn",
            "sysctl -a",
            "hostname",
            "hostname -f",
            "dmesg -T | tail",
            "mount",
            "top -b -n 1",
            "ulimit -a",
            "ulimit -n",
            "uptime",
            "free -m",
            "df -h",
            "du -sh /var/lib/postgresql",
            "ps aux | grep sentinel-proxy",
            "lsof -i :5432",
            "crontab -l",
            "timedatectl status",
        ]);
    }

    #[test]
    fn http_clients() {
        assert_reads(&[
            "curl -f http://localhost:8080/health",
            "curl -s localhost:9090/metrics | grep upstream_health",
            "curl -sS -o /dev/null -w '%{http_code}' http://x",
            "curl -I https://x",
            "curl -X GET http://x",
            "curl --request=HEAD http://x",
            "curl -H 'Authorization: Bearer x' http://x",
            "wget --spider http://x",
            "wget -qO- http://x",
            "wget -q -O - http://x",
            "wget -O /dev/null http://x",
        ]);
        for (script, what) in [
            ("curl -XPOST http://x", "`curl -X POST`"),
            ("curl --request delete http://x", "`curl -X DELETE`"),
            ("curl -d '{}' http://x", "`curl -d`"),
            ("curl --data-binary @f http://x", "`curl --data-binary`"),
            ("curl --json '{}' http://x", "`curl --json`"),
            ("curl -F file=@x http://x", "`curl -F`"),
            ("curl -T f http://x", "`curl -T`"),
            ("curl -o /tmp/x http://x", "writes `/tmp/x`"),
            ("curl -sSLo out.tgz http://x", "writes `out.tgz`"),
            ("curl -O http://x/f.tgz", "`curl -O`"),
            ("wget http://x/f.tgz", "`wget` (saves a file)"),
            ("wget -O f http://x", "writes `f`"),
            ("wget --post-data=a http://x", "`wget --post-data`"),
        ] {
            assert_eq!(verdict(script), (Safety::Write, what.to_owned()), "{script}");
        }
    }

    #[test]
    fn wrappers_are_looked_through() {
        assert_destroys(&[
            "sudo -u postgres -E rm -rf /x",
            "sudo -i -- rm -rf /x",
            "env -i PATH=/bin rm -rf /x",
            "FOO=1 rm -rf /x",
            "nohup rm -rf /x &",
            "time rm -rf /x",
            "nice -n 10 rm -rf /x",
            "ionice -c3 rm -rf /x",
            "timeout 30 rm -rf /x",
            "timeout -s KILL 5m rm -rf /x",
            "echo /x | xargs rm -rf",
            "ls | xargs -I{} -n 1 rm -rf {}",
            "exec rm -rf /x",
            "command rm -rf /x",
            "watch -n 5 'rm -rf /x'",
            "watch rm -rf /x",
            "bash -c 'rm -rf /x'",
            "sh -ec \"kill -9 1\"",
            "sudo sh -c 'echo 1; rm -rf /x'",
            "ssh -p 2222 -i key admin@db1 'rm -rf /x'",
            "ssh db1 sudo rm -rf /x",
            "ssh -o StrictHostKeyChecking=no -J bastion db1 -- 'kill -9 1'",
            "su - postgres -c 'dropdb app'",
            "runuser -u postgres -- dropdb app",
            "eval 'rm -rf /x'",
            "if true; then rm -rf /x; fi",
            "for f in a b; do rm -r \"$f\"; done",
            "echo $(rm -rf /x)",
            "x=`rm -rf /x`",
            "bash <<EOF\nrm -rf /x\nEOF",
            "ssh db1 <<'EOF'\nsudo systemctl reboot\nEOF",
            "trap 'rm -rf /tmp/work' EXIT",
            "strace -f rm -rf /x",
            "sudo -u postgres psql -c 'DROP DATABASE app'",
        ]);
        assert_reads(&[
            "sudo systemctl status x",
            "sudo -u postgres psql -c 'SELECT 1'",
            "watch -n 1 'ss -tn | grep 10.1.1.10:8080 | wc -l'",
            "watch -n 1 'curl -s localhost:9090/metrics | grep error_rate'",
            "timeout 5 curl -sf http://x",
            "ssh staging \"ps aux | grep x\"",
            "bash -c 'uptime'",
            "nohup sleep 1",
            "env",
            "command -v psql",
            "xargs",
            "trap - EXIT",
        ]);
        assert_writes(&[
            "sudo -i",
            "su - postgres",
            "ssh db1",
            "bash deploy.sh",
            "bash",
            "curl -s https://x/install.sh | bash",
            "ssh staging \"kill -HUP \\$(cat /var/run/sentinel.pid)\"",
            "sudo tee /etc/x",
            "echo 1 | sudo tee -a /etc/sysctl.conf",
        ]);
        assert_eq!(verdict("sudo /usr/bin/rm -rf /x").1, "`rm -rf`");
    }

    #[test]
    fn redirections_and_tee() {
        assert_reads(&[
            "curl -sf http://x > /dev/null 2>&1",
            "cat x 2>/dev/null",
            "echo x >&2",
            "echo x 1>&2",
            "cmd_that_reads_only=1; ls &> /dev/null",
            "grep x < /etc/hosts",
            "tee < x",
            "echo x | tee /dev/stderr",
            "cat <<EOF\nhello\nEOF",
        ]);
        for (script, what) in [
            ("echo x >> /var/log/x", "writes `/var/log/x`"),
            ("ls &> out.txt", "writes `out.txt`"),
            ("ls 2> err.txt", "writes `err.txt`"),
            ("echo x >| f", "writes `f`"),
            ("> /var/log/app.log", "writes `/var/log/app.log`"),
            ("cat <<EOF > /etc/x.conf\na\nEOF", "writes `/etc/x.conf`"),
            ("echo x | tee -a /etc/hosts", "writes `/etc/hosts`"),
            ("ls >", "`>` without a target"),
            ("curl -X POST http://x/branches/<branch_id>/run", "`curl -X POST`"),
            ("sort -o sorted.txt x", "writes `sorted.txt`"),
            ("sed -i 's/a/b/' f", "`sed -i`"),
            ("sed -ni.bak 's/a/b/p' f", "`sed -i`"),
        ] {
            assert_eq!(verdict(script), (Safety::Write, what.to_owned()), "{script}");
        }
        assert_reads(&["sed -n '1,5p' f", "sed -e 's/i/j/' f", "awk '{print $1}' f", "sort -u f", "uniq -c f"]);
    }

    #[test]
    fn psql_and_mysql() {
        assert_reads(&[
            "psql -c 'SELECT 1'",
            "psql -tAc 'SELECT count(*) FROM pg_stat_activity'",
            "psql --command='SHOW max_connections'",
            "psql -c 'EXPLAIN SELECT * FROM t'",
            "psql -c 'WITH x AS (SELECT 1) SELECT * FROM x'",
            "psql -l",
            "psql -c '\\dt'",
            "psql -X -d app -c 'TABLE t' -c 'VALUES (1)'",
            "psql <<'SQL'\n\\x\nSELECT * FROM pg_stat_replication;\nSQL",
            "cat <<SQL | psql\nSELECT 1;\nSQL",
            "mysql -e 'SHOW PROCESSLIST'",
            "mysql -uroot -psecret -h db -e 'SELECT 1'",
            "pg_isready -h 127.0.0.1",
        ]);
        for (script, safety, what) in [
            ("psql -c 'DELETE FROM t'", Safety::Destructive, "`DELETE` without `WHERE`"),
            ("psql -c 'UPDATE t SET a = 1'", Safety::Destructive, "`UPDATE` without `WHERE`"),
            ("psql -c 'TRUNCATE jobs'", Safety::Destructive, "`TRUNCATE`"),
            ("mysql -e 'DROP DATABASE x'", Safety::Destructive, "`DROP DATABASE`"),
            ("psql <<< 'DROP SCHEMA s CASCADE'", Safety::Destructive, "`DROP SCHEMA`"),
            ("psql -c 'DELETE FROM t WHERE id = 1'", Safety::Write, "`DELETE`"),
            ("psql -c 'EXPLAIN ANALYZE SELECT 1'", Safety::Write, "`EXPLAIN ANALYZE`"),
            ("psql -c 'SELECT pg_cancel_backend(1)'", Safety::Write, "`pg_cancel_backend`"),
            ("psql -c 'SELECT pg_reload_conf()'", Safety::Write, "`pg_reload_conf`"),
            ("psql -c 'VACUUM ANALYZE t'", Safety::Write, "`VACUUM`"),
            ("psql", Safety::Write, "`psql` (interactive)"),
            ("psql -d app", Safety::Write, "`psql` (interactive)"),
            ("psql -f migrate.sql", Safety::Write, "`psql -f migrate.sql`"),
            ("psql -c 'SELECT 1' -o /tmp/out", Safety::Write, "writes `/tmp/out`"),
            ("psql -c '\\copy t TO out.csv'", Safety::Write, "`\\copy`"),
        ] {
            assert_eq!(verdict(script), (safety, what.to_owned()), "{script}");
        }
    }

    #[test]
    fn other_tools() {
        assert_reads(&[
            "openssl s_client -connect x:443 -servername x </dev/null",
            "openssl x509 -in cert.pem -noout -dates",
            "openssl req -in x.csr -noout -text",
            "nginx -t",
            "sudo nginx -T",
            "pgbackrest --stanza=main info",
            "aws ec2 describe-instances --region eu-west-1",
            "aws s3 ls s3://bucket",
            "gcloud compute instances list --project x",
            "tcpdump -i eth0 -c 100 port 5432",
            "cat /etc/os-release",
            "jq '.status' f.json",
            "stat -c %Y f",
            "test -f /x && echo yes",
            "[ -f /x ] || echo no",
            "[[ -n $X ]]",
            "sleep 5",
            "cd /srv && ls",
            "which psql",
            "printf '%s\\n' a",
            "read -r -p 'Continue? ' ANSWER",
        ]);
        assert_writes(&[
            "openssl req -new -key k -out x.csr",
            "openssl genrsa -out k.pem 2048",
            "nginx -s reload",
            "nginx",
            "pgbackrest --stanza=main backup",
            "aws s3 cp f s3://bucket/f",
            "gcloud compute instances start x",
            "tcpdump -w /tmp/cap.pcap",
            "./sentinel-proxy --validate --config x",
            "cp /etc/a /etc/b",
            "chmod 600 key",
            "$TOOL --run",
            "python3 -c 'print(1)'",
            "source env.sh",
        ]);
        assert_destroys(&[
            "aws ec2 terminate-instances --instance-ids i-1",
            "gcloud sql instances delete db",
            "pgbackrest stanza-delete",
        ]);
        assert_eq!(verdict("cp a b").1, "`cp`");
        assert_eq!(verdict("./sentinel-proxy --validate").1, "`sentinel-proxy`");
        assert_eq!(verdict("systemctl restart tornado").1, "`systemctl restart tornado`");
    }

    #[test]
    fn template_placeholders_are_single_words() {
        assert_reads(&[
            "kubectl -n {{ kube_namespace }} get deployment/{{ deployment }}",
            "sudo -u postgres pgbackrest --stanza={{ stanza }} info",
            "kubectl -n {{ ns }} logs -l app={{ service }} --since=1h | grep -F {{ request_id }}",
        ]);
        assert_eq!(verdict("kubectl -n {{ ns }} delete pod {{ pod }}").1, "`kubectl delete`");
        assert_eq!(
            shell_in("systemctl stop {{ service }}", &["tornado"]).findings[0].what,
            "`systemctl stop {{ service }}`"
        );
    }

    #[test]
    fn what_stays_short() {
        let long = format!("systemctl restart {}", "x".repeat(200));
        let what = verdict(&long).1;
        assert!(what.chars().count() <= 50, "{what}");
        assert!(what.starts_with("`systemctl restart x"));
    }

    #[test]
    fn sql_statements() {
        let read =
            |sql: &str| assert_eq!(assess_sql(sql), Assessment { safety: Safety::Read, findings: vec![] }, "{sql}");
        read("");
        read("SELECT 1");
        read("select * from pg_stat_activity where query ~* 'DROP|DELETE';");
        read("SHOW work_mem; EXPLAIN SELECT 1; TABLE t; VALUES (1);");
        read("WITH a AS (SELECT 1) SELECT * FROM a");
        read("BEGIN READ ONLY; SELECT 1; COMMIT;");
        read("SELECT 1 -- DROP TABLE x;\n/* TRUNCATE t; */");
        read("SELECT \"delete\" FROM t");
        read("SELECT replace(name, 'a', 'b'), obj_description(oid) AS comment, 1 AS load FROM pg_class");
        let class = |sql: &str| {
            let a = assess_sql(sql);
            (a.safety, a.findings.first().map(|f| f.what.clone()).unwrap_or_default())
        };
        for (sql, safety, what) in [
            ("DROP TABLE users", Safety::Destructive, "`DROP TABLE`"),
            ("drop index concurrently i", Safety::Destructive, "`DROP INDEX`"),
            ("ALTER TABLE t DROP COLUMN c", Safety::Destructive, "`DROP COLUMN`"),
            ("TRUNCATE t", Safety::Destructive, "`TRUNCATE`"),
            ("DELETE FROM t", Safety::Destructive, "`DELETE` without `WHERE`"),
            ("UPDATE t SET a = 1", Safety::Destructive, "`UPDATE` without `WHERE`"),
            ("SELECT pg_terminate_backend(123)", Safety::Destructive, "`pg_terminate_backend`"),
            ("DELETE FROM t WHERE id = 1", Safety::Write, "`DELETE`"),
            ("UPDATE t SET a = 1 WHERE id = 2", Safety::Write, "`UPDATE`"),
            ("INSERT INTO t VALUES (1)", Safety::Write, "`INSERT`"),
            ("ALTER TABLE t ALTER COLUMN c DROP NOT NULL", Safety::Write, "`ALTER TABLE`"),
            (
                "CREATE TABLE t (id int REFERENCES u ON DELETE CASCADE ON UPDATE CASCADE)",
                Safety::Write,
                "`CREATE TABLE`",
            ),
            ("CREATE INDEX CONCURRENTLY i ON t (a)", Safety::Write, "`CREATE INDEX`"),
            ("SELECT * FROM t FOR UPDATE", Safety::Write, "`UPDATE`"),
            ("SELECT set_config('a', 'b', false)", Safety::Write, "`set_config`"),
            ("WITH d AS (DELETE FROM t WHERE x RETURNING *) SELECT * FROM d", Safety::Write, "`DELETE`"),
            ("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 2", Safety::Write, "`INSERT`"),
            ("SELECT * INTO backup FROM t", Safety::Write, "`INTO`"),
            ("DO $$ BEGIN PERFORM 1; END $$", Safety::Write, "`DO`"),
            ("ALTER SYSTEM SET work_mem = '64MB'", Safety::Write, "`ALTER SYSTEM`"),
        ] {
            assert_eq!(class(sql), (safety, what.to_owned()), "{sql}");
        }
        let sql = "SELECT 1;\nDROP TABLE a;\nDELETE FROM b;";
        let a = assess_sql(sql);
        assert_eq!(
            a.findings.iter().map(|f| &sql[f.range.clone()]).collect::<Vec<_>>(),
            ["DROP TABLE a", "DELETE FROM b"]
        );
    }

    #[test]
    fn redis_commands() {
        assert_eq!(assess_redis(""), Assessment { safety: Safety::Read, findings: vec![] });
        assert_eq!(
            assess_redis("PING\nllen queue\n# a comment\n\nCONFIG GET maxmemory\nXINFO STREAM s").safety,
            Safety::Read
        );
        assert_eq!(assess_redis("GET \"a b\"\nkeys 'x*'").safety, Safety::Read);
        let text = "INFO\nSET a 1\nflushall\nSCRIPT FLUSH";
        let a = assess_redis(text);
        assert_eq!(a.safety, Safety::Destructive);
        assert_eq!(
            a.findings.iter().map(|f| (f.what.as_str(), &text[f.range.clone()])).collect::<Vec<_>>(),
            [("`FLUSHALL`", "flushall"), ("`SCRIPT FLUSH`", "SCRIPT FLUSH")]
        );
        assert_eq!(assess_redis("SET a 1").findings[0].what, "`SET`");
        assert_eq!(assess_redis("CLIENT KILL ID 5").findings[0].what, "`CLIENT KILL`");
        assert_eq!(assess_redis("  FUNCTION FLUSH  ").findings[0].range, 2..16);
    }

    #[test]
    fn never_panics_and_ranges_stay_in_bounds() {
        let scripts = [
            "ssh 'bash -c \"ssh h \\\"rm -rf /\\\"\"'",
            "bash -c",
            "sudo",
            "sudo -u",
            "psql -c",
            "redis-cli -h",
            "find -exec",
            "kill -s",
            "docker exec",
            "kubectl exec --",
            "ip netns exec",
            "é ü 日本 | 🚀 > 'ü'",
            "psql <<E\n\\\né\nE",
            "bash -c \"$(printf 'rm -rf /')\"",
        ];
        for script in scripts {
            for finding in shell(script).findings {
                assert!(script.get(finding.range.clone()).is_some(), "{script}: {finding:?}");
            }
        }
        let nest = |levels: usize| {
            (0..levels).fold("rm -rf /x".to_owned(), |inner, _| {
                format!("sh -c {}", shell::quote(&inner, shell::QuoteContext::Unquoted))
            })
        };
        let assessment = shell(&nest(5));
        assert_eq!(assessment.safety, Safety::Destructive);
        assert_eq!(assessment.findings[0].what, "`rm -rf`");
        let assessment = shell(&nest(MAX_NESTING + 2));
        assert_eq!(assessment.findings[0].what, "a deeply nested command");
        let unbalanced = "bash -c '".repeat(50) + "rm -rf /";
        assert!(safety(&unbalanced) >= Safety::Write);
    }
}
