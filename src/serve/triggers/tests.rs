//! Triggers: payloads as Alertmanager sends them, and the decisions taken
//! on them, with time passed in explicitly.

use std::sync::Barrier;

use super::*;
use crate::runbook::Location;

/// What Alertmanager 0.27 posts: one firing alert and one resolved, Go's
/// zero `endsAt` on the firing one, a time with an offset and nanoseconds.
const SAMPLE: &str = include_str!("alertmanager-0.27.json");

fn t0() -> Timestamp {
    "2026-03-14T03:00:00Z".parse().expect("a valid time")
}

fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

fn rule(runbook: &str, matchers: &[(&str, &str)], run: &str, allow: Safety) -> Rule {
    Rule::new(
        runbook,
        Alert {
            matchers: matchers.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect(),
            run: run.to_owned(),
            run_location: Location::default(),
            env: None,
            allow,
            values: Vec::new(),
            location: Location::default(),
        },
    )
}

fn alert(status: AlertStatus, fingerprint: &str, labels: &[(&str, &str)]) -> WebhookAlert {
    WebhookAlert {
        status,
        labels: labels.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect(),
        annotations: Labels::from([("summary".to_owned(), "VPN clients cannot connect".to_owned())]),
        starts_at: None,
        ends_at: None,
        generator_url: String::new(),
        fingerprint: fingerprint.to_owned(),
    }
}

fn payload(alerts: Vec<WebhookAlert>) -> Payload {
    Payload {
        version: "4".to_owned(),
        group_key: "{}:{alertname=\"VpnClientsFailing\"}".to_owned(),
        truncated_alerts: 0,
        status: AlertStatus::Firing,
        receiver: "runwell".to_owned(),
        group_labels: Labels::new(),
        common_labels: Labels::new(),
        common_annotations: Labels::new(),
        external_url: String::new(),
        alerts,
    }
}

const VPN: &[(&str, &str)] = &[("alertname", "VpnClientsFailing"), ("severity", "critical")];

fn firing(fingerprint: &str) -> Payload {
    payload(vec![alert(AlertStatus::Firing, fingerprint, VPN)])
}

fn resolved(fingerprint: &str) -> Payload {
    payload(vec![alert(AlertStatus::Resolved, fingerprint, VPN)])
}

fn config(max_runs_per_hour: u32, allow: Safety) -> AlertsConfig {
    AlertsConfig { max_runs_per_hour, allow }
}

/// Tornado's rule, starting `clients-cannot-connect`, read-only.
fn tornado() -> Triggers {
    Triggers::new(vec![rule("tornado-vpn", VPN, "clients-cannot-connect", Safety::Read)], config(6, Safety::Write))
}

/// The decisions, each boiled down to its kind and runbook.
fn kinds(decisions: &[Decision]) -> Vec<(&'static str, String)> {
    decisions
        .iter()
        .map(|decision| match decision {
            Decision::Start { runbook, .. } => ("start", runbook.clone()),
            Decision::AlreadyRunning { runbook, .. } => ("already-running", runbook.clone()),
            Decision::Tripped { runbook, .. } => ("tripped", runbook.clone()),
            Decision::Unmatched { .. } => ("unmatched", String::new()),
            Decision::Resolved { .. } => ("resolved", String::new()),
        })
        .collect()
}

fn start(kind: &str) -> Vec<(&'static str, String)> {
    vec![("start", kind.to_owned())]
}

#[test]
fn a_real_alertmanager_payload_reads() {
    let payload = Payload::from_json(SAMPLE.as_bytes()).expect("Alertmanager's payload reads");
    assert_eq!(payload.version, "4");
    assert_eq!(payload.status, AlertStatus::Firing);
    assert_eq!(payload.receiver, "runwell");
    assert_eq!(payload.external_url, "http://alertmanager.internal:9093");
    assert_eq!(payload.group_labels, Labels::from([("alertname".to_owned(), "VpnClientsFailing".to_owned())]));
    assert_eq!(payload.common_labels.len(), 3);
    assert_eq!(payload.truncated_alerts, 0);
    let [firing, resolved] = payload.alerts.as_slice() else { panic!("two alerts: {payload:?}") };
    assert_eq!(firing.status, AlertStatus::Firing);
    assert_eq!(firing.fingerprint, "5fbb51e2b8a4b4a3");
    assert_eq!(firing.alertname(), Some("VpnClientsFailing"));
    assert_eq!(firing.labels["instance"], "vpn1.internal:9100");
    assert_eq!(firing.annotations["summary"], "VPN clients cannot connect");
    assert_eq!(firing.starts_at, Some("2026-03-14T02:58:21.429Z".parse().unwrap()));
    assert_eq!(firing.ends_at, None, "Go's zero time is no time");
    assert!(firing.generator_url.starts_with("http://prometheus.internal:9090/graph?"));
    assert_eq!(resolved.status, AlertStatus::Resolved);
    assert_eq!(resolved.starts_at, Some("2026-03-14T01:41:06.12345678Z".parse().unwrap()));
    assert_eq!(resolved.ends_at, Some("2026-03-14T02:57:36.429Z".parse().unwrap()));
}

#[test]
fn what_go_leaves_empty_and_fields_from_later_releases_are_accepted() {
    let body = br#"{
        "status": "firing", "groupLabels": null, "commonAnnotations": null, "version": null,
        "someFutureField": {"nested": [1, 2]},
        "alerts": [{"status": "firing", "labels": {"alertname": "A"}, "annotations": null,
                    "startsAt": "not a time", "endsAt": null, "anotherNewField": true}]
    }"#;
    let payload = Payload::from_json(body).expect("a lenient read");
    assert!(payload.group_labels.is_empty());
    assert_eq!(payload.version, "");
    let alert = &payload.alerts[0];
    assert!(alert.annotations.is_empty());
    assert_eq!((alert.starts_at, alert.ends_at), (None, None));
    assert_eq!(alert.fingerprint, "");
}

#[test]
fn what_is_not_a_webhook_payload_gets_a_clear_error() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "it is empty"),
        (b"  \n", "it is empty"),
        (b"status=firing", "it is not JSON (expected value at line 1 column 1)"),
        (b"{\"status\": \"firing\", \"alerts\": [", "it is not JSON (EOF while parsing a list at line 1 column 32)"),
        (b"[1, 2]", "it is JSON, but not an object"),
        (b"\"firing\"", "it is JSON, but not an object"),
        (b"{\"status\": \"firing\"}", "it is JSON of another shape (missing field `alerts` at line 1 column 20)"),
        (b"{\"alerts\": []}", "it is JSON of another shape (missing field `status` at line 1 column 14)"),
        (
            b"{\"status\": \"firing\", \"alerts\": [{\"status\": \"pending\", \"labels\": {}}]}",
            "it is JSON of another shape (unknown variant `…`, expected `firing` or `resolved` at line 1 column 52)",
        ),
        (
            b"{\"status\": \"firing\", \"alerts\": [{\"status\": \"firing\"}]}",
            "it is JSON of another shape (missing field `labels` at line 1 column 52)",
        ),
    ];
    for (body, reason) in cases {
        let error = Payload::from_json(body).expect_err("not a payload");
        assert_eq!(error.reason, *reason, "for {:?}", String::from_utf8_lossy(body));
        assert!(error.to_string().contains("not an Alertmanager webhook payload"), "{error}");
        assert!(error.to_string().contains("webhook_configs"), "says what runwell reads: {error}");
    }
}

#[test]
fn errors_never_quote_what_the_body_said() {
    let body = br#"{"status": "firing", "alerts": "Bearer s3cr3t-t0ken"}"#;
    let error = Payload::from_json(body).expect_err("alerts must be a list");
    assert_eq!(
        error.reason,
        "it is JSON of another shape (invalid type: string \"…\", expected a sequence at line 1 column 52)"
    );
    let long = format!("{{\"status\": \"{}\", \"alerts\": []}}", "x".repeat(10_000));
    let error = Payload::from_json(long.as_bytes()).expect_err("no such status");
    assert!(!error.reason.contains("xxx"), "{}", error.reason);
    assert!(error.reason.chars().count() <= REASON_MAX, "{}", error.reason);
}

const REASON_MAX: usize = 201;

#[test]
fn a_rule_matches_when_every_label_it_names_has_its_value() {
    let triggers = tornado();
    let all = firing("a");
    assert_eq!(kinds(&triggers.receive(&all, t0())), start("tornado-vpn"));

    let mut labels = VPN.to_vec();
    labels.push(("instance", "vpn1:9100"));
    let extra = payload(vec![alert(AlertStatus::Firing, "b", &labels)]);
    assert_eq!(kinds(&triggers.receive(&extra, t0())), start("tornado-vpn"), "other labels do not matter");

    let missing = payload(vec![alert(AlertStatus::Firing, "c", &[("alertname", "VpnClientsFailing")])]);
    let decisions = triggers.receive(&missing, t0());
    assert_eq!(
        decisions,
        [Decision::Unmatched { fingerprint: "c".into(), alertname: Some("VpnClientsFailing".into()) }],
        "`severity` is missing"
    );

    let other =
        payload(vec![alert(AlertStatus::Firing, "d", &[("alertname", "VpnClientsFailing"), ("severity", "warning")])]);
    assert_eq!(kinds(&triggers.receive(&other, t0())), [("unmatched", String::new())]);
}

#[test]
fn a_rule_without_matchers_matches_nothing() {
    let triggers = Triggers::new(vec![rule("tornado-vpn", &[], "restart", Safety::Read)], config(6, Safety::Read));
    assert_eq!(kinds(&triggers.receive(&firing("a"), t0())), [("unmatched", String::new())]);
}

#[test]
fn the_first_matching_rule_of_each_runbook_starts() {
    let triggers = Triggers::new(
        vec![
            rule("tornado-vpn", &[("alertname", "VpnClientsFailing")], "clients-cannot-connect", Safety::Read),
            rule("tornado-vpn", VPN, "controlled-restart", Safety::Write),
            rule("sentinel", &[("severity", "critical")], "triage", Safety::Read),
            rule("axiomdb", &[("alertname", "PostgresDown")], "failover", Safety::Read),
        ],
        config(6, Safety::Destructive),
    );
    let decisions = triggers.receive(&firing("a"), t0());
    let started: Vec<(&str, &str)> = decisions
        .iter()
        .map(|decision| match decision {
            Decision::Start { runbook, procedure, .. } => (runbook.as_str(), procedure.as_str()),
            other => panic!("only starts: {other:?}"),
        })
        .collect();
    assert_eq!(started, [("tornado-vpn", "clients-cannot-connect"), ("sentinel", "triage")]);
}

#[test]
fn a_start_carries_the_rule_and_the_alert() {
    let mut with_env = rule("tornado-vpn", VPN, "clients-cannot-connect", Safety::Read);
    with_env.alert.env = Some("prod".into());
    let triggers = Triggers::new(vec![with_env], config(6, Safety::Read));
    let mut labels = VPN.to_vec();
    labels.push(("instance", "vpn1:9100"));
    let decisions = triggers.receive(&payload(vec![alert(AlertStatus::Firing, "5fbb51e2b8a4b4a3", &labels)]), t0());
    let [Decision::Start { fingerprint, runbook, procedure, env, allow, alert, .. }] = decisions.as_slice() else {
        panic!("one start: {decisions:?}")
    };
    assert_eq!(
        (fingerprint.as_str(), runbook.as_str(), procedure.as_str(), env.as_deref(), *allow),
        ("5fbb51e2b8a4b4a3", "tornado-vpn", "clients-cannot-connect", Some("prod"), Safety::Read)
    );
    assert_eq!(
        alert.to_string(),
        r#"VpnClientsFailing {instance="vpn1:9100", severity="critical"}: VPN clients cannot connect"#
    );
}

#[test]
fn allow_is_the_lesser_of_the_rule_and_the_server() {
    let cases = [
        (Safety::Destructive, Safety::Write, Safety::Write),
        (Safety::Read, Safety::Destructive, Safety::Read),
        (Safety::Write, Safety::Write, Safety::Write),
        (Safety::Destructive, Safety::Read, Safety::Read),
    ];
    for (rule_allows, server_allows, expected) in cases {
        let triggers = Triggers::new(vec![rule("tornado-vpn", VPN, "fix", rule_allows)], config(6, server_allows));
        let decisions = triggers.receive(&firing("a"), t0());
        let [Decision::Start { allow, .. }] = decisions.as_slice() else { panic!("one start: {decisions:?}") };
        assert_eq!(*allow, expected, "rule {rule_allows:?}, server {server_allows:?}");
    }
}

#[test]
fn one_run_per_alert_while_it_runs_and_a_new_one_after_it_finished() {
    let triggers = tornado();
    assert_eq!(kinds(&triggers.receive(&firing("a"), t0())), start("tornado-vpn"));
    triggers.started("a", "tornado-vpn", 41);

    let again = triggers.receive(&firing("a"), t0() + mins(5));
    assert_eq!(
        again,
        [Decision::AlreadyRunning { fingerprint: "a".into(), runbook: "tornado-vpn".into(), run: Some(41) }],
        "Alertmanager's repeat while run 41 runs"
    );
    assert_eq!(kinds(&triggers.receive(&firing("b"), t0() + mins(5))), start("tornado-vpn"), "another alert");

    triggers.finished(41);
    assert_eq!(kinds(&triggers.receive(&firing("a"), t0() + mins(10))), start("tornado-vpn"));
}

#[test]
fn two_deliveries_racing_each_other_start_one_run() {
    let triggers = tornado();
    let payload = firing("a");
    let barrier = Barrier::new(8);
    let decisions: Vec<Decision> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    triggers.receive(&payload, t0())
                })
            })
            .collect();
        handles.into_iter().flat_map(|handle| handle.join().expect("no panic")).collect()
    });
    let starts = decisions.iter().filter(|d| matches!(d, Decision::Start { .. })).count();
    assert_eq!(starts, 1, "{decisions:?}");
    let waiting = decisions.iter().filter(|d| matches!(d, Decision::AlreadyRunning { run: None, .. })).count();
    assert_eq!(waiting, 7, "the others see the reservation: {decisions:?}");
}

#[test]
fn a_failed_start_frees_the_alert_and_its_place_in_the_breaker() {
    let triggers = Triggers::new(vec![rule("tornado-vpn", VPN, "fix", Safety::Read)], config(1, Safety::Read));
    assert_eq!(kinds(&triggers.receive(&firing("a"), t0())), start("tornado-vpn"));
    triggers.start_failed("a", "tornado-vpn");
    assert_eq!(kinds(&triggers.receive(&firing("a"), t0() + mins(1))), start("tornado-vpn"), "cap 1, and 0 ran");
    let history = triggers.history();
    assert_eq!(history[1].outcomes[0].kind, OutcomeKind::StartFailed);
    assert_eq!(history[0].outcomes[0].kind, OutcomeKind::Started);

    triggers.started("a", "tornado-vpn", 7);
    triggers.start_failed("a", "tornado-vpn");
    assert_eq!(
        triggers.receive(&firing("a"), t0() + mins(2)),
        [Decision::AlreadyRunning { fingerprint: "a".into(), runbook: "tornado-vpn".into(), run: Some(7) }],
        "a run that started is not freed by a stray start_failed"
    );
}

#[test]
fn a_start_never_reported_is_forgotten_after_ten_minutes() {
    let triggers = tornado();
    assert_eq!(kinds(&triggers.receive(&firing("a"), t0())), start("tornado-vpn"));
    assert_eq!(kinds(&triggers.receive(&firing("a"), t0() + mins(9))), [("already-running", "tornado-vpn".into())]);
    assert_eq!(kinds(&triggers.receive(&firing("a"), t0() + mins(10))), start("tornado-vpn"));
}

#[test]
fn the_breaker_trips_at_the_cap_and_recovers_an_hour_after_the_oldest_start() {
    let triggers = Triggers::new(vec![rule("tornado-vpn", VPN, "fix", Safety::Read)], config(2, Safety::Read));
    assert_eq!(kinds(&triggers.receive(&firing("a"), t0())), start("tornado-vpn"));
    assert_eq!(kinds(&triggers.receive(&firing("b"), t0() + mins(20))), start("tornado-vpn"));
    let tripped = triggers.receive(&firing("c"), t0() + mins(30));
    assert_eq!(
        tripped,
        [Decision::Tripped { runbook: "tornado-vpn".into(), fingerprint: "c".into(), until: Some(t0() + mins(60)) }]
    );
    // Finished runs still count: the breaker counts starts, not runs going.
    triggers.started("a", "tornado-vpn", 1);
    triggers.finished(1);
    let just_before = t0() + mins(60) - SignedDuration::from_secs(1);
    assert_eq!(kinds(&triggers.receive(&firing("c"), just_before)), [("tripped", "tornado-vpn".into())]);
    assert_eq!(kinds(&triggers.receive(&firing("c"), t0() + mins(60))), start("tornado-vpn"));
    let tripped = triggers.receive(&firing("d"), t0() + mins(61));
    assert_eq!(
        tripped,
        [Decision::Tripped { runbook: "tornado-vpn".into(), fingerprint: "d".into(), until: Some(t0() + mins(80)) }],
        "the window slides: now the start at 03:20 is the oldest"
    );
}

#[test]
fn each_runbook_has_its_own_breaker() {
    let triggers = Triggers::new(
        vec![
            rule("tornado-vpn", VPN, "fix", Safety::Read),
            rule("sentinel", &[("alertname", "ProxyDown")], "fix", Safety::Read),
        ],
        config(1, Safety::Read),
    );
    assert_eq!(kinds(&triggers.receive(&firing("a"), t0())), start("tornado-vpn"));
    assert_eq!(kinds(&triggers.receive(&firing("b"), t0())), [("tripped", "tornado-vpn".into())]);
    let proxy = payload(vec![alert(AlertStatus::Firing, "p", &[("alertname", "ProxyDown")])]);
    assert_eq!(kinds(&triggers.receive(&proxy, t0())), start("sentinel"));
}

#[test]
fn a_cap_of_zero_starts_nothing() {
    let triggers = Triggers::new(vec![rule("tornado-vpn", VPN, "fix", Safety::Read)], config(0, Safety::Read));
    assert_eq!(
        triggers.receive(&firing("a"), t0()),
        [Decision::Tripped { runbook: "tornado-vpn".into(), fingerprint: "a".into(), until: None }]
    );
    assert_eq!(kinds(&triggers.receive(&firing("a"), t0() + mins(600))), [("tripped", "tornado-vpn".into())]);
}

#[test]
fn a_resolved_alert_is_reported_once_to_each_run_started_for_it() {
    let triggers = Triggers::new(
        vec![
            rule("tornado-vpn", VPN, "fix", Safety::Read),
            rule("sentinel", &[("severity", "critical")], "triage", Safety::Read),
        ],
        config(6, Safety::Read),
    );
    assert_eq!(triggers.receive(&resolved("a"), t0()), [Decision::Resolved { fingerprint: "a".into(), runs: vec![] }]);

    assert_eq!(triggers.receive(&firing("a"), t0()).len(), 2);
    triggers.started("a", "tornado-vpn", 10);
    triggers.started("a", "sentinel", 11);
    triggers.finished(11);
    let run = |runbook: &str, run, running| AlertRun { runbook: runbook.into(), run, running };
    assert_eq!(
        triggers.receive(&resolved("a"), t0() + mins(3)),
        [Decision::Resolved {
            fingerprint: "a".into(),
            runs: vec![run("sentinel", 11, false), run("tornado-vpn", 10, true)]
        }]
    );
    assert_eq!(
        triggers.receive(&resolved("a"), t0() + mins(4)),
        [Decision::Resolved { fingerprint: "a".into(), runs: vec![] }],
        "a re-sent resolution is not noted twice"
    );
    assert_eq!(
        triggers.receive(&firing("a"), t0() + mins(5)),
        [
            Decision::AlreadyRunning { fingerprint: "a".into(), runbook: "tornado-vpn".into(), run: Some(10) },
            Decision::Start {
                fingerprint: "a".into(),
                runbook: "sentinel".into(),
                procedure: "triage".into(),
                env: None,
                allow: Safety::Read,
                values: Ok(Vec::new()),
                alert: AlertSummary::of(&alert(AlertStatus::Firing, "a", VPN)),
            },
        ],
        "a resolution does not free an alert whose run still runs"
    );
    let history = triggers.history();
    let resolution = &history[2];
    assert_eq!(resolution.status, AlertStatus::Resolved);
    let noted: Vec<_> = resolution.outcomes.iter().map(|o| (o.kind, o.runbook.as_deref(), o.run)).collect();
    assert_eq!(
        noted,
        [(OutcomeKind::Resolved, Some("sentinel"), Some(11)), (OutcomeKind::Resolved, Some("tornado-vpn"), Some(10))]
    );
}

#[test]
fn new_rules_keep_the_runs_going_and_the_breakers() {
    let triggers = Triggers::new(vec![rule("tornado-vpn", VPN, "fix", Safety::Read)], config(2, Safety::Read));
    assert_eq!(kinds(&triggers.receive(&firing("a"), t0())), start("tornado-vpn"));
    triggers.started("a", "tornado-vpn", 5);
    assert_eq!(kinds(&triggers.receive(&firing("b"), t0())), start("tornado-vpn"));

    triggers.replace_rules(vec![
        rule("tornado-vpn", VPN, "fix-better", Safety::Read),
        rule("sentinel", &[("severity", "critical")], "triage", Safety::Read),
    ]);
    assert_eq!(
        kinds(&triggers.receive(&firing("a"), t0() + mins(1))),
        [("already-running", "tornado-vpn".into()), ("start", "sentinel".into())],
        "run 5 still holds the alert; the new runbook starts"
    );
    assert_eq!(
        kinds(&triggers.receive(&firing("c"), t0() + mins(1))),
        [("tripped", "tornado-vpn".into()), ("start", "sentinel".into())],
        "tornado-vpn's two starts still count"
    );
    triggers.set_config(config(3, Safety::Read));
    let decisions = triggers.receive(&firing("d"), t0() + mins(2));
    assert!(matches!(&decisions[0], Decision::Start { procedure, .. } if procedure == "fix-better"), "{decisions:?}");
}

#[test]
fn history_is_newest_first_with_the_run_each_alert_started() {
    let triggers = tornado();
    triggers.receive(&firing("a"), t0());
    triggers.receive(&payload(vec![alert(AlertStatus::Firing, "z", &[("alertname", "DiskFull")])]), t0() + mins(1));
    triggers.started("a", "tornado-vpn", 3);
    triggers.receive(&firing("a"), t0() + mins(2));

    let history = triggers.history();
    let shown: Vec<_> = history
        .iter()
        .map(|record| {
            let outcome = &record.outcomes[0];
            (record.fingerprint.as_str(), record.alert.alertname.as_deref(), outcome.kind, outcome.run)
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("a", Some("VpnClientsFailing"), OutcomeKind::AlreadyRunning, Some(3)),
            ("z", Some("DiskFull"), OutcomeKind::Unmatched, None),
            ("a", Some("VpnClientsFailing"), OutcomeKind::Started, Some(3)),
        ]
    );
    assert_eq!(history[2].received_at, t0());
    let json = serde_json::to_value(&history[2]).expect("serializable");
    assert_eq!(
        json,
        serde_json::json!({
            "fingerprint": "a",
            "status": "firing",
            "received_at": "2026-03-14T03:00:00Z",
            "alertname": "VpnClientsFailing",
            "labels": {"alertname": "VpnClientsFailing", "severity": "critical"},
            "summary": "VPN clients cannot connect",
            "outcomes": [{"kind": "started", "runbook": "tornado-vpn", "procedure": "clients-cannot-connect", "run": 3}],
        })
    );
}

#[test]
fn history_keeps_the_last_500_alerts_and_bounded_labels() {
    let triggers = tornado();
    for n in 0..HISTORY + 20 {
        let fingerprint = format!("f{n}");
        triggers.receive(&payload(vec![alert(AlertStatus::Firing, &fingerprint, &[("alertname", "Other")])]), t0());
    }
    let history = triggers.history();
    assert_eq!(history.len(), HISTORY);
    assert_eq!(history[0].fingerprint, format!("f{}", HISTORY + 19));
    assert_eq!(history[HISTORY - 1].fingerprint, "f20");

    let names: Vec<String> = (0..100).map(|n| format!("label{n:03}")).collect();
    let huge = "é".repeat(10_000);
    let mut labels: Vec<(&str, &str)> = names.iter().map(|name| (name.as_str(), huge.as_str())).collect();
    let long_name = format!("a{}", "n".repeat(500));
    labels.push((&long_name, "v"));
    labels.push(("alertname", "Line\nbreak"));
    let mut big = alert(AlertStatus::Firing, "big", &labels);
    big.annotations.insert("summary".into(), huge.clone());
    triggers.receive(&payload(vec![big]), t0());
    let record = &triggers.history()[0];
    assert_eq!(record.alert.labels.len(), MAX_LABELS);
    assert!(record.alert.labels.keys().all(|name| name.chars().count() <= MAX_NAME + 1));
    assert!(record.alert.labels.keys().any(|name| name == &format!("a{}…", "n".repeat(MAX_NAME - 1))));
    let values = record.alert.labels.iter().filter(|(name, _)| name.starts_with("label")).map(|(_, value)| value);
    assert!(values.clone().all(|value| *value == format!("{}…", "é".repeat(MAX_VALUE))), "cut, with …");
    assert_eq!(values.count(), MAX_LABELS - 2);
    assert_eq!(record.alert.alertname.as_deref(), Some("Line break"));
    assert_eq!(record.alert.summary.as_ref().map(|s| s.chars().count()), Some(MAX_VALUE + 1));
}

#[test]
fn the_fingerprint_is_alertmanagers_or_a_short_hash() {
    let given = alert(AlertStatus::Firing, "5fbb51e2b8a4b4a3", VPN);
    assert_eq!(fingerprint(&given), "5fbb51e2b8a4b4a3");

    let none = alert(AlertStatus::Firing, "", VPN);
    let same_labels = alert(AlertStatus::Resolved, "", VPN);
    let other_labels = alert(AlertStatus::Firing, "", &[("alertname", "Other")]);
    assert_eq!(fingerprint(&none), fingerprint(&same_labels), "the same labels are the same alert");
    assert_ne!(fingerprint(&none), fingerprint(&other_labels));
    assert_eq!(fingerprint(&none).len(), 16);

    for odd in ["x".repeat(65), "has space".to_owned(), "ünïcode".to_owned(), "new\nline".to_owned()] {
        let hashed = fingerprint(&alert(AlertStatus::Firing, &odd, VPN));
        assert_eq!(hashed.len(), 16, "{odd:?} → {hashed}");
        assert!(hashed.bytes().all(|b| b.is_ascii_hexdigit()), "{hashed}");
    }
}

#[test]
fn the_sample_payload_decides_a_start_and_a_resolution() {
    let payload = Payload::from_json(SAMPLE.as_bytes()).expect("reads");
    let triggers = tornado();
    let decisions = triggers.receive(&payload, t0());
    assert_eq!(kinds(&decisions), [("start", "tornado-vpn".into()), ("resolved", String::new())]);
}

#[test]
fn the_fuzz_target_holds_on_the_sample_and_on_odd_bodies() {
    fuzzing::webhook(SAMPLE.as_bytes());
    let long = "é".repeat(1000);
    let odd = [
        String::new(),
        "[]".to_owned(),
        format!("{{\"status\": \"{long}\", \"alerts\": []}}"),
        format!(
            "{{\"status\": \"firing\", \"alerts\": [{{\"status\": \"firing\", \"fingerprint\": \"{long}\", \
             \"labels\": {{\"alertname\": \"A\", \"severity\": \"critical\", \"{long}\": \"{long}\"}}}}]}}"
        ),
    ];
    for body in odd {
        fuzzing::webhook(body.as_bytes());
    }
}

#[test]
fn triggers_can_be_shared_between_tasks() {
    fn shared<T: Send + Sync>() {}
    shared::<Triggers>();
}

#[test]
fn a_rule_takes_values_from_the_alerts_labels() {
    let mut migration = rule("axiomdb", &[("alertname", "MigrationStuck")], "stuck-migration", Safety::Read);
    migration.alert.values = vec![
        ("branch_db".into(), "branch_{{ labels.branch }}".into()),
        ("migration".into(), "{{ labels.migration }}".into()),
    ];
    let triggers = Triggers::new(vec![migration], config(60, Safety::Read));
    let start = |fingerprint: &str, labels: &[(&str, &str)]| {
        let decisions = triggers.receive(&payload(vec![alert(AlertStatus::Firing, fingerprint, labels)]), t0());
        let [Decision::Start { values, .. }] = decisions.as_slice() else { panic!("one start: {decisions:?}") };
        values.clone()
    };
    let labels = [("alertname", "MigrationStuck"), ("branch", "demo"), ("migration", "20261124_add_plan")];
    assert_eq!(
        start("a", &labels),
        Ok(vec![("branch_db".into(), "branch_demo".into()), ("migration".into(), "20261124_add_plan".into())])
    );
    // A label the rule needs is missing: no run, and the reason names it.
    let error = start("b", &labels[..2]).expect_err("no value for migration");
    assert!(error.contains("the alert gives no value for `migration`"), "{error}");
    // A label that would reshape a command, a URL or a query is refused.
    for hostile in ["demo; rm -rf /", "demo?host=evil.example", "demo' OR '1'='1", "", &"x".repeat(300)] {
        let labels = [("alertname", "MigrationStuck"), ("branch", "b"), ("migration", hostile)];
        let error = start(&format!("c{}", hostile.len()), &labels).expect_err(hostile);
        assert!(error.contains("a value taken from a label must be 1 to 256"), "{error}");
    }
}

/// What the server asks after missing run-end notices: the runs alerts
/// started that still hold their alert.
#[test]
fn running_lists_the_alert_runs_not_reported_finished() {
    let triggers = tornado();
    triggers.receive(&firing("a"), t0());
    triggers.receive(&firing("b"), t0());
    triggers.receive(&firing("c"), t0());
    triggers.started("b", "tornado-vpn", 12);
    triggers.started("a", "tornado-vpn", 11);
    assert_eq!(triggers.running(), [11, 12], "c is reserved, not running yet");
    triggers.finished(11);
    assert_eq!(triggers.running(), [12]);
    assert_eq!(kinds(&triggers.receive(&firing("a"), t0() + mins(1))), start("tornado-vpn"), "a is free again");
}
