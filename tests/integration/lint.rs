//! `runwell lint`: rules, locations, output formats and exit statuses.

use crate::test::Test;

/// Lints one file and returns `(line, severity, rule)` for each finding.
fn findings(contents: &str) -> Vec<(u64, String, String)> {
    let output = Test::new().file("rb.md", contents).args(&["lint", "--format", "json", "rb.md"]).status(-1);
    let output = output.run_any();
    let records: serde_json::Value = serde_json::from_str(&output.stdout).expect("JSON output");
    records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["severity"].as_str().unwrap().to_owned(),
                r["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn f(line: u64, severity: &str, rule: &str) -> (u64, String, String) {
    (line, severity.to_owned(), rule.to_owned())
}

#[test]
fn clean_runbook_exits_zero_and_says_so() {
    Test::new()
        .file("ok.md", "# Service\n\n## Restart\n\n```sh {confirm}\nsystemctl restart app\n```\n")
        .args(&["lint", "ok.md"])
        .stdout("")
        .stderr("0 errors, 0 warnings in 1 file\n")
        .run();
}

#[test]
fn text_output_names_file_line_column_severity_and_rule() {
    Test::new()
        .file("rb.md", "# Ops\n\n```sh\nkill -9 1234\n```\n")
        .args(&["lint", "rb.md"])
        .status(1)
        .stdout("rb.md:4:1: error[destructive]: step `step-1` runs `kill -9`, which is destructive, without confirmation; add `{confirm}` (or `{destructive}` for typed confirmation) to the fence's info string\n")
        .stderr("1 error, 0 warnings in 1 file\n")
        .run();
}

#[test]
fn json_output_is_an_array_of_records() {
    let output = Test::new().file("rb.md", "# Ops {{TEAM}}\n").args(&["lint", "--format", "json", "rb.md"]).run();
    let records: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(
        records,
        serde_json::json!([{
            "file": "rb.md",
            "line": 1,
            "column": 7,
            "severity": "warning",
            "rule": "placeholder",
            "message": "unresolved placeholder `{{TEAM}}` in heading: `TEAM` is no declared variable; declare it under `vars` in the front matter or replace the placeholder"
        }])
    );
}

#[test]
fn exit_status_two_when_a_path_cannot_be_read() {
    let output = Test::new().args(&["lint", "missing.md"]).status(2).stdout("").run();
    assert!(output.stderr.starts_with("error: cannot read `missing.md`"), "{}", output.stderr);
}

#[test]
fn exit_status_two_on_bad_arguments() {
    Test::new().args(&["lint", "--format", "xml"]).status(2).run();
}

#[test]
fn directories_are_searched_for_markdown_skipping_hidden_ones() {
    Test::new()
        .file("runbooks/a.md", "# A\n")
        .file("runbooks/nested/b.markdown", "# B {{X}}\n")
        .file("runbooks/notes.txt", "{{X}}\n")
        .file("runbooks/.drafts/c.md", "# C {{X}}\n")
        .args(&["lint", "runbooks"])
        .stdout("runbooks/nested/b.markdown:1:5: warning[placeholder]: unresolved placeholder `{{X}}` in heading: `X` is no declared variable; declare it under `vars` in the front matter or replace the placeholder\n")
        .stderr("0 errors, 1 warning in 2 files\n")
        .run();
}

#[test]
fn unclosed_fence_is_reported_at_its_opening_line() {
    let doc = "# Ops\n\n## Restart\n\n```sh {confirm}\nsystemctl restart app\n\n## Verify\n\ncurl -sf http://127.0.0.1/health\n";
    assert_eq!(findings(doc), [f(5, "error", "unclosed-fence")]);
}

#[test]
fn unclosed_fence_in_a_list_item_says_where_it_stops() {
    let doc = "# Ops\n\n1. Restart:\n   ~~~bash\n   systemctl restart app\n2. Verify\n";
    let output = Test::new().file("rb.md", doc).args(&["lint", "rb.md"]).status(1).run();
    assert!(output.stdout.starts_with("rb.md:4:4: error[unclosed-fence]"), "{}", output.stdout);
    assert!(output.stdout.contains("to the end of its list item or block quote"), "{}", output.stdout);
}

#[test]
fn closed_fences_in_lists_quotes_and_tildes_are_fine() {
    let doc = "# Ops\n\n- Restart:\n\n  ```Bash {confirm}\n  systemctl restart app\n  ```\n\n> ~~~sh\n> uptime\n> ~~~\n\n````md\n```sh\nnot a step\n```\n````\n";
    assert_eq!(findings(doc), []);
}

#[test]
fn template_placeholders_get_one_finding_each_at_their_line() {
    // regression: a template-style runbook must get one diagnostic per placeholder, not one per name
    let doc = "# {{PROJECT}} runbook\n\nOwner: {{OWNER}}, backup {{OWNER}}\n\n## Restart\n\n```sh {confirm}\nkubectl rollout restart deployment/{{DEPLOYMENT}} -n {{NAMESPACE}}\n```\n\n- [ ] Tell {{CHANNEL}}\n";
    assert_eq!(
        findings(doc),
        [
            f(1, "warning", "placeholder"),
            f(3, "warning", "placeholder"),
            f(3, "warning", "placeholder"),
            f(8, "error", "placeholder"),
            f(8, "error", "placeholder"),
            f(11, "error", "placeholder"),
        ]
    );
}

#[test]
fn declared_variables_and_other_tools_templates_are_not_placeholders() {
    let doc = "---\nvars:\n  url: http://127.0.0.1:8000\nsecrets:\n  token: { env: APP_TOKEN }\n---\n# Ops\n\n```sh\ncurl -H \"Authorization: Bearer {{ token }}\" {{ url | lower }}/health\ndocker inspect --format '{{.State.Running}}' app\necho '{{ $labels.instance }}' ${{ secrets.X }}\n```\n\nAlert text: {{ $labels.job }} and {{ .Values.image }}\n";
    assert_eq!(findings(doc), []);
}

#[test]
fn angle_placeholders_are_errors_in_steps_and_warnings_in_prose() {
    let doc = "# Ops\n\nFind the <PID> first. Use <details> freely.\n\n```sql {confirm}\nSELECT pg_terminate_backend(<PID>);\n```\n\n```sh\ncat <<EOF\nVec<String> is fine\nEOF\n```\n";
    assert_eq!(findings(doc), [f(3, "warning", "placeholder"), f(6, "error", "placeholder")]);
}

#[test]
fn shell_variables_used_but_never_set_are_errors() {
    let doc = "# Ops\n\n```sh\necho \"$HOME\" \"${PORT:-8080}\"\nkubectl -n $NAMESPACE get pods\n```\n\n```sh\nexport REGION=eu\necho $REGION '$LITERAL'\n```\n\n```sh\necho $REGION\n```\n";
    assert_eq!(findings(doc), [f(5, "error", "placeholder")]);
}

#[test]
fn destructive_steps_need_confirmation() {
    let doc = "---\nservices:\n  tornado: {}\n---\n# Ops\n\n```sh\nsystemctl stop nginx\n```\n\n```sh\nsudo systemctl stop tornado\n```\n\n```sh {confirm}\nrm -rf /var/cache/app\n```\n\n```sql\nDELETE FROM sessions;\n```\n\n```sql\nDELETE FROM sessions WHERE expired;\n```\n\n```redis\nFLUSHALL\n```\n";
    assert_eq!(
        findings(doc),
        [f(12, "error", "destructive"), f(20, "error", "destructive"), f(28, "error", "destructive")]
    );
}

#[test]
fn sleep_before_a_check_suggests_a_gate() {
    let doc = "# Ops\n\n## Restart\n\n```sh\nsystemctl restart app\nsleep 5\ncurl -sf http://127.0.0.1:8000/health\n```\n\n```sh\nsleep 30\nsystemctl start app\n```\n";
    assert_eq!(findings(doc), [f(7, "warning", "sleep-then-check")]);
}

#[test]
fn service_graph_references_and_cycles_are_checked() {
    let doc = "---\nservices:\n  db: { after: [app] }\n  app: { after: [db, cache], check: app-helth }\n---\n# Ops\n\n```checks\n- name: app-health\n  http: http://127.0.0.1/health\n```\n";
    let output = Test::new().file("rb.md", doc).args(&["lint", "rb.md"]).status(1).run();
    assert_eq!(
        output.stdout,
        "rb.md:3:3: error[references]: services depend on each other in a cycle (db → app → db), so no start order exists; remove one `after:`\n\
         rb.md:4:22: error[references]: service `app` starts after `cache`, which is not a declared service\n\
         rb.md:4:37: error[references]: service `app` is gated on check `app-helth`, which no `checks` block defines (did you mean `app-health`?)\n"
    );
}

#[test]
fn alerts_must_name_a_procedure() {
    let doc = "---\nalerts:\n  - match: { alertname: Down }\n    run: restrat\n---\n# Ops\n\n## Restart\n\n```sh {confirm}\nsystemctl restart app\n```\n";
    let output = Test::new().file("rb.md", doc).args(&["lint", "rb.md"]).status(1).run();
    assert!(output.stdout.starts_with("rb.md:4:10: error[references]: alert runs `restrat`, which is no procedure in this runbook (did you mean `restart`?)"), "{}", output.stdout);
}

#[test]
fn alert_values_must_set_declared_variables_with_valid_templates() {
    let doc = "---\nvars:\n  branch: { description: the branch }\nalerts:\n  - match: { alertname: Stuck }\n    run: unstick\n\
               \x20   values: { brnch: \"{{ labels.branch }}\", branch: \"{{ labels.branch \" }\n---\n# Ops\n\n## Unstick\n\n\
               ```sh\necho {{ branch }}\n```\n";
    let output = Test::new().file("rb.md", doc).args(&["lint", "rb.md"]).status(1).run();
    assert!(
        output.stdout.contains(
            "error[references]: alert sets `brnch`, which is not declared under `vars` (did you mean `branch`?)"
        ),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("error[references]: alert value `branch` is no valid template"),
        "{}",
        output.stdout
    );
}

/// Regression: the gateway's and the template's alert rules started
/// procedures that needed a value no alert could give, so every run they
/// tried was refused; nothing said so before an alert fired.
#[test]
fn an_alert_whose_procedure_needs_a_value_nothing_gives_is_warned() {
    let doc = |values: &str| {
        format!(
            "---\nvars:\n  pod: {{ description: the pod }}\nalerts:\n  - match: {{ alertname: HighCPU }}\n    run: profile\n{values}\
             ---\n# Ops\n\n## Profile\n\n```sh\nkubectl top pod {{{{ pod }}}}\n```\n"
        )
    };
    let output = Test::new().file("rb.md", &doc("")).args(&["lint", "rb.md"]).status(0).run();
    assert!(
        output.stdout.contains(
            "warning[references]: alert starts `profile`, which needs `pod` that nothing gives an alert's run"
        ),
        "{}",
        output.stdout
    );
    let given = doc("    values: { pod: \"{{ labels.pod }}\" }\n");
    Test::new().file("rb.md", &given).args(&["lint", "rb.md"]).status(0).stdout("").run();
}

#[test]
fn unknown_attributes_and_keys_get_did_you_mean() {
    let doc = "---\nenviroments: {}\ntitle: Kept for Hugo\nweight: 3\nowner_slack: \"#ops\"\n---\n# Ops\n\n```sh {confrim}\nuptime\n```\n\n```checks\n- name: api\n  http: http://127.0.0.1/\n  expct: status == 200\n```\n";
    let output = Test::new().file("rb.md", doc).args(&["lint", "rb.md"]).status(1).run();
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", output.stdout);
    assert!(lines[0].starts_with("rb.md:2:1: warning[unknown-key]: front-matter key `enviroments` is not one runwell knows (did you mean `environments`?)"));
    assert!(
        lines[1]
            .starts_with("rb.md:9:1: error[unknown-attribute]: unknown attribute `confrim` (did you mean `confirm`?)")
    );
    assert!(
        lines[2].starts_with("rb.md:16:3: error[unknown-key]: check `api` has no key `expct` (did you mean `expect`?)")
    );
}

#[test]
fn stale_reviews_are_warned_about() {
    let stale = "---\nlast_reviewed_on: 2020-01-15\nreview_in: 6 months\n---\n# Ops\n";
    let output = Test::new().file("rb.md", stale).args(&["lint", "rb.md"]).run();
    assert_eq!(
        output.stdout,
        "rb.md:3:12: warning[stale-review]: this runbook was due for review on 2020-07-15 (last reviewed 2020-01-15, review every 6 months); check it against the system, then update `last_reviewed_on`\n"
    );
    let fresh = "---\nlast_reviewed_on: 2100-01-15\nreview_in: 6 months\n---\n# Ops\n";
    assert_eq!(findings(fresh), []);
}

#[test]
fn html_comments_hide_fences_and_details_blocks_are_read() {
    let doc = "# Ops\n\n<!--\n```sh\nkill -9 1\n```\n{{HIDDEN}}\n-->\n\n<details>\n<summary>Restart</summary>\n\n```sh\nkill -9 2\n```\n\n</details>\n";
    assert_eq!(findings(doc), [f(14, "error", "destructive")]);
}

#[test]
fn invalid_utf8_is_reported_and_the_rest_still_checked() {
    let test = Test::new();
    std::fs::write(test.path().join("rb.md"), b"# Ops\n\nbad \xff byte\n\n```sh\nkill -9 1\n```\n").unwrap();
    let output = test.args(&["lint", "rb.md"]).status(1).run();
    assert!(output.stdout.starts_with("rb.md:3:5: error[encoding]"), "{}", output.stdout);
    assert!(output.stdout.contains("rb.md:6:1: error[destructive]"), "{}", output.stdout);
}

#[test]
fn toml_front_matter_is_skipped() {
    assert_eq!(findings("+++\ntitle = \"x\"\n+++\n# Ops {{X}}\n"), [f(4, "warning", "placeholder")]);
}

#[test]
fn invalid_expressions_in_when_expect_and_warn_are_errors() {
    let doc = "# Ops\n\n```sh {when=\"steps.a.ok and\"}\nuptime\n```\n\n```http {expect=\"status ==\"}\nGET http://127.0.0.1/health\n```\n\n```checks\n- name: api\n  http: http://127.0.0.1/\n  warn: latency_ms <\n```\n";
    assert_eq!(findings(doc), [f(3, "error", "references"), f(7, "error", "references"), f(12, "error", "references")]);
}
