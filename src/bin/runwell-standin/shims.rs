//! Shims for the tools a runbook calls that this container cannot run for
//! real: `systemctl` (there is no systemd here), `journalctl` (no journal),
//! `wg` (no WireGuard interfaces), `sentinel-proxy --validate`, and for the
//! template's lab `cmctl renew` and `kubectl describe certificate` (no
//! Kubernetes, no cert-manager). `DIR/bin` holds a small
//! script for each that calls back into this binary with the lab's directory.
//!
//! They answer from the lab's state, so a drill that stops a part or kills
//! its process sees the same thing `systemctl` would show on a real host.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use nix::sys::signal::Signal;

use crate::lab::{Lab, Part, State};

/// `systemctl show|is-active|is-enabled|status|start|stop|restart|reload UNIT…`.
pub fn systemctl(dir: &Path, args: &[String]) -> anyhow::Result<u8> {
    let lab = Lab::load(dir)?;
    let mut properties: Vec<String> = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if let Some(list) = arg.strip_prefix("--property=") {
            properties.extend(list.split(',').map(str::to_owned));
        } else if arg == "-p" || arg == "--property" {
            properties.extend(iter.next().into_iter().flat_map(|l| l.split(',')).map(str::to_owned));
        } else if !arg.starts_with('-') {
            words.push(arg);
        }
    }
    let Some((&verb, units)) = words.split_first() else {
        eprintln!("systemctl (runwell stand-in): give a command and a unit");
        return Ok(1);
    };
    let mut code = 0;
    for unit in units {
        let part = lab.part_for_unit(unit);
        let name = unit.strip_suffix(".service").unwrap_or(unit);
        code = code.max(match (verb, part) {
            ("show", _) => show(name, part, &properties),
            ("is-active", Some(part)) => {
                let (active, _) = states(part.state());
                println!("{active}");
                if active == "active" { 0 } else { 3 }
            }
            ("is-active", None) => {
                println!("inactive");
                3
            }
            ("is-failed", Some(part)) => u8::from(part.state() != State::Failed),
            ("is-enabled", Some(_)) => {
                println!("enabled");
                0
            }
            ("status", Some(part)) => status(name, part),
            ("start" | "stop" | "restart" | "try-restart" | "reload" | "reload-or-restart", Some(part)) => {
                control(verb, name, part, &lab)
            }
            ("daemon-reload", _) => 0,
            (_, None) => {
                eprintln!("Unit {name}.service could not be found.");
                if verb == "status" { 4 } else { 5 }
            }
            (verb, Some(_)) => {
                eprintln!("systemctl (runwell stand-in): `{verb}` is not supported; use show, is-active, status, start, stop, restart or reload");
                1
            }
        });
    }
    Ok(code)
}

/// `(ActiveState, SubState)` as systemd names them.
fn states(state: State) -> (&'static str, &'static str) {
    match state {
        State::Running(_) => ("active", "running"),
        State::Stopped => ("inactive", "dead"),
        State::Failed => ("failed", "failed"),
    }
}

fn show(name: &str, part: Option<&Part>, wanted: &[String]) -> u8 {
    let state = part.map_or(State::Stopped, Part::state);
    let (active, sub) = states(state);
    let pid = if let State::Running(pid) = state { pid } else { 0 };
    let since = match (state, part.and_then(Part::started)) {
        (State::Running(_), Some(time)) => timestamp(time),
        _ => String::new(),
    };
    let all = [
        ("Id", format!("{name}.service")),
        ("LoadState", if part.is_some() { "loaded" } else { "not-found" }.to_owned()),
        ("ActiveState", active.to_owned()),
        ("SubState", sub.to_owned()),
        ("UnitFileState", if part.is_some() { "enabled" } else { "" }.to_owned()),
        ("MainPID", pid.to_string()),
        ("ActiveEnterTimestamp", since),
        ("Description", part.map_or(String::new(), |p| format!("{} ({} in the runwell stand-in lab)", name, p.what))),
    ];
    for (key, value) in &all {
        if wanted.is_empty() || wanted.iter().any(|w| w == key) {
            println!("{key}={value}");
        }
    }
    0
}

/// `Tue 2024-05-14 10:00:00 UTC`, systemd's timestamp format.
fn timestamp(time: std::time::SystemTime) -> String {
    jiff::Timestamp::try_from(time).map(|t| t.strftime("%a %Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_default()
}

fn status(name: &str, part: &Part) -> u8 {
    let state = part.state();
    let (active, sub) = states(state);
    println!("● {name}.service - {} (runwell stand-in lab)", part.what);
    println!("     Loaded: loaded (runwell-standin; enabled)");
    let since = part.started().map(timestamp).unwrap_or_default();
    println!(
        "     Active: {active} ({sub}){}",
        if since.is_empty() { String::new() } else { format!(" since {since}") }
    );
    if let State::Running(pid) = state {
        println!("   Main PID: {pid} ({})", part.program.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
    }
    if active == "active" { 0 } else { 3 }
}

fn control(verb: &str, name: &str, part: &Part, lab: &Lab) -> u8 {
    let running = matches!(part.state(), State::Running(_));
    let result = match verb {
        "stop" => {
            part.stop();
            Ok(())
        }
        "start" if running => Ok(()),
        "try-restart" if !running => Ok(()),
        // Redis has no reload; everything else here rereads its configuration on SIGHUP.
        "reload" if part.name == "redis" => {
            Err(anyhow::anyhow!("Job type reload is not applicable for unit {name}.service."))
        }
        "reload" | "reload-or-restart" if running && part.name != "redis" => part.signal(Signal::SIGHUP),
        _ => {
            part.stop();
            part.start(lab)
        }
    };
    match result {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("Job for {name}.service failed: {error:#}");
            1
        }
    }
}

/// `wg show interfaces` and `wg show`: the interfaces the Tornado stand-in's
/// WireGuard manager brought up (`DIR/run/wg-interfaces`), while it runs.
pub fn wg(dir: &Path, args: &[String]) -> anyhow::Result<u8> {
    let lab = Lab::load(dir)?;
    let up = lab.part_for_unit("tornado").is_some_and(|p| matches!(p.state(), State::Running(_)));
    let interfaces =
        if up { fs::read_to_string(dir.join("run/wg-interfaces")).unwrap_or_default() } else { String::new() };
    let interfaces: Vec<&str> = interfaces.split_whitespace().collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["show", "interfaces"] => {
            if !interfaces.is_empty() {
                println!("{}", interfaces.join(" "));
            }
            Ok(0)
        }
        ["show"] | [] => {
            for interface in interfaces {
                println!("interface: {interface}\n  listening port: 51820\n");
            }
            Ok(0)
        }
        _ => {
            eprintln!("wg (runwell stand-in): only `wg show` and `wg show interfaces` are supported");
            Ok(1)
        }
    }
}

/// `journalctl -u UNIT [--since …] [--no-pager] [-n N]`: the log the lab's
/// part for UNIT writes (`DIR/log/PART.log`), oldest first. `--since` is
/// accepted and ignored: the lab's logs are as young as the lab.
pub fn journalctl(dir: &Path, args: &[String]) -> anyhow::Result<u8> {
    let lab = Lab::load(dir)?;
    let mut units = Vec::new();
    let mut lines: Option<usize> = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-u" | "--unit" => units.extend(iter.next().cloned()),
            "-n" | "--lines" => lines = iter.next().and_then(|n| n.parse().ok()),
            "--since" | "--until" | "-o" | "--output" => {
                iter.next();
            }
            other => {
                if let Some(unit) = other.strip_prefix("--unit=") {
                    units.push(unit.to_owned());
                }
            }
        }
    }
    for unit in &units {
        let Some(part) = lab.part_for_unit(unit) else {
            eprintln!("-- No entries for {unit} --");
            continue;
        };
        let text = fs::read_to_string(dir.join("log").join(format!("{}.log", part.name))).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let from = lines.map_or(0, |n| all.len().saturating_sub(n));
        for line in &all[from..] {
            println!("{line}");
        }
    }
    Ok(0)
}

/// `cmctl renew [-n NAMESPACE] CERTIFICATE`: what cert-manager does for a
/// forced renewal in the template's lab — the lab's CA issues NGINX's
/// certificate again (90 days) and NGINX reloads it.
pub fn cmctl(dir: &Path, args: &[String]) -> anyhow::Result<u8> {
    let (namespace, names) = namespace_and_words(args);
    let [verb, certificate] = names.as_slice() else {
        eprintln!("cmctl (runwell stand-in): only `cmctl renew CERTIFICATE` is stood up in this lab");
        return Ok(1);
    };
    if *verb != "renew" {
        eprintln!("cmctl (runwell stand-in): `{verb}` is not stood up in this lab; `renew` is");
        return Ok(1);
    }
    crate::prepare::issue_server_certificate(&dir.join("tls"), 90)?;
    let lab = Lab::load(dir)?;
    let nginx =
        lab.part_for_unit("nginx").ok_or_else(|| anyhow::anyhow!("the lab has no NGINX to serve the certificate"))?;
    nginx.signal(Signal::SIGHUP)?;
    println!("Manually triggered issuance of Certificate {namespace}/{certificate}");
    Ok(0)
}

/// `kubectl` in the template's lab: `describe certificate NAME` (the
/// certificate NGINX serves, as cert-manager's status shows it), `rollout
/// restart|status|history|undo deployment/NAME` and `set image
/// deployment/NAME CONTAINER=IMAGE` (the lab part whose unit is NAME,
/// restarted as a rollout would replace its pods; its revisions, oldest
/// first, in `DIR/run/deployments/NAME`), and `logs -l app=NAME` (the
/// part's log).
pub fn kubectl(dir: &Path, args: &[String]) -> anyhow::Result<u8> {
    let (namespace, words) = namespace_and_words(args);
    let deployment = |target: &str| {
        let name = target.strip_prefix("deployment/").or_else(|| target.strip_prefix("deploy/")).unwrap_or(target);
        name.to_owned()
    };
    match words.as_slice() {
        ["describe", "certificate" | "certificates" | "cert", name] => describe_certificate(dir, namespace, name),
        ["rollout", verb @ ("restart" | "status" | "history" | "undo"), target] => {
            rollout(dir, verb, &deployment(target))
        }
        ["set", "image", target, assignment] => {
            let Some((_, image)) = assignment.split_once('=') else {
                eprintln!("error: give the image as CONTAINER=IMAGE");
                return Ok(1);
            };
            deploy(dir, &deployment(target), image, "image updated")
        }
        // `-l app=NAME`: the flag is dropped with the others, its value stays.
        ["logs", selector] => {
            let name = selector.strip_prefix("app=").unwrap_or(selector);
            journalctl(dir, &["-u".to_owned(), name.to_owned()])
        }
        _ => {
            eprintln!(
                "kubectl (runwell stand-in): only `describe certificate NAME`, `rollout \
                 restart|status|history|undo deployment/NAME`, `set image deployment/NAME C=IMAGE` and \
                 `logs -l app=NAME` are stood up in this lab"
            );
            Ok(1)
        }
    }
}

fn rollout(dir: &Path, verb: &str, name: &str) -> anyhow::Result<u8> {
    let lab = Lab::load(dir)?;
    let Some(part) = lab.part_for_unit(name) else {
        eprintln!("Error from server (NotFound): deployments.apps \"{name}\" not found");
        return Ok(1);
    };
    match verb {
        "restart" => {
            let code = control("restart", name, part, &lab);
            if code == 0 {
                println!("deployment.apps/{name} restarted");
            }
            Ok(code)
        }
        "status" if matches!(part.state(), State::Running(_)) => {
            println!("deployment \"{name}\" successfully rolled out");
            Ok(0)
        }
        "status" => {
            eprintln!("error: deployment \"{name}\" exceeded its progress deadline");
            Ok(1)
        }
        "history" => {
            println!("deployment.apps/{name}\nREVISION  CHANGE-CAUSE");
            for (revision, image) in revisions(dir, name) {
                println!("{revision:<9} kubectl set image deployment/{name} {name}={image}");
            }
            Ok(0)
        }
        // As Kubernetes does: the previous revision's template becomes the
        // newest revision, and its old number leaves the history.
        _ => {
            let mut history = revisions(dir, name);
            let Some(previous) = history.len().checked_sub(2).map(|i| history.remove(i)) else {
                eprintln!("error: no rollout history found for deployment \"{name}\"");
                return Ok(1);
            };
            write_revisions(dir, name, &history)?;
            deploy(dir, name, &previous.1, "rolled back")
        }
    }
}

/// A new revision running `image`, its pods replaced.
fn deploy(dir: &Path, name: &str, image: &str, what: &str) -> anyhow::Result<u8> {
    let lab = Lab::load(dir)?;
    let Some(part) = lab.part_for_unit(name) else {
        eprintln!("Error from server (NotFound): deployments.apps \"{name}\" not found");
        return Ok(1);
    };
    let mut history = revisions(dir, name);
    let next = history.iter().map(|(revision, _)| revision + 1).max().unwrap_or(1);
    history.push((next, image.to_owned()));
    write_revisions(dir, name, &history)?;
    let code = control("restart", name, part, &lab);
    if code == 0 {
        println!("deployment.apps/{name} {what}");
    }
    Ok(code)
}

/// `(revision, image)` of a deployment, oldest first.
pub fn revisions(dir: &Path, name: &str) -> Vec<(u32, String)> {
    let text = fs::read_to_string(dir.join("run/deployments").join(name)).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (revision, image) = line.split_once(' ')?;
            Some((revision.parse().ok()?, image.trim().to_owned()))
        })
        .collect()
}

fn write_revisions(dir: &Path, name: &str, history: &[(u32, String)]) -> anyhow::Result<()> {
    let mut text = String::new();
    for (revision, image) in history {
        let _ = writeln!(text, "{revision} {image}");
    }
    fs::write(dir.join("run/deployments").join(name), text)?;
    Ok(())
}

fn describe_certificate(dir: &Path, namespace: &str, name: &str) -> anyhow::Result<u8> {
    let output = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-enddate", "-issuer", "-in"])
        .arg(dir.join("tls/server.pem"))
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)).unwrap_or("?").trim().to_owned();
    println!(
        "Name:         {name}\nNamespace:    {namespace}\nKind:         Certificate\nSpec:\n  Dns Names:\n    localhost\n\
         \x20 Issuer Ref:   {}\nStatus:\n  Conditions:\n    Type:    Ready\n    Status:  True\n  Not After:  {}",
        field("issuer="),
        field("notAfter=")
    );
    Ok(0)
}

/// `-n NS` / `--namespace NS` / `--namespace=NS` out of `args`, and the other words.
fn namespace_and_words(args: &[String]) -> (&str, Vec<&str>) {
    let mut namespace = "default";
    let mut words = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "-n" || arg == "--namespace" {
            namespace = iter.next().map_or("", String::as_str);
        } else if let Some(ns) = arg.strip_prefix("--namespace=") {
            namespace = ns;
        } else if !arg.starts_with('-') {
            words.push(arg.as_str());
        }
    }
    (namespace, words)
}

/// `sentinel-proxy --validate --config FILE`: a KDL well-formedness check
/// (strings closed, braces balanced) plus the nodes Sentinel requires.
pub fn sentinel_proxy(args: &[String]) -> u8 {
    let config = args.windows(2).find(|w| w[0] == "--config" || w[0] == "-c").map(|w| w[1].clone());
    let (true, Some(config)) = (args.iter().any(|a| a == "--validate"), config) else {
        eprintln!("sentinel-proxy (runwell stand-in): only `--validate --config FILE` is supported");
        return 2;
    };
    let text = match fs::read_to_string(&config) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: cannot read {config}: {error}");
            return 1;
        }
    };
    match validate_kdl(&text) {
        Ok(()) => {
            println!("configuration OK: {config}");
            0
        }
        Err(message) => {
            eprintln!("error: {config}: {message}");
            1
        }
    }
}

pub fn validate_kdl(text: &str) -> Result<(), String> {
    let mut depth = 0usize;
    for (number, line) in text.lines().enumerate() {
        let mut in_string = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if in_string => {
                    chars.next();
                }
                '"' => in_string = !in_string,
                '/' if !in_string && chars.peek() == Some(&'/') => break,
                '{' if !in_string => depth += 1,
                '}' if !in_string => {
                    depth = depth.checked_sub(1).ok_or(format!("line {}: `}}` closes nothing", number + 1))?;
                }
                _ => {}
            }
        }
        if in_string {
            return Err(format!("line {}: unterminated string", number + 1));
        }
    }
    if depth > 0 {
        return Err(format!("{depth} `{{` never closed"));
    }
    for node in ["server", "upstreams"] {
        if !text.lines().any(|l| l.trim_start().starts_with(node)) {
            return Err(format!("no `{node}` block"));
        }
    }
    Ok(())
}
