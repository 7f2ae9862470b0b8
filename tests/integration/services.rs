//! `runwell start|stop|restart`: the services graph in dependency order,
//! tier by tier, each tier gated on its services' checks.

use runwell::journal::{Event, Status, Store};

use crate::test::Test;

/// `db` and `cache` first, `api` after both, `web` after `api`. Starting
/// a service creates `NAME.up`; its check looks for the file. `api`'s start
/// command takes `API_START` from the environment so a test can break it.
fn stack() -> String {
    let service = |name: &str, after: &str| {
        format!(
            "  {name}: {{ {after}check: {name}-up, start: \"echo starting {name}; touch {name}.up; echo {name} >> order\", stop: \"rm -f {name}.up; echo stop-{name} >> order\" }}\n"
        )
    };
    let check = |name: &str| format!("- name: {name}-up\n  command: test -f {name}.up\n");
    format!(
        "---\nrunbook: stack\nservices:\n{}{}{}{}---\n# Stack\n\n## Health\n\n```checks\n{}{}{}{}```\n",
        service("db", ""),
        service("cache", ""),
        service("api", "after: [db, cache], "),
        service("web", "after: [api], "),
        check("db"),
        check("cache"),
        check("api"),
        check("web"),
    )
    .replace("touch api.up", "touch ${API_START:-api}.up")
}

fn started_ids(store: &runwell::journal::SqliteStore, run: i64) -> Vec<String> {
    store
        .events(run)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.event {
            Event::StepStarted { id, .. } => Some(id),
            _ => None,
        })
        .collect()
}

#[test]
fn start_goes_tier_by_tier_in_dependency_order_gated_on_checks() {
    let test = Test::new().file("stack.md", &stack());
    let output = test.args(&["start", "stack.md", "--db", "journal.db", "--yes"]).status(0).run_in_place();
    let order = std::fs::read_to_string(output.path.join("order")).unwrap();
    let order: Vec<&str> = order.lines().collect();
    assert_eq!(order.len(), 4);
    assert_eq!(&order[2..], ["api", "web"], "{order:?}");
    assert!(output.stdout.contains("tier 1: db, cache\n  tier 2: api\n  tier 3: web\n"), "{}", output.stdout);
    assert!(output.stdout.contains("[db] starting db\n"), "a tier's output is labelled by service: {}", output.stdout);
    let store = output.journal();
    assert_eq!(
        started_ids(&store, 1),
        ["start-db", "start-cache", "healthy-db-cache", "start-api", "healthy-api", "start-web", "healthy-web"]
    );
    assert_eq!(store.run(1).unwrap().info.procedure, "start");
}

#[test]
fn a_failed_gate_stops_the_sequence_and_names_the_unhealthy_service() {
    let test = Test::new().file("stack.md", &stack());
    let output = test
        .args(&["start", "stack.md", "--db", "journal.db", "--yes", "--wait", "1s"])
        .env("API_START", "not-api")
        .status(1)
        .run_in_place();
    assert!(!output.path.join("web.up").exists(), "web needs api: it must not start");
    assert!(
        output.stdout.contains("run 1 failed: not healthy after 1s: api (check `api-up` critical"),
        "{}",
        output.stdout
    );
    assert_eq!(output.journal().run(1).unwrap().status, Status::Failed);
}

#[test]
fn stop_goes_in_reverse_order_and_needs_the_name_typed() {
    let test = Test::new().file("stack.md", &stack()).file("db.up", "").file("api.up", "");
    let output = test.args(&["stop", "stack.md", "db", "api", "--db", "journal.db", "--yes"]).status(1).run_in_place();
    assert!(output.stdout.contains("pass --confirm-destructive stack to answer"), "{}", output.stdout);
    assert!(output.path.join("db.up").exists());

    let test = Test::new().file("stack.md", &stack()).file("db.up", "").file("api.up", "");
    let output = test
        .args(&["stop", "stack.md", "db", "api", "--db", "journal.db", "--confirm-destructive", "stack"])
        .status(0)
        .run_in_place();
    assert_eq!(std::fs::read_to_string(output.path.join("order")).unwrap(), "stop-api\nstop-db\n");
    assert!(!output.path.join("db.up").exists());
}

#[test]
fn an_unknown_service_is_refused_before_anything_runs() {
    let test = Test::new().file("stack.md", &stack());
    let output = test.args(&["restart", "stack.md", "dbb", "--db", "journal.db", "--yes"]).status(2).run_in_place();
    assert!(
        output.stderr.contains("no service is called `dbb`; the runbook declares: db, cache, api, web"),
        "{}",
        output.stderr
    );
    assert!(!output.path.join("order").exists());
}
