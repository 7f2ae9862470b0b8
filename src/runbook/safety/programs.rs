//! Verdicts on programs judged by their name and arguments alone: the
//! read-only list, then process, file, version-control, infrastructure,
//! firewall and HTTP tools with a harmful mode.

use super::options::{Flag, Spec, collect_options, operands_skipping, short_cluster};
use super::verdict::{Verdict, code, is_harmless_sink, writes};
use crate::runbook::shell::Word;

/// Commands that only read, whatever their arguments (redirections aside).
pub(super) const READ_ONLY: &[&str] = &[
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

pub(super) fn kill(name: &str, args: &[&str]) -> Verdict {
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

pub(super) fn rm(args: &[&str]) -> Verdict {
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

pub(super) fn sed(args: &[&str]) -> Verdict {
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

pub(super) fn git(args: &[&str]) -> Verdict {
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

pub(super) fn docker_compose(name: &str, args: &[&str]) -> Verdict {
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

pub(super) fn helm(args: &[&str]) -> Verdict {
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

pub(super) fn terraform(name: &str, args: &[&str]) -> Verdict {
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

pub(super) fn aws(args: &[&str]) -> Verdict {
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

pub(super) fn gcloud(args: &[&str]) -> Verdict {
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

pub(super) fn journalctl(args: &[&str]) -> Verdict {
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

pub(super) fn iptables(name: &str, args: &[&str]) -> Verdict {
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

pub(super) fn nft(args: &[&str]) -> Verdict {
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

pub(super) fn ufw(args: &[&str]) -> Verdict {
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

pub(super) fn curl(args: &[&str]) -> Verdict {
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

pub(super) fn wget(args: &[&str]) -> Verdict {
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

pub(super) fn openssl(args: &[&str]) -> Verdict {
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

pub(super) fn nginx(name: &str, args: &[&str]) -> Verdict {
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
