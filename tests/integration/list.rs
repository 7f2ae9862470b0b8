//! `runwell list`: procedures, checks and services.

use crate::test::Test;

const RUNBOOK: &str = r"---
runbook: demo
services:
  db: { check: db-ready }
  app: { after: [db], check: [app-health] }
---
# Demo

## Health

```checks
- name: app-health
  layer: App
  http: http://127.0.0.1:8000/health
- name: db-ready
  postgres: postgres://127.0.0.1:5432/postgres
```

## Incident: slow queries

```sql
SELECT pid, query FROM pg_stat_activity WHERE state = 'active';
```

### Option A: cancel the query

```sql {confirm}
SELECT pg_cancel_backend(42);
```

### Option B: terminate it

```sql {destructive}
SELECT pg_terminate_backend(42);
```
";

#[test]
fn list_shows_procedures_with_safety_checks_and_services() {
    Test::new()
        .file("demo.md", RUNBOOK)
        .args(&["list", "demo.md"])
        .stdout(
            "demo  demo.md  — Demo

Procedures
 ID                         TITLE                             LINE  STEPS  SAFETY
 demo                       Demo                              7     4      destructive
 health                       Health                          9     1      read
 incident-slow-queries        Incident: slow queries          19    3      destructive
 option-a-cancel-the-query      ↳ Option A: cancel the query  25    1      write
 option-b-terminate-it          ↳ Option B: terminate it      31    1      destructive

Checks
 NAME        KIND      TARGET                              LAYER
 app-health  http      http://127.0.0.1:8000/health        App
 db-ready    postgres  postgres://127.0.0.1:5432/postgres

Services
 NAME  AFTER  CHECKS
 db           db-ready
 app   db     app-health
",
        )
        .run();
}

#[test]
fn list_json_has_ids_lines_steps_and_safety() {
    let output = Test::new().file("demo.md", RUNBOOK).args(&["list", "--format", "json", "demo.md"]).run();
    let listing: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(listing["runbook"], "demo");
    let procedures: Vec<(String, u64, u64, String)> = listing["procedures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["line"].as_u64().unwrap(),
                p["steps"].as_u64().unwrap(),
                p["safety"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        procedures,
        [
            ("demo".to_owned(), 7, 4, "destructive".to_owned()),
            ("health".to_owned(), 9, 1, "read".to_owned()),
            ("incident-slow-queries".to_owned(), 19, 3, "destructive".to_owned()),
            ("option-a-cancel-the-query".to_owned(), 25, 1, "write".to_owned()),
            ("option-b-terminate-it".to_owned(), 31, 1, "destructive".to_owned()),
        ]
    );
    assert_eq!(
        listing["checks"][1],
        serde_json::json!({"name": "db-ready", "kind": "postgres", "target": "postgres://127.0.0.1:5432/postgres", "layer": null, "line": 15})
    );
    assert_eq!(listing["services"][1], serde_json::json!({"name": "app", "after": ["db"], "checks": ["app-health"]}));
}

#[test]
fn plain_markdown_lists_its_shell_blocks_as_procedures() {
    let output = Test::new()
        .file("plain.md", "# Proxy\n\n## Checking status\n\n```bash\ncurl -f http://localhost:8080/health\n```\n\n## Stopping\n\n```bash\nkill -TERM $(cat /var/run/proxy.pid)\n```\n\n```kdl\nnot a step\n```\n")
        .args(&["list", "--format", "json", "plain.md"])
        .run();
    let listing: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    let ids: Vec<&str> = listing["procedures"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["proxy", "checking-status", "stopping"]);
    assert_eq!(listing["procedures"][1]["safety"], "read");
    assert_eq!(listing["procedures"][2]["safety"], "write");
}
