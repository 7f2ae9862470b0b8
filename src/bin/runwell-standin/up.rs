//! `up`, `down`, `status`, `start` and `stop`: a lab's life cycle.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::examples::{self, Plan};
use crate::lab::{Lab, Part, State, write_private};
use crate::prepare;

pub fn up(example: &str, dir: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let exe = std::env::current_exe().context("cannot find the runwell-standin executable")?;
    let dir = std::path::absolute(dir)?;
    let plan = examples::plan(example, &dir)?;
    if let Ok(old) = Lab::load(&dir)
        && old.parts.iter().any(|p| matches!(p.state(), State::Running(_)))
    {
        bail!("a lab already runs in `{}`: `runwell-standin down --dir {}` first", dir.display(), dir.display());
    }
    for (tool, package) in &plan.tools {
        prepare::require(tool, package)?;
    }
    plan.lab.check_ports_free()?;
    fresh_dir(&dir)?;
    let lab = &plan.lab;
    lab.save()?;
    if let Err(error) = prepare_files(&plan, &exe).and_then(|()| start_all(&plan)) {
        for part in lab.parts.iter().rev() {
            part.stop();
        }
        return Err(error);
    }
    // The lab is up even if nobody reads this (`up … | head`).
    let _ = writeln!(std::io::stdout(), "{}", usage(lab, started.elapsed().as_secs_f64()));
    Ok(())
}

/// Empties a previous lab's directory; refuses one that holds anything else.
fn fresh_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let empty = fs::read_dir(dir)?.next().is_none();
        if !empty && !Lab::state_file(dir).exists() {
            bail!("`{}` is not empty and holds no stand-in lab: choose another --dir", dir.display());
        }
        fs::remove_dir_all(dir).with_context(|| format!("cannot clear `{}`", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    // PostgreSQL runs as another user and must reach its directory inside.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    for sub in ["bin", "libexec", "run", "log", "etc"] {
        fs::create_dir_all(dir.join(sub))?;
    }
    Ok(())
}

fn prepare_files(plan: &Plan, exe: &Path) -> anyhow::Result<()> {
    let lab = &plan.lab;
    let dir = &lab.dir;
    for (path, contents, private) in &plan.files {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        if *private { write_private(path, contents)? } else { fs::write(path, contents)? }
    }
    for key in &plan.keys {
        prepare::ed25519_key(key)?;
    }
    for (key, copy) in &plan.key_copies {
        if let Some(parent) = copy.parent() {
            fs::create_dir_all(parent)?;
            fs::set_permissions(parent, fs::Permissions::from_mode(0o700))?;
        }
        fs::copy(key, copy)?;
    }
    if plan.tls {
        prepare::certificates(&dir.join("tls"))?;
    }
    if !plan.nginx.is_empty() {
        prepare::nginx_conf(&dir.join("nginx"), &dir.join("tls"), &plan.nginx)?;
    }
    let user = prepare::service_user();
    if let Some(bouncer) = &plan.pgbouncer {
        let users: Vec<(&str, &str)> = bouncer.users.iter().map(|(u, p)| (u.as_str(), p.as_str())).collect();
        prepare::pgbouncer_conf(&dir.join("pgbouncer"), bouncer.port, bouncer.pg_port, &users, user.as_deref())?;
    }
    if let Some(pg) = &plan.postgres {
        prepare::init_cluster(&pg.dir, user.as_deref(), pg.password.is_some())?;
    }
    for part in lab.parts.iter().filter(|p| p.program.starts_with(dir.join("libexec"))) {
        std::os::unix::fs::symlink(exe, &part.program)?;
    }
    let quoted = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let mut shims = vec!["systemctl", "journalctl", "wg"];
    if lab.example == "sentinel-proxy" {
        shims.push("sentinel-proxy");
    }
    if lab.example == "service-template" {
        shims.extend(["cmctl", "kubectl"]);
    }
    for shim in shims {
        let dir_arg = if shim == "sentinel-proxy" { String::new() } else { format!(" --dir {}", quoted(dir)) };
        let path = dir.join("bin").join(shim);
        fs::write(
            &path,
            format!(
                "#!/bin/sh\n# `{shim}` for the runwell stand-in lab in this directory.\n\
                 exec {} {shim}{dir_arg} \"$@\"\n",
                quoted(exe)
            ),
        )?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
    }
    // The runbooks write `sudo systemctl …` as on a real host. In the lab
    // everything runs as the current user, and a real sudo would reset PATH
    // past the shims: run the command as it is (`-u USER` and the like are
    // dropped, there is only one user here).
    let sudo = dir.join("bin").join("sudo");
    fs::write(
        &sudo,
        "#!/bin/sh\n# `sudo` for the runwell stand-in lab: the lab runs as you already.\n\
         while [ $# -gt 0 ]; do\n  case \"$1\" in\n    -u|-g) shift 2 ;;\n    -E|-n|-H|-i) shift ;;\n    --) shift; break ;;\n    *) break ;;\n  esac\ndone\nexec \"$@\"\n",
    )?;
    fs::set_permissions(&sudo, fs::Permissions::from_mode(0o755))?;
    let mut env = format!(
        "# Source this to use the {} stand-in lab: its shims, and the secrets its runbook reads.\n\
         export PATH={}:\"$PATH\"\n",
        lab.example,
        quoted(&dir.join("bin")),
    );
    for (name, value) in &lab.secrets {
        let _ = writeln!(env, "export {name}={value}");
    }
    write_private(&dir.join("env"), &env)?;
    let sets: String = lab.paths.iter().map(|(name, value)| format!("{name}={value}\n")).collect::<Vec<_>>().concat();
    fs::write(dir.join("sets"), sets)?;
    Ok(())
}

fn start_all(plan: &Plan) -> anyhow::Result<()> {
    for part in &plan.lab.parts {
        part.start(&plan.lab)?;
        if let (Some(pg), "postgres") = (&plan.postgres, part.name.as_str()) {
            prepare::create_role_and_db(&pg.dir, pg.port, &pg.role, pg.password.as_deref())?;
        }
    }
    Ok(())
}

/// What `up` prints: the parts, and the commands to check the example against them.
fn usage(lab: &Lab, seconds: f64) -> String {
    let mut text = format!("{} stand-in lab is up in {} ({seconds:.1} s):\n", lab.example, lab.dir.display());
    for part in &lab.parts {
        let ports: Vec<String> = part.ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let _ = writeln!(text, "  {:<12} {:<20} {}", part.name, part.what, ports.join(" "));
    }
    let sets = if lab.dir == examples::default_dir(&lab.example) {
        String::new()
    } else {
        lab.paths.iter().map(|(name, value)| format!(" \\\n    --set {name}={value}")).collect::<Vec<_>>().concat()
    };
    let _ = write!(
        text,
        "\nCheck it:\n  . {}/env\n  runwell check examples/{}.md --env local{sets}\n\
         Stop it:\n  runwell-standin down --dir {}",
        lab.dir.display(),
        lab.example,
        lab.dir.display()
    );
    text
}

pub fn down(dir: &Path) -> anyhow::Result<()> {
    let lab = Lab::load(dir)?;
    for part in lab.parts.iter().rev() {
        if part.stop() {
            println!("stopped {}", part.name);
        }
    }
    Ok(())
}

pub fn status(dir: &Path) -> anyhow::Result<u8> {
    let lab = Lab::load(dir)?;
    let mut all_running = true;
    for part in &lab.parts {
        let state = match part.state() {
            State::Running(pid) => format!("running (pid {pid})"),
            State::Stopped => "stopped".to_owned(),
            State::Failed => "failed (its process is gone)".to_owned(),
        };
        all_running &= matches!(part.state(), State::Running(_));
        println!("{:<12} {:<20} {state}", part.name, part.what);
    }
    Ok(if all_running { 0 } else { 3 })
}

fn find<'a>(lab: &'a Lab, name: &str) -> anyhow::Result<&'a Part> {
    lab.part_for_unit(name).with_context(|| {
        let names: Vec<&str> = lab.parts.iter().map(|p| p.name.as_str()).collect();
        format!("the {} lab has no part `{name}`; its parts are: {}", lab.example, names.join(", "))
    })
}

pub fn start_one(dir: &Path, name: &str) -> anyhow::Result<()> {
    let lab = Lab::load(dir)?;
    let part = find(&lab, name)?;
    if matches!(part.state(), State::Running(_)) {
        return Ok(());
    }
    part.stop(); // a failed part may have left children behind
    let others = Lab { parts: vec![part.clone()], ..lab.clone() };
    others.check_ports_free()?;
    part.start(&lab)
}

pub fn stop_one(dir: &Path, name: &str) -> anyhow::Result<()> {
    let lab = Lab::load(dir)?;
    find(&lab, name)?.stop();
    Ok(())
}
