//! The examples' procedures run end to end against their stand-in labs:
//! a controlled restart, a full-stack recovery in dependency order, an
//! incident's diagnosis and resolution, a maintenance checklist — with the
//! journal, dry-run and resume shown on real runs.

use std::path::Path;
use std::process::{Command, Output};

use runwell::journal::{Event, SqliteStore, Status, StepOutcome, Store};

use crate::labs::{Lab, take_turn};
use crate::test::finished_steps as steps;

/// A finished command's exit status and output, for assertion messages.
fn ran(output: &Output) -> (i32, String) {
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

fn main_pid(lab: &Lab, unit: &str) -> String {
    let output =
        Command::new(lab.path().join("bin/systemctl")).args(["show", unit, "--property=MainPID"]).output().unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn systemctl(lab: &Lab, args: &[&str]) {
    let output = Command::new(lab.path().join("bin/systemctl")).args(args).output().unwrap();
    assert!(output.status.success(), "systemctl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// The state of every check result of `run`, as `name=state`.
fn checks(store: &SqliteStore, run: i64) -> Vec<String> {
    store
        .events(run)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::CheckResult { name, status, .. } => Some(format!("{name}={status}")),
            _ => None,
        })
        .collect()
}

fn journal(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join("journal.db")).unwrap()
}

#[test]
fn tornado_controlled_restart_dry_runs_then_restarts_behind_its_gates() {
    let _turn = take_turn();
    let lab = Lab::up("tornado-vpn");
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("journal.db");
    let db = db.to_str().unwrap();
    let before = main_pid(&lab, "tornado");

    // A dry run checks the dependencies and the gates, and restarts nothing.
    let output = lab.runwell("run", "tornado-vpn", &["controlled-restart", "--db", db, "--dry-run"]).output().unwrap();
    let (code, text) = ran(&output);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("sudo systemctl restart tornado\n(dry run: not run, it is a write step)"), "{text}");
    assert_eq!(main_pid(&lab, "tornado"), before, "a dry run restarts nothing");
    let store = journal(work.path());
    assert!(steps(&store, 1).contains(&("restart-tornado".to_owned(), StepOutcome::DryRun)));

    // Without a terminal, the confirmation needs --yes; then it restarts.
    let output = lab.runwell("run", "tornado-vpn", &["controlled-restart", "--db", db]).output().unwrap();
    let (code, text) = ran(&output);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("Restart tornado.service? Live tunnels will drop."), "the runbook's own question: {text}");
    assert_eq!(main_pid(&lab, "tornado"), before);

    let output = lab
        .runwell("run", "tornado-vpn", &["controlled-restart", "--db", db, "--yes", "--operator", "alice"])
        .output()
        .unwrap();
    let (code, text) = ran(&output);
    assert_eq!(code, 0, "{text}");
    assert_ne!(main_pid(&lab, "tornado"), before, "tornado was restarted");
    let store = journal(work.path());
    assert_eq!(store.run(3).unwrap().status, Status::Succeeded);
    let outcomes = steps(&store, 3);
    assert!(outcomes.iter().all(|(_, o)| *o == StepOutcome::Succeeded), "{outcomes:?}");
    let ids: Vec<&str> = outcomes.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert_eq!(ids[1], "restart-tornado");
    // The gate after the restart saw the APIs answer.
    let states = checks(&store, 3);
    for wanted in ["postgres-ready=ok", "redis-ping=ok", "admin-api=ok", "client-api=ok", "wireguard-interfaces=ok"] {
        assert!(states.iter().any(|s| s == wanted), "{wanted} in {states:?}");
    }
    // The transcript ran its commands: the recorded output is the live answer.
    let transcript = store.step_output(3, 4, runwell::journal::Stream::Stdout).unwrap();
    let transcript = String::from_utf8_lossy(&transcript.head);
    assert!(transcript.contains("active\n") && transcript.contains("\"status\":\"healthy\""), "{transcript}");
    assert!(store.verify().unwrap().is_intact());

    // The post-incident record: the runbook as it ran, checks before and after.
    let output = crate::test::runwell().args(["report", "3", "--db", db]).output().unwrap();
    let (code, report) = ran(&output);
    assert_eq!(code, 0, "{report}");
    assert!(report.starts_with("# tornado-vpn › controlled-restart — run 3\n"), "{report}");
    assert!(report.contains("- **Status:** succeeded"), "{report}");
    let before = report.find("**Before** the first change").expect("checks before the restart");
    let after = report.find("**After** the last change").expect("checks after the restart");
    assert!(report[before..after].contains("redis-ping"), "{report}");
    assert!(report[after..].contains("admin-api"), "{report}");
    assert!(report.contains("**`restart-tornado` succeeded** · exit code 0"), "{report}");
    assert!(report.contains("confirmed by **alice** (`--yes`)"), "who confirmed, and how: {report}");
}

#[test]
fn tornado_recovers_in_dependency_order_and_a_failed_run_resumes_where_it_stopped() {
    let _turn = take_turn();
    let lab = Lab::up("tornado-vpn");
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("journal.db");
    let db = db.to_str().unwrap();

    // Redis is down: the controlled restart stops at its first gate, before
    // restarting anything.
    systemctl(&lab, &["stop", "redis-server"]);
    let before = main_pid(&lab, "tornado");
    let output = lab.runwell("run", "tornado-vpn", &["controlled-restart", "--db", db, "--yes"]).output().unwrap();
    let (code, text) = ran(&output);
    assert_eq!(code, 1, "{text}");
    assert_eq!(main_pid(&lab, "tornado"), before, "never restarted on top of a broken Redis");
    let store = journal(work.path());
    let (gate, outcome) = steps(&store, 1).remove(0);
    assert_eq!(outcome, StepOutcome::Failed);
    assert!(checks(&store, 1).contains(&"redis-ping=critical".to_owned()));

    // The operator brings Redis back and resumes at the failed gate.
    systemctl(&lab, &["start", "redis-server"]);
    let output = lab
        .runwell("run", "tornado-vpn", &["controlled-restart", "--db", db, "--yes", "--from", &gate])
        .output()
        .unwrap();
    let (code, text) = ran(&output);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&format!("resumes run 1 at step `{gate}`")), "{text}");
    let store = journal(work.path());
    assert_eq!(store.run(2).unwrap().info.resumed_from, Some(1));
    assert_eq!(store.run(2).unwrap().status, Status::Succeeded);

    // After a crash of the data stores, the recovery procedure brings the
    // stack back tier by tier; every check is green again.
    systemctl(&lab, &["stop", "postgresql", "redis-server"]);
    let (status, _, _) = lab.check("tornado-vpn");
    assert_eq!(status, 2, "the matrix sees the outage");
    let output = lab.runwell("run", "tornado-vpn", &["full-stack-recovery", "--db", db, "--yes"]).output().unwrap();
    let (code, text) = ran(&output);
    assert_eq!(code, 0, "{text}");
    let ids: Vec<String> = steps(&journal(work.path()), 3).into_iter().map(|(id, _)| id).collect();
    let at = |id: &str| ids.iter().position(|s| s == id).unwrap_or_else(|| panic!("{id} in {ids:?}"));
    assert!(at("start-datastores") < at("start-tornado") && at("start-tornado") < at("start-edge"), "{ids:?}");
    let (status, _, stdout) = lab.check("tornado-vpn");
    assert_eq!(status, 0, "{stdout}");
}

#[test]
fn tornado_services_start_in_tiers_from_the_front_matter_graph() {
    let _turn = take_turn();
    let lab = Lab::up("tornado-vpn");
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("journal.db");
    systemctl(&lab, &["stop", "postgresql", "redis-server"]);
    let output = lab.runwell("start", "tornado-vpn", &["--db", db.to_str().unwrap(), "--yes"]).output().unwrap();
    let (code, text) = ran(&output);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("tier 1: postgres, redis\n  tier 2: tornado\n  tier 3: nginx\n"), "{text}");
    let ids: Vec<String> = steps(&journal(work.path()), 1).into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids,
        [
            "start-postgres",
            "start-redis",
            "healthy-postgres-redis",
            "start-tornado",
            "healthy-tornado",
            "start-nginx",
            "healthy-nginx"
        ]
    );
    let (status, _, stdout) = lab.check("tornado-vpn");
    assert_eq!(status, 0, "{stdout}");
}

#[test]
fn push_gateway_maintenance_checklist_is_acknowledged_item_by_item() {
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("journal.db");
    let runbook = crate::test::root().join("examples/push-gateway.md");
    let run = |extra: &[&str]| {
        crate::test::runwell()
            .args(["run", runbook.to_str().unwrap(), "maintenance-checklist", "--db", db.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap()
    };
    let (code, text) = ran(&run(&[]));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("no terminal to ask on; pass --ack to answer"), "{text}");

    let (code, text) = ran(&run(&["--ack", "--operator", "alice"]));
    assert_eq!(code, 0, "{text}");
    let store = SqliteStore::open(&db).unwrap();
    let acknowledged: Vec<(String, String)> = store
        .events(2)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::Acknowledged { item, by, .. } => Some((item, by)),
            _ => None,
        })
        .collect();
    assert_eq!(acknowledged.len(), 5);
    assert!(acknowledged.iter().all(|(_, by)| by == "alice"));
    assert_eq!(acknowledged[0].0, "Confirm the signer key file is readable only by the gateway user");
}

/// `redis-cli` against the Tornado lab's Redis, as the lab's admin.
fn tornado_redis(lab: &Lab, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-p", "17002", "--no-auth-warning", "-a", &lab.secret("TORNADO_REDIS_PASSWORD")])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn tornado_sessions_incident_gathers_evidence_then_fixes_redis_and_verifies() {
    let _turn = take_turn();
    let lab = Lab::up("tornado-vpn");
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("journal.db");
    let db = db.to_str().unwrap();

    // The fault: keyspace notifications off, so expired sessions are never cleaned up.
    assert_eq!(tornado_redis(&lab, &["CONFIG", "SET", "notify-keyspace-events", ""]), "OK\n");
    let (status, report, _) = lab.check("tornado-vpn");
    assert_eq!(status, 2);
    let events = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "redis-keyspace-events").unwrap();
    assert_eq!(events["status"], "critical", "{events}");

    let output = lab
        .runwell("run", "tornado-vpn", &["incident-sessions-keep-dropping", "--db", db, "--yes", "--ack"])
        .output()
        .unwrap();
    let (code, text) = ran(&output);
    assert_eq!(code, 0, "{text}");
    let store = journal(work.path());
    let outcomes = steps(&store, 1);
    // The opening checks record the fault (and go on); every other step succeeded.
    let (opening, rest) = outcomes.split_first().expect("steps ran");
    assert_eq!(opening, &("sessions-now".to_owned(), StepOutcome::Failed), "{outcomes:?}");
    assert!(checks(&store, 1).contains(&"redis-keyspace-events=critical".to_owned()));
    assert!(rest.iter().all(|(_, o)| *o == StepOutcome::Succeeded), "{outcomes:?}");
    let output_of = |id: &str| {
        let number = store
            .events(1)
            .unwrap()
            .into_iter()
            .find_map(|r| match r.event {
                Event::StepStarted { step, id: started, .. } if started == id => Some(step),
                _ => None,
            })
            .unwrap_or_else(|| panic!("step {id} ran"));
        let out = store.step_output(1, number, runwell::journal::Stream::Stdout).unwrap();
        String::from_utf8_lossy(&out.head).into_owned()
    };
    // The evidence is in the journal: the flags were empty, the session
    // service's log counted its endings, the API's TTLs.
    assert_eq!(output_of("keyspace-events"), "1) \"notify-keyspace-events\"\n2) \"\"\n");
    let reasons = output_of("session-end-reasons");
    assert!(reasons.contains("2 heartbeat_lost") && reasons.contains("1 hard_cleanup"), "{reasons}");
    assert!(output_of("session-ttl-config").contains("\"heartbeat_ttl\":90"));
    // The resolution ran, and the gate saw it take.
    assert!(tornado_redis(&lab, &["CONFIG", "GET", "notify-keyspace-events"]).contains('E'));
    assert!(checks(&store, 1).contains(&"redis-keyspace-events=ok".to_owned()));
    let (status, _, stdout) = lab.check("tornado-vpn");
    assert_eq!(status, 0, "{stdout}");
    // The admin token used by the HTTP step never reached the journal.
    let token = lab.secret("TORNADO_ADMIN_TOKEN");
    let report = crate::test::runwell().args(["report", "1", "--db", db]).output().unwrap();
    let (code, report) = ran(&report);
    assert_eq!(code, 0, "{report}");
    assert!(!token.is_empty() && !report.contains(&token), "the token is masked");
    assert!(
        report.contains("Authorization: Bearer ********") || report.contains("Bearer {{ admin_token }}"),
        "{report}"
    );
    assert!(report.contains("2 heartbeat_lost"), "{report}");
}

#[test]
fn tornado_routine_maintenance_queries_the_database_and_records_each_item() {
    let _turn = take_turn();
    let lab = Lab::up("tornado-vpn");
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("journal.db");
    let output = lab
        .runwell(
            "run",
            "tornado-vpn",
            &["routine-maintenance", "--db", db.to_str().unwrap(), "--ack", "--operator", "bob"],
        )
        .output()
        .unwrap();
    let (code, text) = ran(&output);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("table_name") && text.contains("total_size"), "the query's table: {text}");
    let store = journal(work.path());
    let acknowledged = store
        .events(1)
        .unwrap()
        .into_iter()
        .filter(|r| matches!(&r.event, Event::Acknowledged { by, .. } if by == "bob"))
        .count();
    assert_eq!(acknowledged, 5);
}

/// Idle client sessions on the `AxiomDB` lab's database, held open until dropped.
struct IdleClients(Vec<std::process::Child>);

impl IdleClients {
    fn open(lab: &Lab, count: usize) -> IdleClients {
        let clients = (0..count)
            .map(|_| {
                Command::new("psql")
                    .args(["-X", "-q", "-h", "127.0.0.1", "-p", "17201", "-U", "axiomdb", "axiomdb"])
                    .env("PGPASSWORD", lab.secret("AXIOMDB_DB_PASSWORD"))
                    .env("PGAPPNAME", "idle-client")
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let idle = IdleClients(clients);
        crate::servers::wait_until("the idle clients to connect", || idle_sessions(lab) == count);
        idle
    }
}

impl Drop for IdleClients {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn idle_sessions(lab: &Lab) -> usize {
    let output = Command::new("psql")
        .args(["-X", "-A", "-t", "-h", "127.0.0.1", "-p", "17201", "-U", "axiomdb", "axiomdb", "-c"])
        .arg("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'idle-client' AND state = 'idle'")
        .env("PGPASSWORD", lab.secret("AXIOMDB_DB_PASSWORD"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().parse().unwrap_or(usize::MAX)
}

#[test]
fn axiomdb_connection_incident_diagnoses_in_a_dry_run_then_terminates_behind_a_typed_confirmation() {
    let _turn = take_turn();
    let lab = Lab::up("axiomdb");
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("journal.db");
    let db = db.to_str().unwrap();
    let _clients = IdleClients::open(&lab, 3);
    let incident = ["incident-high-connection-count", "--db", db, "--option", "A", "--set", "idle_minutes=0"];

    // A dry run gathers the evidence and terminates nothing.
    let output = lab.runwell("run", "axiomdb", &[&incident[..], &["--dry-run"]].concat()).output().unwrap();
    let (code, text) = ran(&output);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("idle-client") || text.contains("axiomdb | idle"), "the diagnosis ran: {text}");
    assert!(text.contains("(dry run: not run, it is a destructive step)"), "{text}");
    assert_eq!(idle_sessions(&lab), 3);

    // For real: --yes is not enough for a destructive step.
    let output = lab.runwell("run", "axiomdb", &[&incident[..], &["--yes"]].concat()).output().unwrap();
    let (code, text) = ran(&output);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("pass --confirm-destructive local to answer"), "{text}");
    assert_eq!(idle_sessions(&lab), 3);

    let output =
        lab.runwell("run", "axiomdb", &[&incident[..], &["--confirm-destructive", "local"]].concat()).output().unwrap();
    let (code, text) = ran(&output);
    assert_eq!(code, 0, "{text}");
    crate::servers::wait_until("the idle sessions to end", || idle_sessions(&lab) == 0);
    let store = journal(work.path());
    let outcomes = steps(&store, 3);
    assert_eq!(
        outcomes.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
        [
            "connections-now",
            "connections-by-db-and-state",
            "long-idle-sessions",
            "pgbouncer-pools-now",
            "terminate-idle",
            "connections-freed"
        ]
    );
    assert!(outcomes.iter().all(|(_, o)| *o == StepOutcome::Succeeded), "{outcomes:?}");
    let report = crate::test::runwell().args(["report", "3", "--db", db]).output().unwrap();
    let (_, report) = ran(&report);
    assert!(report.contains("pg_terminate_backend"), "{report}");
    assert!(report.contains("not chosen"), "options B and C read as not chosen: {report}");
}
