//! The five example runbooks' systems, as stand-in labs: which parts each is
//! made of, their loopback ports (the ranges the examples' `local`
//! environments name), and the files they need.
//!
//! Ports: tornado-vpn 17000–17099, push-gateway 17100–, axiomdb 17200–,
//! sentinel-proxy 17300–, service-template 17400–. Change one here and in
//! the example's `environments: local:` together.

use std::path::{Path, PathBuf};

use crate::lab::{Lab, Part, Ready};
use crate::prepare::{Site, pg_tool, secret, service_user};

pub const EXAMPLES: [&str; 5] = ["tornado-vpn", "push-gateway", "axiomdb", "sentinel-proxy", "service-template"];

/// Where a lab lives unless `--dir` says otherwise; the examples' `local` paths assume it.
pub fn default_dir(example: &str) -> PathBuf {
    PathBuf::from("/tmp/runwell-standin").join(example)
}

/// Everything `up` makes and starts for one example.
#[derive(Debug)]
pub struct Plan {
    pub lab: Lab,
    /// `(program, Debian package)` the lab cannot do without.
    pub tools: Vec<(&'static str, &'static str)>,
    pub postgres: Option<Postgres>,
    pub pgbouncer: Option<PgBouncer>,
    pub nginx: Vec<Site>,
    /// Make a CA and a certificate for `localhost` in `DIR/tls`.
    pub tls: bool,
    /// Ed25519 private keys to make.
    pub keys: Vec<PathBuf>,
    /// `(key, copy)`: a made key's copy where the lab's secret store keeps it
    /// (what an operator reinstalls the key from).
    pub key_copies: Vec<(PathBuf, PathBuf)>,
    /// Files to write: path, contents, whether only the owner may read it.
    pub files: Vec<(PathBuf, String, bool)>,
}

#[derive(Debug)]
pub struct Postgres {
    pub dir: PathBuf,
    pub port: u16,
    /// Role (and database of the same name) with its password, or trust auth without one.
    pub role: String,
    pub password: Option<String>,
}

#[derive(Debug)]
pub struct PgBouncer {
    pub port: u16,
    pub pg_port: u16,
    pub users: Vec<(String, String)>,
}

/// The plan for `example` in `dir`, with fresh secrets. Nothing is touched yet.
pub fn plan(example: &str, dir: &Path) -> anyhow::Result<Plan> {
    let mut plan = Plan {
        lab: Lab {
            example: example.to_owned(),
            dir: dir.to_owned(),
            parts: Vec::new(),
            secrets: Vec::new(),
            paths: Vec::new(),
        },
        tools: vec![("openssl", "openssl")],
        postgres: None,
        pgbouncer: None,
        nginx: Vec::new(),
        tls: false,
        keys: Vec::new(),
        key_copies: Vec::new(),
        files: Vec::new(),
    };
    let b = Builder { dir };
    match example {
        "tornado-vpn" => tornado(&mut plan, &b)?,
        "push-gateway" => push_gateway(&mut plan, &b)?,
        "axiomdb" => axiomdb(&mut plan, &b)?,
        "sentinel-proxy" => sentinel(&mut plan, &b),
        "service-template" => service_template(&mut plan, &b)?,
        _ => anyhow::bail!("there is no example `{example}`; the examples are: {}", EXAMPLES.join(", ")),
    }
    Ok(plan)
}

fn tornado(plan: &mut Plan, b: &Builder) -> anyhow::Result<()> {
    let (token, redis_password) = (secret()?, secret()?);
    plan.lab.secrets =
        vec![("TORNADO_ADMIN_TOKEN".into(), token.clone()), ("TORNADO_REDIS_PASSWORD".into(), redis_password.clone())];
    let pid_dir = b.path("run/tornado");
    plan.lab.paths = vec![
        ("key_dir".into(), b.path("keys").display().to_string()),
        ("pid_dir".into(), pid_dir.display().to_string()),
        ("export_dir".into(), b.path("exports").display().to_string()),
    ];
    b.postgres(plan, 17001, "tornado", None);
    // Session expiry needs expired-key events, as the runbook's check says.
    b.redis(plan, 17002, Some(&redis_password), "notify-keyspace-events Ex\n");
    let mut tornado = b.standin("tornado", "tornado", "tornado", &[("admin", 17003), ("client", 17004)]);
    tornado.pidfile = pid_dir.join("master.pid");
    tornado.env = vec![
        ("STANDIN_ADMIN_TOKEN".into(), token),
        ("STANDIN_REDIS".into(), "17002".into()),
        ("STANDIN_REDIS_PASSWORD".into(), redis_password),
        ("STANDIN_POSTGRES".into(), "17001".into()),
    ];
    plan.lab.parts.push(tornado);
    b.nginx(plan, vec![Site { port: 17005, tls: false, upstream: 17003 }]);
    plan.keys = vec![b.path("keys/jwt-current.pem")];
    plan.files.push((b.path("run/wg-interfaces"), "wg0 wg1\n".into(), false));
    Ok(())
}

fn push_gateway(plan: &mut Plan, b: &Builder) -> anyhow::Result<()> {
    let redis_password = secret()?;
    plan.lab.secrets = vec![("GATEWAY_REDIS_PASSWORD".into(), redis_password.clone())];
    plan.lab.paths = vec![
        ("env_file".into(), b.path("etc/gateway.env").display().to_string()),
        ("signer_key".into(), b.path("etc/response-signer.pem").display().to_string()),
        ("candidate_env".into(), b.path("etc/gateway.env.new").display().to_string()),
        ("signer_key_source".into(), b.path("secrets/response-signer.pem").display().to_string()),
    ];
    b.redis(plan, 17101, Some(&redis_password), "");
    let mut gateway = b.standin(
        "push-gateway",
        "push-gateway",
        "push-gateway",
        &[("public", 17102), ("grpc", 17103), ("admin", 17104)],
    );
    gateway.env =
        vec![("STANDIN_REDIS".into(), "17101".into()), ("STANDIN_REDIS_PASSWORD".into(), redis_password.clone())];
    plan.lab.parts.push(gateway);
    plan.keys = vec![b.path("etc/response-signer.pem")];
    // The secret store's copy, which the runbook reinstalls a broken key from.
    plan.key_copies = vec![(b.path("etc/response-signer.pem"), b.path("secrets/response-signer.pem"))];
    // The settings the gateway reads, named as the real one names them.
    let env = format!(
        "# push-gateway environment (stand-in lab)\n\
         GATEWAY_PUBLIC_HTTP_ADDR=127.0.0.1:17102\nGATEWAY_AUTHENTICATED_GRPC_ADDR=127.0.0.1:17103\n\
         GATEWAY_ADMIN_HTTP_ADDR=127.0.0.1:17104\nGATEWAY_REDIS_MASTER_ADDR=127.0.0.1:17101\n\
         GATEWAY_REDIS_PASSWORD={redis_password}\nGATEWAY_REDIS_DB=0\n\
         GATEWAY_SESSION_EVENTS_REDIS_STREAM=gateway:session-events\n\
         GATEWAY_CLIENT_EVENTS_REDIS_STREAM=gateway:client-events\n\
         GATEWAY_RESPONSE_SIGNER_PRIVATE_KEY_PEM_PATH={}\n",
        b.path("etc/response-signer.pem").display()
    );
    for name in ["etc/gateway.env", "etc/gateway.env.prev", "etc/gateway.env.new"] {
        plan.files.push((b.path(name), env.clone(), true));
    }
    Ok(())
}

fn axiomdb(plan: &mut Plan, b: &Builder) -> anyhow::Result<()> {
    let (db_password, admin_password) = (secret()?, secret()?);
    plan.lab.secrets = vec![
        ("AXIOMDB_DB_PASSWORD".into(), db_password.clone()),
        ("PGBOUNCER_ADMIN_PASSWORD".into(), admin_password.clone()),
    ];
    plan.lab.paths = vec![
        ("tls_ca".into(), b.path("tls/ca.pem").display().to_string()),
        ("pg_data_root".into(), b.path("pg").display().to_string()),
    ];
    b.postgres(plan, 17201, "axiomdb", Some(&db_password));
    plan.tools.push(("pgbouncer", "pgbouncer"));
    plan.pgbouncer = Some(PgBouncer {
        port: 17202,
        pg_port: 17201,
        users: vec![("pgbouncer".into(), admin_password), ("axiomdb".into(), db_password)],
    });
    plan.lab.parts.push(Part {
        args: vec![b.path("pgbouncer/pgbouncer.ini").display().to_string()],
        user: service_user(),
        ..b.part("pgbouncer", "real PgBouncer", "pgbouncer".into(), &[], 17202)
    });
    b.redis(plan, 17203, None, "");
    let mut gateway = b.standin("gateway", "axiomdb-gateway", "axiomdb-gateway", &[("api", 17204)]);
    gateway.units = vec!["axiomdb-gateway".into()];
    gateway.env = vec![("STANDIN_REDIS".into(), "17203".into()), ("STANDIN_POSTGRES".into(), "17202".into())];
    plan.lab.parts.push(gateway);
    let mut console = b.standin("ops-console", "axiomdb-ops", "axiomdb-ops", &[("api", 17205)]);
    console.units = vec!["axiomdb-ops".into()];
    plan.lab.parts.push(console);
    plan.tls = true;
    b.nginx(
        plan,
        vec![Site { port: 17206, tls: false, upstream: 17204 }, Site { port: 17207, tls: true, upstream: 17204 }],
    );
    Ok(())
}

fn sentinel(plan: &mut Plan, b: &Builder) {
    plan.lab.paths = vec![
        ("binary".into(), b.path("bin/sentinel-proxy").display().to_string()),
        ("config".into(), b.path("etc/config.kdl").display().to_string()),
        ("candidate".into(), b.path("etc/config.kdl.new").display().to_string()),
        ("pid_file".into(), b.path("run/sentinel.pid").display().to_string()),
        ("log_file".into(), b.path("log/sentinel/sentinel.log").display().to_string()),
        ("log_dir".into(), b.path("log/sentinel").display().to_string()),
    ];
    // The upstream pool's two targets, one service (unit `api-backend`) on two ports: what the
    // proxy's health checks probe and its requests go to; one can be drained while the other serves.
    plan.lab.parts.push(b.standin("api-backend", "api-backend", "api-backend", &[("api", 17303), ("api2", 17304)]));
    let mut proxy = b.standin("sentinel", "sentinel-proxy", "sentinel", &[("proxy", 17301), ("admin", 17302)]);
    proxy.env = vec![("STANDIN_CONFIG".into(), b.path("etc/config.kdl").display().to_string())];
    plan.lab.parts.push(proxy);
    let config = "// Sentinel configuration (stand-in lab)\nserver {\n    listen \"127.0.0.1:17301\"\n}\n\
                  metrics {\n    listen \"127.0.0.1:17302\"\n}\nupstreams {\n    upstream \"api-backend\" {\n\
                  \x20       target \"127.0.0.1:17303\" weight=1\n        target \"127.0.0.1:17304\" weight=1\n\
                  \x20       health-check interval=\"5s\"\n    }\n}\n";
    for name in ["etc/config.kdl", "etc/config.kdl.last-good", "etc/config.kdl.new"] {
        plan.files.push((b.path(name), config.to_owned(), false));
    }
    plan.files.push((b.path("log/sentinel/sentinel.log"), String::new(), false));
}

fn service_template(plan: &mut Plan, b: &Builder) -> anyhow::Result<()> {
    let db_password = secret()?;
    plan.lab.secrets = vec![("APP_DB_PASSWORD".into(), db_password.clone())];
    plan.lab.paths = vec![("tls_ca".into(), b.path("tls/ca.pem").display().to_string())];
    let mut app = b.standin("app", "app", "app", &[("api", 17401)]);
    app.env = vec![("STANDIN_REDIS".into(), "17403".into()), ("STANDIN_POSTGRES".into(), "17402".into())];
    b.postgres(plan, 17402, "app", Some(&db_password));
    b.redis(plan, 17403, None, "");
    plan.lab.parts.push(app);
    plan.tls = true;
    b.nginx(plan, vec![Site { port: 17404, tls: true, upstream: 17401 }]);
    // The app's deployment history (`kubectl rollout history`): the release it runs.
    plan.files.push((b.path("run/deployments/app"), "1 registry.example.com/app:1.4.0\n".into(), false));
    Ok(())
}

/// Makes parts with the lab's conventions: pid files in `DIR/run`, logs in `DIR/log`.
struct Builder<'a> {
    dir: &'a Path,
}

impl Builder<'_> {
    fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    fn part(&self, name: &str, what: &str, program: PathBuf, args: &[String], port: u16) -> Part {
        Part {
            name: name.to_owned(),
            what: what.to_owned(),
            units: Vec::new(),
            program,
            args: args.to_vec(),
            env: Vec::new(),
            user: None,
            pidfile: self.path("run").join(format!("{name}.pid")),
            stop_signal: "SIGTERM".into(),
            ports: vec![port],
            ready: Ready::Tcp(port),
        }
    }

    fn postgres(&self, plan: &mut Plan, port: u16, role: &str, password: Option<&str>) {
        plan.tools.extend([
            ("initdb", "postgresql"),
            ("postgres", "postgresql"),
            ("pg_isready", "postgresql"),
            ("psql", "postgresql-client"),
        ]);
        let dir = self.path("pg");
        plan.postgres =
            Some(Postgres { dir: dir.clone(), port, role: role.to_owned(), password: password.map(str::to_owned) });
        plan.lab.parts.push(Part {
            units: vec!["postgresql".into()],
            user: service_user(),
            stop_signal: "SIGINT".into(), // fast shutdown: clients are disconnected, not waited for
            ready: Ready::Postgres { port },
            ..self.part(
                "postgres",
                "real PostgreSQL",
                pg_tool("postgres"),
                &crate::prepare::postgres_args(&dir, port),
                port,
            )
        });
    }

    fn redis(&self, plan: &mut Plan, port: u16, password: Option<&str>, extra: &str) {
        plan.tools.push(("redis-server", "redis-server"));
        let conf = self.path("redis/redis.conf");
        let auth = password.map_or(String::new(), |p| format!("requirepass {p}\n"));
        let contents = format!(
            "# redis-server for a runwell stand-in lab: loopback only, nothing kept on disk.\nport {port}\n\
             bind 127.0.0.1\nsave \"\"\nappendonly no\ndir {}\nlogfile \"\"\n{auth}{extra}",
            self.path("redis").display()
        );
        plan.files.push((conf.clone(), contents, true));
        plan.lab.parts.push(Part {
            units: vec!["redis-server".into(), "redis".into()],
            ready: Ready::Redis { port, password: password.map(str::to_owned) },
            ..self.part("redis", "real redis-server", "redis-server".into(), &[conf.display().to_string()], port)
        });
    }

    fn nginx(&self, plan: &mut Plan, sites: Vec<Site>) {
        plan.tools.push(("nginx", "nginx"));
        let prefix = self.path("nginx");
        let args = [
            "-p",
            &prefix.display().to_string(),
            "-c",
            &prefix.join("nginx.conf").display().to_string(),
            "-e",
            &prefix.join("error.log").display().to_string(),
        ]
        .map(str::to_owned);
        let mut part = self.part("nginx", "real NGINX", "nginx".into(), &args, sites[0].port);
        part.ports = sites.iter().map(|s| s.port).collect();
        part.units = vec!["nginx".into()];
        plan.lab.parts.push(part);
        plan.nginx = sites;
    }

    /// A stand-in service of ours, run through `DIR/libexec/PROCESS` so its
    /// process name is the real service's (`/proc/PID/comm`, `argv[0]`).
    fn standin(&self, name: &str, process: &str, unit: &str, listeners: &[(&str, u16)]) -> Part {
        let mut args = vec![
            "serve".to_owned(),
            "--persona".into(),
            process.into(),
            "--dir".into(),
            self.dir.display().to_string(),
        ];
        for (role, port) in listeners {
            args.extend(["--listen".to_owned(), format!("{role}={port}")]);
        }
        Part {
            what: "stand-in".into(),
            units: vec![unit.to_owned()],
            ports: listeners.iter().map(|(_, p)| *p).collect(),
            ..self.part(name, "stand-in", self.path("libexec").join(process), &args, listeners[0].1)
        }
    }
}
