//! The configuration file as an operator writes it: every key read, the
//! defaults, and each mistake answered with its line, its key and what to
//! write — never with a secret.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

const EXAMPLE: &str = include_str!("../../../runwell.example.toml");

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_str(text, Path::new("runwell.toml"))
}

fn error(text: &str) -> String {
    match parse(text) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(error) => error.to_string(),
    }
}

const DIGEST: &str = "982a7293a27db8fd3b2802c65a38d77e48c384725882421f814dfc403f475555";

fn token(name: &str, role: &str, sha256: &str) -> String {
    format!("[[tokens]]\nname = \"{name}\"\nrole = \"{role}\"\nsha256 = \"{sha256}\"\n")
}

#[test]
fn the_example_file_reads_and_shows_every_key() {
    let config = parse(EXAMPLE).expect("the example configuration is valid");
    assert_eq!(config.listen, "127.0.0.1:7070".parse::<SocketAddr>().unwrap());
    assert_eq!(config.runbooks, [PathBuf::from("examples/")]);
    assert_eq!(config.database, PathBuf::from("runwell.db"));
    assert_eq!(config.public_url.as_ref().map(reqwest::Url::as_str), Some("https://runwell.example.com/"));
    assert!(config.public_url_is_https());
    assert_eq!(config.shutdown_timeout, Duration::from_secs(30));
    assert_eq!(config.session_ttl, Duration::from_secs(12 * 3600));
    let tokens: Vec<(&str, Role)> = config.tokens.iter().map(|t| (t.name.as_str(), t.role)).collect();
    assert_eq!(tokens, [("ci-bot", Role::Operator), ("alice", Role::Admin), ("dashboard-screen", Role::Viewer)]);
    assert!(bool::from(subtle::ConstantTimeEq::ct_eq(
        &config.tokens[0].sha256,
        &TokenDigest::from_hex(DIGEST).unwrap()
    )));
    assert_eq!(
        config.limits,
        [
            LimitConfig {
                environment: Some("prod".into()),
                read: Role::Operator,
                write: Role::Admin,
                destructive: Role::Admin
            },
            LimitConfig {
                environment: Some("staging".into()),
                read: Role::Operator,
                write: Role::Operator,
                destructive: Role::Operator
            },
        ]
    );
    assert_eq!(config.scheduler, SchedulerConfig::default());
    assert_eq!(config.alerts, AlertsConfig::default());
    assert_eq!(config.notify.len(), 2);
    assert_eq!(config.notify[0].kind, NotifyKind::Slack);
    assert_eq!(config.notify[0].events, [NotifyEvent::Check, NotifyEvent::Run]);
    assert_eq!(config.notify[0].url.expose().as_str(), "https://hooks.slack.com/services/T000/B000/XXXXXXXX");
    assert_eq!(config.notify[1].kind, NotifyKind::Webhook);
    assert!(config.notify[1].wants(NotifyEvent::Run) && !config.notify[1].wants(NotifyEvent::Check));
    assert_eq!(config.binds_safely(), Ok(()));
}

#[test]
fn every_key_takes_a_value_other_than_its_default() {
    let text = format!(
        r#"
listen = "[::1]:9000"
runbooks = "ops/"
database = "/var/lib/runwell/journal.db"
public_url = "http://runwell.internal:9000"
shutdown_timeout = "0s"
session_ttl = "1h30m"
{token}
[[limits]]
read = "admin"
write = "admin"
destructive = "admin"

[scheduler]
interval = "10s"
jitter = 0
fail_threshold = 5
success_threshold = 1
history = 10
concurrency = 8

[alerts]
max_runs_per_hour = 0
allow = "destructive"

[[notify]]
kind = "webhook"
url = "http://127.0.0.1:9999/hook"
events = ["run", "check", "run"]
"#,
        token = token("bob", "viewer", &DIGEST.to_uppercase())
    );
    let config = parse(&text).unwrap();
    assert_eq!(config.listen, "[::1]:9000".parse::<SocketAddr>().unwrap());
    assert_eq!(config.runbooks, [PathBuf::from("ops/")]);
    assert_eq!(config.database, PathBuf::from("/var/lib/runwell/journal.db"));
    assert!(!config.public_url_is_https());
    assert_eq!(config.shutdown_timeout, Duration::ZERO);
    assert_eq!(config.session_ttl, Duration::from_secs(5400));
    assert_eq!(config.tokens[0].role, Role::Viewer);
    assert_eq!(
        config.limits,
        [LimitConfig { environment: None, read: Role::Admin, write: Role::Admin, destructive: Role::Admin }]
    );
    assert_eq!(
        config.scheduler,
        SchedulerConfig {
            interval: Duration::from_secs(10),
            jitter: 0.0,
            fail_threshold: 5,
            success_threshold: 1,
            history: 10,
            concurrency: 8
        }
    );
    assert_eq!(config.alerts, AlertsConfig { max_runs_per_hour: 0, allow: Safety::Destructive });
    assert_eq!(config.notify[0].events, [NotifyEvent::Check, NotifyEvent::Run], "sorted, without repeats");
}

#[test]
fn an_empty_file_takes_every_default() {
    let config = parse("").unwrap();
    assert_eq!(config.listen, DEFAULT_LISTEN);
    assert_eq!(config.listen.to_string(), "127.0.0.1:7070");
    assert_eq!(config.runbooks, [PathBuf::from(".")]);
    assert_eq!(config.database, crate::journal::default_path().unwrap());
    assert_eq!(config.public_url, None);
    assert!(config.tokens.is_empty() && config.limits.is_empty() && config.notify.is_empty());
    assert_eq!(
        config.scheduler,
        SchedulerConfig {
            interval: Duration::from_secs(30),
            jitter: 0.1,
            fail_threshold: 3,
            success_threshold: 2,
            history: 120,
            concurrency: 256
        }
    );
    assert_eq!(config.alerts, AlertsConfig { max_runs_per_hour: 6, allow: Safety::Read });
    assert_eq!(config.shutdown_timeout, Duration::from_secs(30));
    assert_eq!(config.session_ttl, Duration::from_secs(12 * 60 * 60));
    assert_eq!(
        LimitConfig::default(),
        LimitConfig { environment: None, read: Role::Operator, write: Role::Operator, destructive: Role::Admin }
    );
}

#[test]
fn a_notify_without_events_gets_both() {
    let config = parse("[[notify]]\nkind = \"slack\"\nurl = \"https://hooks.slack.com/services/x\"\n").unwrap();
    assert_eq!(config.notify[0].events, [NotifyEvent::Check, NotifyEvent::Run]);
}

#[test]
fn an_unknown_key_names_its_line_and_the_key_it_may_mean() {
    assert_eq!(
        error("# runwell\nlistn = \"127.0.0.1:7070\"\n"),
        "`runwell.toml` line 2: unknown key `listn` (did you mean `listen`?); the top level knows `listen`, \
         `runbooks`, `database`, `public_url`, `tokens`, `limits`, `scheduler`, `alerts`, `notify`, \
         `shutdown_timeout`, `session_ttl`"
    );
    let text = format!("{}\n[[tokens]]\nname = \"b\"\nrol = \"admin\"\n", token("a", "viewer", DIGEST));
    assert_eq!(
        error(&text),
        "`runwell.toml` line 8: unknown key `tokens[1].rol` (did you mean `role`?); `[[tokens]]` knows `name`, \
         `role`, `sha256`"
    );
    assert_eq!(
        error("[scheduler]\ninterval = \"30s\"\nfail_treshold = 3\n"),
        "`runwell.toml` line 3: unknown key `scheduler.fail_treshold` (did you mean `fail_threshold`?); \
         `[scheduler]` knows `interval`, `jitter`, `fail_threshold`, `success_threshold`, `history`, `concurrency`"
    );
}

#[test]
fn a_key_in_the_wrong_table_is_sent_to_its_own() {
    let message = error("interval = \"30s\"\n");
    assert!(message.starts_with("`runwell.toml` line 1: unknown key `interval` (it belongs in `[scheduler]`);"));
    let message = error("[alerts]\nmax_runs_per_hour = 1\nfail_threshold = 2\n");
    assert!(message.contains("unknown key `alerts.fail_threshold` (it belongs in `[scheduler]`)"), "{message}");
}

#[test]
fn the_first_unknown_key_in_the_file_is_reported() {
    // toml's tree is sorted by name; the report follows the file.
    let message = error("zzz = 1\naaa = 2\n");
    assert!(message.starts_with("`runwell.toml` line 1: unknown key `zzz`"), "{message}");
}

#[test]
fn bad_values_name_their_line_and_key_and_say_what_to_write() {
    assert_eq!(
        error("\n\nlisten = \"localhost:7070\"\n"),
        "`runwell.toml` line 3: `listen` must be an IP address and a port, not `localhost:7070`: write \
         `listen = \"127.0.0.1:7070\"` for this machine only, or `\"0.0.0.0:7070\"` for every interface \
         (host names are not resolved)"
    );
    assert_eq!(
        error("listen = \"10.0.0.1\"\n"),
        "`runwell.toml` line 1: `listen` has no port: write `listen = \"10.0.0.1:7070\"`"
    );
    assert_eq!(
        error("[scheduler]\njitter = 0.2\ninterval = \"soon\"\n"),
        "`runwell.toml` line 3: `scheduler.interval` must be a duration like `\"30s\"`, `\"5m\"` or `\"1h30m\"`, \
         not `soon`"
    );
    assert_eq!(
        error("[scheduler]\ninterval = 30\n"),
        "`runwell.toml` line 2: `scheduler.interval` must be a duration as text, like \"30s\", \"5m\" or \"1h30m\", \
         not integer `30`"
    );
    assert_eq!(
        error("[scheduler]\nfail_threshold = 0\n"),
        "`runwell.toml` line 2: `scheduler.fail_threshold` must be a whole number from 1 to 4294967295, not 0"
    );
    assert_eq!(
        error("[scheduler]\nhistory = \"120\"\n"),
        "`runwell.toml` line 2: `scheduler.history` must be a whole number, at least 1, not string \"120\""
    );
    assert_eq!(
        error("[scheduler]\njitter = 1.5\n"),
        "`runwell.toml` line 2: `scheduler.jitter` must be a fraction between 0 and 1, like `0.1`, not 1.5"
    );
    assert_eq!(error("session_ttl = \"30s\"\n"), "`runwell.toml` line 1: `session_ttl` must be at least 1m, not `30s`");
    assert_eq!(
        error("[alerts]\nallow = \"destructiv\"\n"),
        "`runwell.toml` line 2: `alerts.allow` must be `read`, `write` or `destructive`, not `destructiv` \
         (did you mean `destructive`?)"
    );
    assert_eq!(
        error("runbooks = []\n"),
        "`runwell.toml` line 1: `runbooks` is empty: list at least one runbook file or directory, like \
         `runbooks = [\"runbooks/\"]`"
    );
    assert_eq!(
        error("public_url = \"runwell.example.com\"\n"),
        "`runwell.toml` line 1: `public_url` must be the `https://` or `http://` address people reach runwell at, \
         not `runwell.example.com`: write `public_url = \"https://runwell.example.com\"`"
    );
}

#[test]
fn a_role_typo_is_answered_with_the_roles() {
    let text = format!("{}\n{}", token("a", "viewer", DIGEST), token("b", "oprator", DIGEST));
    assert_eq!(
        error(&text),
        "`runwell.toml` line 8: `tokens[1].role` must be `viewer`, `operator` or `admin`, not `oprator` \
         (did you mean `operator`?)"
    );
}

#[test]
fn a_missing_key_says_what_to_add() {
    let message = error("listen = \"127.0.0.1:7070\"\n\n[[tokens]]\nname = \"ci-bot\"\nrole = \"operator\"\n");
    assert!(message.starts_with("`runwell.toml` line "), "{message}");
    assert!(
        message.contains(
            "`tokens[0].sha256` is missing: write the token's SHA-256, `sha256 = \"…\"` with the 64 hex characters \
             that `printf %s \"$TOKEN\" | sha256sum` prints"
        ),
        "{message}"
    );
}

#[test]
fn a_syntax_error_names_its_line() {
    let message = error("listen = \"127.0.0.1:7070\"\n[scheduler\ninterval = \"30s\"\n");
    assert!(message.starts_with("`runwell.toml` line 2: this is not valid TOML: "), "{message}");
}

#[test]
fn a_digest_must_be_64_hex_characters() {
    let message = error(&token("a", "admin", &DIGEST[..40]));
    assert_eq!(
        message,
        "`runwell.toml` line 4: `tokens[0].sha256` has 40 hex characters, but a SHA-256 has 64: write all that \
         `printf %s \"$TOKEN\" | sha256sum` prints before the ` -`"
    );
    let message = error(&token("a", "admin", "not-a-hash"));
    assert!(message.ends_with("`tokens[0].sha256` must be the token's SHA-256 in 64 hex characters (0-9, a-f): `printf %s \"$TOKEN\" | sha256sum`"), "{message}");
    let message = error(&token("a", "admin", &format!("{DIGEST}  -")));
    assert!(message.ends_with("looks like `sha256sum` output: keep only the 64 hex characters before the space"));
    assert!(message.contains("line 4"), "{message}");
}

#[test]
fn a_token_pasted_in_clear_is_refused_without_being_repeated() {
    for clear in ["Zm9vYmFyYmF6cXV4cXV1eGNvcmdl+/ab=", "rw_live_8fK2mQ9zLx7vT3nB", &format!("{DIGEST}0")] {
        let message = error(&token("ci-bot", "operator", clear));
        assert!(!message.contains(clear), "the token is echoed: {message}");
        if clear.len() == 65 {
            assert!(message.contains("has 65 hex characters"), "{message}");
            continue;
        }
        assert_eq!(
            message,
            "`runwell.toml` line 4: `tokens[0].sha256` looks like a token pasted in clear, not its SHA-256: put the \
             64 hex characters that `printf %s \"$TOKEN\" | sha256sum` prints here, keep the token itself out of \
             this file, and replace the token if the file was shared"
        );
    }
}

#[test]
fn a_syntax_error_on_a_secret_line_does_not_quote_it() {
    let secret = "s3cr3t-t0ken-value-0123456789";
    let message = error(&format!("[[tokens]]\nname = \"a\"\nrole = \"admin\"\nsha256 = \"{secret}\n"));
    assert!(message.contains("line 4"), "{message}");
    assert!(!message.contains(secret), "{message}");
}

#[test]
fn names_and_digests_are_unique() {
    let other = "dbc3535909e19a72f33434033dea37ec08111c765dec6425e4d7365ed84046cc";
    let text = format!("{}\n{}", token("ci-bot", "viewer", DIGEST), token("ci-bot", "admin", other));
    assert_eq!(
        error(&text),
        "`runwell.toml` line 7: `tokens[1].name` `ci-bot` is already the name of another token: give each token \
         its own name"
    );
    let text = format!("{}\n{}", token("ci-bot", "viewer", DIGEST), token("alice", "admin", DIGEST));
    assert_eq!(
        error(&text),
        "`runwell.toml` line 9: `tokens[1].sha256` is the same as token `ci-bot`'s: give each caller a token of its \
         own, so the journal can tell them apart"
    );
}

#[test]
fn limits_need_at_least_operator_and_grow_with_danger() {
    let message = error("\n[[limits]]\nenvironment = \"dev\"\nread = \"viewer\"\n");
    assert!(
        message.starts_with(
            "`runwell.toml` line 4: `limits[0].read` is `viewer`, but starting a run needs at least `operator`"
        ),
        "{message}"
    );
    let message = error("[[limits]]\nenvironment = \"prod\"\nwrite = \"admin\"\ndestructive = \"operator\"\n");
    assert!(
        message.contains(
            "line 4: `limits[0].destructive` asks less for riskier procedures (read `operator`, write `admin`, destructive \
             `operator`)"
        ),
        "{message}"
    );
    let message = error("[[limits]]\nenvironment = \"prod\"\n[[limits]]\nenvironment = \"prod\"\n");
    assert!(message.contains("line 4: `limits[1].environment` `prod` already has a `[[limits]]` entry"), "{message}");
    let message = error("[[limits]]\nwrite = \"admin\"\n[[limits]]\ndestructive = \"admin\"\n");
    assert!(message.contains("line 3: `limits[1].environment` is left out in two `[[limits]]` entries"), "{message}");
}

#[test]
fn a_postgres_database_is_not_yet_supported_and_its_url_stays_secret() {
    let message = error("database = \"postgres://runwell:hunter2@db.internal/runwell\"\n");
    assert!(message.starts_with("`runwell.toml` line 1: `database` is a PostgreSQL URL"), "{message}");
    assert!(message.contains("not yet supported"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn notification_urls_never_show_whole() {
    let config = parse(EXAMPLE).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("T000/B000"), "{debug}");
    assert!(!debug.contains("key=XXXXXXXX"), "{debug}");
    assert!(debug.contains("SecretUrl(https://hooks.slack.com/********)"), "{debug}");
    assert_eq!(config.notify[1].url.to_string(), "https://hooks.example.com/********");
    // Digests are kept out too: they let anyone test guesses offline.
    assert!(!debug.contains(DIGEST), "{debug}");
    assert!(debug.contains("TokenDigest(********)"), "{debug}");

    let message = error("[[notify]]\nkind = \"slack\"\nurl = \"ftp://hooks.example.com/T000/secret\"\n");
    assert!(message.contains("line 3: `notify[0].url` must start with `https://` or `http://`"), "{message}");
    assert!(!message.contains("secret"), "{message}");
    let message = error("[[notify]]\nkind = \"slack\"\nurl = \"hooks.example.com/T000/secret\"\n");
    assert!(message.contains("`notify[0].url` is not a URL (relative URL without a base)"), "{message}");
    assert!(!message.contains("secret"), "{message}");
    let message = error("[[notify]]\nkind = \"slak\"\nurl = \"https://x.example/\"\n");
    assert!(message.contains("`notify[0].kind` must be `webhook` or `slack`, not `slak` (did you mean `slack`?)"));
    let message = error("[[notify]]\nkind = \"slack\"\nurl = \"https://x.example/\"\nevents = []\n");
    assert!(message.contains("line 4: `notify[0].events` is empty"), "{message}");
}

#[test]
fn serving_beyond_loopback_needs_a_token() {
    let open = parse("listen = \"0.0.0.0:7070\"\n").unwrap();
    assert_eq!(
        open.binds_safely(),
        Err("runwell will not listen on 0.0.0.0:7070 without any `[[tokens]]`: anyone who can reach that address \
             could start runs. Add a `[[tokens]]` entry (name, role and the sha256 of a token) to the configuration, \
             or listen on this machine only with `listen = \"127.0.0.1:7070\"`"
            .to_string())
    );
    assert!(parse("listen = \"127.0.0.1:7070\"\n").unwrap().binds_safely().is_ok());
    assert!(parse("listen = \"[::1]:7070\"\n").unwrap().binds_safely().is_ok());
    let guarded = parse(&format!("listen = \"0.0.0.0:7070\"\n{}", token("ci-bot", "operator", DIGEST))).unwrap();
    assert!(guarded.binds_safely().is_ok());
}

#[test]
fn load_reads_a_file_and_resolves_paths_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runwell.toml");
    std::fs::write(&path, "runbooks = [\"runbooks/\", \"/srv/ops\"]\ndatabase = \"state/journal.db\"\n").unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(config.runbooks, [dir.path().join("runbooks/"), PathBuf::from("/srv/ops")]);
    assert_eq!(config.database, dir.path().join("state/journal.db"));

    std::fs::write(&path, "listen = 7070\n").unwrap();
    let message = Config::load(&path).unwrap_err().to_string();
    assert_eq!(
        message,
        format!(
            "`{}` line 1: `listen` must be an IP address and port as text, like \"127.0.0.1:7070\", not integer `7070`",
            path.display()
        )
    );

    let missing = dir.path().join("nope.toml");
    let message = Config::load(&missing).unwrap_err().to_string();
    assert!(message.starts_with(&format!("cannot read the configuration `{}`: ", missing.display())), "{message}");
}
