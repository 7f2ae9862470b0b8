//! The postgres probe against the machine's postgres (trust on
//! 127.0.0.1:5432), a postgres and a pgbouncer of our own that we stop,
//! and loopback peers that answer garbage or nothing.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::check::Status;
use crate::check::testing::{
    LOCAL_POSTGRES, Peer, PostgresServer, dir_owned_by, fake_peer, free_port, judge, params, setup_client, spawn,
    wait_until,
};

const TIMEOUT: Duration = Duration::from_secs(10);
const LOCAL: &str = LOCAL_POSTGRES;

async fn check(target: &str, given: serde_json::Value) -> Result<Observation, Failure> {
    probe(target, &params(given), TIMEOUT).await
}

async fn query(sql: &str) -> Result<Observation, Failure> {
    check(LOCAL, json!({ "query": sql })).await
}

#[tokio::test]
async fn a_running_server_is_accepting_connections_with_its_version() {
    let seen = check(LOCAL, json!({})).await.expect("ready");
    assert!(seen.observed.starts_with("accepting connections (PostgreSQL "), "{}", seen.observed);
    assert_eq!(seen.fields["ready"], json!(true));
    assert_eq!(judge(&seen, "server_version is string and ready"), Verdict::ok());
}

#[tokio::test]
async fn a_query_returns_rows_of_named_values() {
    let seen = query("select 1 as one").await.expect("rows");
    assert_eq!(seen.fields["rows"], json!([{"one": 1}]));
    assert_eq!(seen.fields["row_count"], json!(1));
    assert_eq!(seen.fields["columns"], json!(["one"]));
    assert_eq!(seen.observed, "1 row: one = 1");
    assert_eq!(judge(&seen, "rows[0].one == 1"), Verdict::ok());

    let recovery = query("select pg_is_in_recovery() as replica").await.expect("rows");
    assert_eq!(judge(&recovery, "not rows[0].replica"), Verdict::ok());
}

#[tokio::test]
async fn columns_keep_their_types_from_a_table() {
    let schema = format!("runwell_check_{}_{}", std::process::id(), free_port());
    let client = setup_client(LOCAL).await;
    client
        .batch_execute(&format!(
            "create schema {schema};
             create table {schema}.jobs (id int, name text, done bool, cost numeric, meta jsonb, code text);
             insert into {schema}.jobs values (1, 'build', true, 2.5, '{{\"tries\": 2}}', '007'), (2, null, false, 10, null, 'x');"
        ))
        .await
        .expect("create the table");
    let seen = query(&format!("select * from {schema}.jobs order by id")).await;
    client.batch_execute(&format!("drop schema {schema} cascade")).await.expect("drop the schema");
    let seen = seen.expect("rows");
    assert_eq!(
        seen.fields["rows"],
        json!([
            {"id": 1, "name": "build", "done": true, "cost": 2.5, "meta": {"tries": 2}, "code": "007"},
            {"id": 2, "name": null, "done": false, "cost": 10, "meta": null, "code": "x"},
        ])
    );
    assert_eq!(seen.observed, "2 rows");
}

#[tokio::test]
async fn a_false_expectation_and_an_sql_error_are_critical() {
    let seen = query("select 1 as one").await.expect("rows");
    assert_eq!(judge(&seen, "rows[0].one == 2").status, Status::Critical);

    let failure = query("select * from no_such_table").await.unwrap_err();
    assert_eq!(failure, Failure::critical("relation \"no_such_table\" does not exist (SQLSTATE 42P01)"));
}

#[tokio::test]
async fn a_query_cannot_write_even_by_ending_the_transaction() {
    let table = format!("runwell_never_{}_{}", std::process::id(), free_port());
    let refused = query(&format!("create table {table} (x int)")).await.unwrap_err();
    assert_eq!(refused, Failure::critical("cannot execute CREATE TABLE in a read-only transaction (SQLSTATE 25006)"));
    let smuggled = query(&format!("select 1; commit; create table {table} (x int)")).await.unwrap_err();
    assert!(smuggled.0.reason.ends_with("(SQLSTATE 42601)"), "{}", smuggled.0.reason);
    let exists = query(&format!("select to_regclass('{table}') is not null as found")).await.expect("rows");
    assert_eq!(exists.fields["rows"], json!([{"found": false}]));
}

#[tokio::test]
async fn rows_stop_at_a_thousand_and_the_check_says_so() {
    let seen = query("select generate_series(1, 5000) as n").await.expect("rows");
    assert_eq!(seen.fields["row_count"], json!(1000));
    assert_eq!(seen.fields["truncated"], json!(true));
    assert_eq!(seen.observed, "first 1000 rows, more not read");
}

#[tokio::test]
async fn an_answer_past_the_read_limit_is_critical_not_read_whole() {
    let failure = query("select repeat('x', 2000000) as big").await.unwrap_err();
    assert_eq!(failure, Failure::critical("the answer is larger than 1 MiB; add a LIMIT"));
}

#[tokio::test]
async fn an_unknown_role_means_the_server_is_up_but_a_query_cannot_run() {
    let target = "postgres://no_such_role_here@127.0.0.1:5432/postgres";
    let seen = check(target, json!({})).await.expect("up");
    assert!(seen.observed.starts_with("accepting connections, but role"), "{}", seen.observed);
    assert_eq!(seen.default, Verdict::ok());
    let failure = check(target, json!({"query": "select 1"})).await.unwrap_err();
    assert!(failure.0.reason.ends_with("(SQLSTATE 28000)"), "{}", failure.0.reason);
}

#[tokio::test]
async fn sslmode_require_is_unknown_for_now() {
    let failure = check("postgres://postgres@127.0.0.1:5432/postgres?sslmode=require", json!({})).await.unwrap_err();
    assert_eq!(failure.0.status, Status::Unknown);
}

#[tokio::test]
async fn our_own_server_is_ready_while_up_and_refused_once_stopped() {
    let mut server = PostgresServer::start().await;
    let url = server.url();
    let seen = check(&url, json!({"query": "select current_user as who"})).await.expect("rows");
    assert_eq!(seen.fields["rows"], json!([{"who": "postgres"}]));

    let no_password = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    let asks = check(&no_password, json!({})).await.expect("up");
    assert_eq!(asks.observed, "accepting connections, but the server asks for a password; give `password`");
    let wrong = check(&no_password, json!({"password": "wrong"})).await.expect("up");
    assert!(wrong.observed.ends_with("(SQLSTATE 28P01)"), "{}", wrong.observed);
    assert!(!wrong.observed.contains("wrong"));
    let wrong_query = check(&no_password, json!({"password": "wrong", "query": "select 1"})).await.unwrap_err();
    assert!(wrong_query.0.reason.starts_with("password authentication failed"), "{}", wrong_query.0.reason);

    server.stop().await;
    let refused = check(&url, json!({})).await.unwrap_err();
    assert_eq!(refused, Failure::critical(format!("connection refused by 127.0.0.1:{}", server.port)));
}

#[tokio::test]
async fn pgbouncer_admin_console_answers_show_pools() {
    let dir = dir_owned_by("postgres");
    let port = free_port();
    let users = dir.path().join("users.txt");
    std::fs::write(&users, "\"pgbouncer\" \"\"\n\"postgres\" \"\"\n").expect("write users");
    let ini = dir.path().join("pgbouncer.ini");
    std::fs::write(
        &ini,
        format!(
            "[databases]\npostgres = host=127.0.0.1 port=5432 dbname=postgres\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {}\nadmin_users = pgbouncer\n",
            users.display()
        ),
    )
    .expect("write the ini");
    let _bouncer = spawn("pgbouncer", &[&ini.display().to_string()], Some("postgres"));
    let address = format!("127.0.0.1:{port}");
    wait_until("pgbouncer", || async { tokio::net::TcpStream::connect(&address).await.is_ok() }).await;
    let console = format!("postgres://pgbouncer@127.0.0.1:{port}/pgbouncer");

    let ready = check(&console, json!({"pgbouncer": true})).await.expect("ready");
    assert!(ready.observed.starts_with("accepting connections (PgBouncer 1."), "{}", ready.observed);

    let pools = check(&console, json!({"pgbouncer": true, "query": "SHOW POOLS"})).await.expect("pools");
    assert_eq!(
        judge(&pools, r#"rows | selectattr("database", "eq", "pgbouncer") | list | length == 1"#),
        Verdict::ok()
    );
    assert_eq!(judge(&pools, "rows[0].cl_active is number"), Verdict::ok());

    let refused = check(&console, json!({"pgbouncer": true, "query": "PAUSE"})).await.unwrap_err();
    assert_eq!(refused.0.status, Status::Unknown);
}

#[tokio::test]
async fn garbage_on_the_wire_is_not_postgres() {
    let peer = fake_peer(Peer::Sends(b"HTTP/1.1 400 Bad Request\r\n\r\n")).await;
    let failure = check(&format!("postgres://u@{peer}/db"), json!({})).await.unwrap_err();
    assert!(
        failure.0.reason.starts_with("the reply is not PostgreSQL's protocol: got `HTTP/1.1 400 Bad Request"),
        "{}",
        failure.0.reason
    );
    // A plausible first byte with a length of gigabytes is refused at the header.
    let peer = fake_peer(Peer::Endless(b"E")).await;
    let failure = check(&format!("postgres://u@{peer}/db"), json!({})).await.unwrap_err();
    assert_eq!(failure, Failure::critical("the answer is larger than 1 MiB; add a LIMIT"));
}

#[tokio::test]
async fn a_silent_server_is_critical_within_the_timeout() {
    let peer = fake_peer(Peer::Silent).await;
    let target = format!("postgres://u@{peer}/db");
    let failure = probe(&target, &params(json!({})), Duration::from_millis(300)).await.unwrap_err();
    assert_eq!(failure, Failure::critical(format!("no answer from {peer} within 300ms")));
}
