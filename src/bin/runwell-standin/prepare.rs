//! What a lab needs on disk before its parts start: a PostgreSQL cluster,
//! a CA and a certificate, Ed25519 keys, NGINX and PgBouncer configurations.
//! All of it is made with the real tools (`initdb`, `openssl`), so the
//! probes read the same kind of files a production host has.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::lab::{user_ids, write_private};

/// A PostgreSQL program: the newest installed major version's, else from PATH.
pub fn pg_tool(name: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| Some(e.ok()?.path().join("bin").join(name)))
        .filter(|p| p.exists())
        .collect();
    versions.sort_by_key(|p| {
        p.to_string_lossy().chars().filter(char::is_ascii_digit).collect::<String>().parse::<u32>().unwrap_or(0)
    });
    versions.pop().unwrap_or_else(|| PathBuf::from(name))
}

/// Fails with what to install when a tool the lab needs is missing.
pub fn require(tool: &str, package: &str) -> anyhow::Result<PathBuf> {
    let path = if matches!(tool, "initdb" | "postgres" | "pg_isready") { pg_tool(tool) } else { PathBuf::from(tool) };
    let found = if path.is_absolute() {
        path.exists().then_some(path)
    } else {
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .map(|dir| dir.join(tool))
            .find(|p| p.exists())
    };
    found.with_context(|| format!("`{tool}` is not installed: run `scripts/setup` (Debian package `{package}`)"))
}

/// Runs a command to completion, failing with its output when it fails.
pub fn run(command: &mut Command) -> anyhow::Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{}`", command.get_program().to_string_lossy()))?;
    if !output.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            command.get_program().to_string_lossy(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The user PostgreSQL and PgBouncer run as: `postgres` when we are root (they refuse root).
pub fn service_user() -> Option<String> {
    nix::unistd::geteuid().is_root().then(|| "postgres".to_owned())
}

/// Hands a path to the service user, so it can own its data directory.
pub fn give(path: &Path, user: Option<&str>) -> anyhow::Result<()> {
    if let Some(user) = user {
        let (uid, gid) = user_ids(user)?;
        nix::unistd::chown(path, Some(uid.into()), Some(gid.into()))
            .with_context(|| format!("cannot give `{}` to {user}", path.display()))?;
    }
    Ok(())
}

/// `initdb` a cluster in `dir/data` (sockets in `dir/sock`), password auth over TCP when asked.
pub fn init_cluster(dir: &Path, user: Option<&str>, password_auth: bool) -> anyhow::Result<()> {
    let data = dir.join("data");
    let sock = dir.join("sock");
    fs::create_dir_all(&sock)?;
    give(dir, user)?;
    give(&sock, user)?;
    let host_auth = if password_auth { "scram-sha-256" } else { "trust" };
    let mut initdb = Command::new(pg_tool("initdb"));
    initdb.args(["-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync", "--auth-local=trust"]);
    initdb.arg(format!("--auth-host={host_auth}")).arg("-D").arg(&data);
    if let Some(user) = user {
        let (uid, gid) = user_ids(user)?;
        std::os::unix::process::CommandExt::uid(&mut initdb, uid);
        std::os::unix::process::CommandExt::gid(&mut initdb, gid);
    }
    run(&mut initdb).context("initdb failed")?;
    Ok(())
}

/// The arguments that start a cluster made by [`init_cluster`] on `port`, loopback only.
pub fn postgres_args(dir: &Path, port: u16) -> Vec<String> {
    vec![
        "-D".into(),
        dir.join("data").display().to_string(),
        "-p".into(),
        port.to_string(),
        "-k".into(),
        dir.join("sock").display().to_string(),
        "-c".into(),
        "listen_addresses=127.0.0.1".into(),
        // A lab's data is disposable: skip the disk flushes that make start-up slow.
        "-c".into(),
        "fsync=off".into(),
        "-c".into(),
        "max_connections=50".into(),
    ]
}

/// Creates a login role and its own database, over the superuser's Unix socket.
pub fn create_role_and_db(dir: &Path, port: u16, role: &str, password: Option<&str>) -> anyhow::Result<()> {
    let password = password.map_or(String::new(), |p| format!(" PASSWORD '{}'", p.replace('\'', "''")));
    for sql in
        [format!("CREATE ROLE \"{role}\" LOGIN{password}"), format!("CREATE DATABASE \"{role}\" OWNER \"{role}\"")]
    {
        run(Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d", "postgres", "-h"])
            .arg(dir.join("sock"))
            .args(["-p", &port.to_string(), "-c", &sql]))
        .with_context(|| format!("cannot create the role and database `{role}`"))?;
    }
    Ok(())
}

/// A CA and a certificate for `localhost` and 127.0.0.1 signed by it, valid 90 days:
/// `dir/ca.pem`, `dir/server.pem`, `dir/server.key`.
pub fn certificates(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir)?;
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run(Command::new("openssl").current_dir(dir).args(["req", "-x509"]).args(ec).args([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "365",
        "-subj",
        "/CN=runwell stand-in CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]))?;
    run(Command::new("openssl").current_dir(dir).arg("req").args(ec).args([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]))?;
    fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )?;
    issue_server_certificate(dir, 90)?;
    fs::set_permissions(dir.join("server.key"), fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// Signs `dir/server.csr` with the lab's CA into `dir/server.pem`, valid
/// `days`: what `up` does, and what the template lab's `cmctl renew` does.
pub fn issue_server_certificate(dir: &Path, days: u32) -> anyhow::Result<()> {
    run(Command::new("openssl").current_dir(dir).args(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem"]).args([
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        &days.to_string(),
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]))?;
    Ok(())
}

/// An Ed25519 private key in PKCS#8 PEM, mode 0600, as `openssl genpkey` makes it.
pub fn ed25519_key(path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    run(Command::new("openssl").args(["genpkey", "-algorithm", "ed25519", "-out"]).arg(path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// An NGINX site: where it listens and what it serves.
#[derive(Debug)]
pub struct Site {
    pub port: u16,
    pub tls: bool,
    /// Requests other than `/health` go here.
    pub upstream: u16,
}

/// `dir/nginx.conf` for a foreground NGINX with everything under `dir`.
pub fn nginx_conf(dir: &Path, tls_dir: &Path, sites: &[Site]) -> anyhow::Result<PathBuf> {
    let prefix = dir.display();
    for temp in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        fs::create_dir_all(dir.join("tmp").join(temp))?;
    }
    let mut servers = String::new();
    for site in sites {
        let (ssl, tls) = if site.tls {
            (
                " ssl",
                format!(
                    "        ssl_certificate {0}/server.pem;\n        ssl_certificate_key {0}/server.key;\n",
                    tls_dir.display()
                ),
            )
        } else {
            ("", String::new())
        };
        let _ = write!(
            servers,
            "    server {{\n        listen 127.0.0.1:{port}{ssl};\n        server_name localhost;\n{tls}\
             \x20       location = /health {{ default_type text/plain; return 200 \"ok\\n\"; }}\n\
             \x20       location / {{ proxy_pass http://127.0.0.1:{upstream}; }}\n    }}\n",
            port = site.port,
            upstream = site.upstream,
        );
    }
    let conf = format!(
        "# NGINX for a runwell stand-in lab: foreground, loopback only, everything under {prefix}.\n\
         daemon off;\nmaster_process on;\nworker_processes 1;\npid {prefix}/nginx.pid;\n\
         error_log {prefix}/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n\
         \x20   access_log {prefix}/access.log;\n\
         \x20   client_body_temp_path {prefix}/tmp/body;\n    proxy_temp_path {prefix}/tmp/proxy;\n\
         \x20   fastcgi_temp_path {prefix}/tmp/fastcgi;\n    uwsgi_temp_path {prefix}/tmp/uwsgi;\n\
         \x20   scgi_temp_path {prefix}/tmp/scgi;\n{servers}}}\n"
    );
    let path = dir.join("nginx.conf");
    fs::write(&path, conf)?;
    Ok(path)
}

/// `dir/pgbouncer.ini` and its user list: session pooling in front of PostgreSQL on
/// `pg_port`, an admin console for `pgbouncer`, SCRAM for everyone.
pub fn pgbouncer_conf(
    dir: &Path,
    port: u16,
    pg_port: u16,
    users: &[(&str, &str)],
    owner: Option<&str>,
) -> anyhow::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    give(dir, owner)?;
    let userlist: String =
        users.iter().map(|(user, password)| format!("\"{user}\" \"{password}\"\n")).collect::<Vec<_>>().concat();
    let userlist_path = dir.join("userlist.txt");
    write_private(&userlist_path, &userlist)?;
    give(&userlist_path, owner)?;
    let ini = format!(
        "; PgBouncer for a runwell stand-in lab.\n[databases]\n* = host=127.0.0.1 port={pg_port}\n\n\
         [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
         auth_type = scram-sha-256\nauth_file = {}\nadmin_users = pgbouncer\nstats_users = pgbouncer\n\
         pool_mode = session\nignore_startup_parameters = extra_float_digits\n",
        userlist_path.display()
    );
    let path = dir.join("pgbouncer.ini");
    fs::write(&path, ini)?;
    give(&path, owner)?;
    Ok(path)
}

/// A random secret: 16 bytes from the kernel, in hex.
pub fn secret() -> anyhow::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().concat())
}
