//! `runwell show`: steps as they would run — substituted, quoted, masked.

use crate::test::Test;

const RUNBOOK: &str = r#"---
runbook: gateway
vars:
  admin_url: http://127.0.0.1:8000
  label: restart
  pid:
    description: backend to stop
environments:
  staging: { admin_url: "http://staging.internal:8000" }
secrets:
  token: { env: GATEWAY_TOKEN }
---
# Gateway

## Restart

```sh {name=restart confirm timeout=30s}
systemctl restart gateway --reason {{ label }}
curl -H "Authorization: Bearer {{ token }}" "{{ admin_url }}/health"
```

```checks {wait=30s}
- name: api
  http: "{{ admin_url }}/health"
  expect: status == 200
```

- [ ] Announce the restart

## Stop a backend

```sql {destructive}
SELECT pg_terminate_backend({{ pid }});
```
"#;

#[test]
fn show_substitutes_variables_and_masks_secrets() {
    Test::new()
        .file("gw.md", RUNBOOK)
        .args(&["show", "gw.md", "restart"])
        .stdout(
            "Restart  (gateway › restart, line 15)

1. restart  shell · write · confirm · timeout 30s · line 17
    systemctl restart gateway --reason restart
    curl -H \"Authorization: Bearer ********\" \"http://127.0.0.1:8000/health\"

2. step-2  checks · read · wait 30s · line 22
    api: http http://127.0.0.1:8000/health — expect status == 200

3. step-3  manual · write · line 28
    [ ] Announce the restart
",
        )
        .run();
}

#[test]
fn show_uses_environment_values() {
    let output = Test::new().file("gw.md", RUNBOOK).args(&["show", "gw.md", "restart", "--env", "staging"]).run();
    assert!(output.stdout.contains("\"http://staging.internal:8000/health\""), "{}", output.stdout);
}

#[test]
fn substituted_values_stay_one_shell_word() {
    // regression: `--set 'label=x; touch pwned'` must not become a second command
    let output =
        Test::new().file("gw.md", RUNBOOK).args(&["show", "gw.md", "restart", "--set", "label=x; touch pwned"]).run();
    assert!(output.stdout.contains("systemctl restart gateway --reason 'x; touch pwned'\n"), "{}", output.stdout);
}

#[test]
fn show_names_variables_that_still_need_values() {
    let output = Test::new().file("gw.md", RUNBOOK).args(&["show", "gw.md", "stop-a-backend"]).run();
    assert!(output.stdout.contains("SELECT pg_terminate_backend({{ pid }});"), "{}", output.stdout);
    assert!(
        output.stdout.ends_with("needs values for: pid (a run asks for them; or pass --set pid=…)\n"),
        "{}",
        output.stdout
    );
    let output =
        Test::new().file("gw.md", RUNBOOK).args(&["show", "gw.md", "stop-a-backend", "--set", "pid=4242"]).run();
    assert!(output.stdout.contains("SELECT pg_terminate_backend(4242);"), "{}", output.stdout);
}

#[test]
fn unknown_procedure_environment_or_variable_exit_two_with_a_hint() {
    Test::new()
        .file("gw.md", RUNBOOK)
        .args(&["show", "gw.md", "restrat"])
        .status(2)
        .stderr("error: runbook `gateway` has no procedure `restrat` (did you mean `restart`?); `runwell list gw.md` shows them\n")
        .run();
    Test::new()
        .file("gw.md", RUNBOOK)
        .args(&["show", "gw.md", "restart", "--env", "stagin"])
        .status(2)
        .stderr(
            "error: runbook `gateway` has no environment `stagin` (did you mean `staging`?); it declares: `staging`\n",
        )
        .run();
    Test::new()
        .file("gw.md", RUNBOOK)
        .args(&["show", "gw.md", "restart", "--set", "lable=x"])
        .status(2)
        .stderr("error: runbook `gateway` has no variable `lable` (did you mean `label`?); declare it under `vars` in the front matter\n")
        .run();
}

#[test]
fn alternatives_are_shown_as_a_choice() {
    let doc = "# Ops\n\n## Recover\n\n```sh\nuptime\n```\n\n### Option A: restart\n\n```sh {confirm}\nsystemctl restart app\n```\n\n### Option B: reboot\n\n```sh {confirm}\nreboot\n```\n";
    let output = Test::new().file("ops.md", doc).args(&["show", "ops.md", "recover"]).run();
    assert_eq!(
        output.stdout,
        "Recover  (ops › recover, line 3)

1. step-1  shell · read · line 5
    uptime

choose one:

  [A] Option A: restart (option-a-restart)

    2. step-2  shell · write · confirm · line 11
        systemctl restart app

  [B] Option B: reboot (option-b-reboot)

    3. step-3  shell · destructive · confirm · line 17
        reboot
"
    );
}

#[test]
fn console_transcripts_show_only_their_commands() {
    let doc = "# Ops\n\n## Status\n\n```console\n$ systemctl is-active app\nactive\n$ curl -s \\\n  http://127.0.0.1/health\n{\"ok\":true}\n```\n";
    let output = Test::new().file("ops.md", doc).args(&["show", "ops.md", "status"]).run();
    assert_eq!(
        output.stdout,
        "Status  (ops › status, line 3)\n\n1. step-1  shell · read · line 5\n    systemctl is-active app\n    curl -s \\\n    http://127.0.0.1/health\n"
    );
}
