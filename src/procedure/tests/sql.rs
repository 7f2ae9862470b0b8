//! SQL steps against the machine's `PostgreSQL` (trust on 127.0.0.1:5432) in
//! schemas of their own, a password-protected server of our own, and peers
//! that answer garbage, nothing, or without end.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

use super::{Tape, wait_until};
use crate::check::testing::{LOCAL_POSTGRES, Peer, PostgresServer, fake_peer, free_port, setup_client};
use crate::procedure::{CHUNK, Error, Recorder, Retries, SqlStep, Status, StepOutcome, run_sql, with_retries};

const TIMEOUT: Duration = Duration::from_secs(30);

/// A name no other test, or test process, uses.
fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn step(sql: &str) -> SqlStep {
    SqlStep { id: unique("sql"), url: LOCAL_POSTGRES.to_owned(), sql: sql.to_owned(), timeout: TIMEOUT }
}

async fn run(step: &SqlStep) -> (StepOutcome, Tape) {
    let mut tape = Tape::default();
    let outcome = run_sql(step, &mut tape, &CancellationToken::new()).await.expect("the step runs");
    (outcome, tape)
}

fn error(message: &str) -> Status {
    Status::Error { message: message.to_owned() }
}

/// A schema of our own, dropped with everything in it when the test ends,
/// passed or failed.
struct Scratch {
    name: String,
    client: Client,
}

impl Scratch {
    async fn new() -> Scratch {
        let name = unique("runwell_step");
        let client = setup_client(LOCAL_POSTGRES).await;
        client.batch_execute(&format!("create schema {name}")).await.expect("create the schema");
        Scratch { name, client }
    }

    async fn count(&self, table: &str) -> i64 {
        let sql = format!("select count(*) from {}.{table}", self.name);
        self.client.query_one(&sql, &[]).await.expect("count the rows").get(0)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let sql = format!("drop schema if exists {} cascade", self.name);
        // A thread and a runtime of its own: this may run on the test's
        // runtime, which cannot block on itself.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async { setup_client(LOCAL_POSTGRES).await.batch_execute(&sql).await })
        });
        let _ = dropped.join();
    }
}

/// How many sessions `application` has on the machine's server (in `state`
/// when given): how a test sees what the step left running there.
async fn sessions(client: &Client, application: &str, state: Option<&str>) -> i64 {
    let sql = "select count(*) from pg_stat_activity where application_name = $1 and ($2::text is null or state = $2)";
    client.query_one(sql, &[&application, &state]).await.expect("read pg_stat_activity").get(0)
}

/// psql's own output for `sql`.
async fn psql(sql: &str) -> String {
    let output = tokio::process::Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", sql])
        .env("PGCLIENTENCODING", "UTF8")
        .output()
        .await
        .expect("psql runs");
    assert!(output.status.success(), "psql failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("psql prints UTF-8")
}

#[tokio::test]
async fn results_and_command_tags_print_exactly_as_psql_prints_them() {
    let block = |schema: &str| {
        format!(
            "create table {schema}.jobs (id int, name text, cost numeric, note text, done bool);
             insert into {schema}.jobs values (1, 'build', 2.5, null, true), (22, 'déploiement', 10, 'two\nlines', false);
             update {schema}.jobs set cost = cost + 1;
             select * from {schema}.jobs order by id;
             select 0 as none where false;
             select E'a\\tb' as tab, E'x\\001y' as ctl, 'wide 日本' as w;
             delete from {schema}.jobs;"
        )
    };
    let (ours, theirs) = (Scratch::new().await, Scratch::new().await);
    let (outcome, tape) = run(&step(&block(&ours.name))).await;
    assert_eq!(outcome.status, Status::Succeeded);
    let expected = psql(&block(&theirs.name)).await;
    assert_eq!(tape.stdout(), expected);
    assert!(expected.starts_with("CREATE TABLE\nINSERT 0 2\nUPDATE 2\n id |    name     | cost |"), "{expected}");
    assert!(expected.ends_with("(1 row)\n\nDELETE 2\n"), "{expected}");
    assert_eq!(tape.stderr(), "");
    assert_eq!(outcome.stdout_bytes, expected.len() as u64);
}

#[tokio::test]
async fn an_sql_error_fails_the_step_with_its_sqlstate_and_the_line_it_points_at() {
    let (outcome, tape) = run(&step("select 1 as one;\nselect * from no_such_table_here")).await;
    assert_eq!(outcome.status, error("relation \"no_such_table_here\" does not exist (SQLSTATE 42P01)"));
    assert_eq!(
        tape.stderr(),
        "ERROR:  42P01: relation \"no_such_table_here\" does not exist\n\
         LINE 2: select * from no_such_table_here\n\
         \x20                     ^\n"
    );
    assert_eq!(tape.stdout(), " one \n-----\n   1\n(1 row)\n\n");
}

#[tokio::test]
async fn a_block_is_one_transaction_so_an_error_commits_nothing_of_it() {
    let scratch = Scratch::new().await;
    let table = format!("{}.seen", scratch.name);
    scratch.client.batch_execute(&format!("create table {table} (x int primary key)")).await.unwrap();
    let block =
        format!("insert into {table} values (1);\ninsert into {table} values (2);\ninsert into {table} values (1);");
    let (outcome, tape) = run(&step(&block)).await;
    assert_eq!(outcome.status, error("duplicate key value violates unique constraint \"seen_pkey\" (SQLSTATE 23505)"));
    assert!(tape.stderr().ends_with("DETAIL:  Key (x)=(1) already exists.\n"), "{}", tape.stderr());
    assert_eq!(tape.stdout(), "INSERT 0 1\nINSERT 0 1\n");
    assert_eq!(scratch.count("seen").await, 0, "the two inserts before the error were rolled back");
}

#[tokio::test]
async fn notices_go_to_stderr_as_psql_prints_them() {
    let scratch = Scratch::new().await;
    let block = format!(
        "drop table if exists {}.nothing; do $$ begin raise notice 'hello %', 42; end $$; select 'after' as x",
        scratch.name
    );
    let (outcome, tape) = run(&step(&block)).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(tape.stderr(), "NOTICE:  table \"nothing\" does not exist, skipping\nNOTICE:  hello 42\n");
    assert_eq!(tape.stdout(), "DROP TABLE\nDO\n   x   \n-------\n after\n(1 row)\n\n");
}

#[tokio::test]
async fn an_empty_block_succeeds_printing_nothing() {
    let (outcome, tape) = run(&step("  -- nothing to do\n")).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!((tape.stdout(), tape.stderr()), (String::new(), String::new()));
}

/// Regression: dropping the connection alone leaves a sleeping or
/// lock-waiting backend running (and, given time, committing); the cancel
/// request is what stops it.
#[tokio::test]
async fn a_query_past_its_timeout_is_cancelled_on_the_server_not_just_disconnected() {
    let step = SqlStep { timeout: Duration::from_secs(5), ..step("select pg_sleep(600)") };
    let application = format!("runwell/{}", step.id);
    let client = setup_client(LOCAL_POSTGRES).await;
    let running = wait_until("the query to run on the server", || async {
        sessions(&client, &application, Some("active")).await == 1
    });
    let ((outcome, tape), ()) = tokio::join!(run(&step), running);
    assert_eq!(outcome.status, Status::TimedOut);
    assert_eq!(
        tape.stderr(),
        "timed out after 5s waiting for 127.0.0.1:5432 to answer\nasked 127.0.0.1:5432 to cancel the query\n"
    );
    wait_until("the query to be gone from the server", || async { sessions(&client, &application, None).await == 0 })
        .await;
}

#[tokio::test]
async fn rows_stream_before_the_query_ends_and_an_abort_cancels_it_on_the_server() {
    // Rows 1 to 2999 come at once; row 3000 sleeps. The abort comes when
    // the first batch has been printed, long before the query could end.
    let step = step("select n, case when n = 3000 then pg_sleep(600) end as nap from generate_series(1, 3000) n");
    let application = format!("runwell/{}", step.id);
    let abort = CancellationToken::new();
    let mut tape = Tape::cancelling_on("\n 1000 | \n", &abort);
    let outcome = run_sql(&step, &mut tape, &abort).await.expect("the step runs");
    assert_eq!(outcome.status, Status::Aborted);
    assert!(tape.stdout().starts_with("  n   | nap \n------+-----\n    1 | \n"), "{}", tape.stdout());
    assert_eq!(tape.stderr(), "asked 127.0.0.1:5432 to cancel the query\n");
    let client = setup_client(LOCAL_POSTGRES).await;
    wait_until("the query to be gone from the server", || async { sessions(&client, &application, None).await == 0 })
        .await;
}

#[tokio::test]
async fn a_million_rows_stream_through_in_bounded_chunks() {
    let (outcome, tape) = run(&step("select n from generate_series(1, 1000000) n")).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert!(tape.stdout_tail().ends_with("\n  999999\n 1000000\n(1000000 rows)\n\n"), "{}", tape.stdout_tail());
    assert!(tape.largest_chunk <= CHUNK, "{}", tape.largest_chunk);
    assert_eq!(outcome.stdout_bytes, tape.total);
    // Batches of 1,000 rows: the output reached the recorder in many pieces,
    // not in one at the end.
    assert!(tape.chunks > 100, "{} chunks", tape.chunks);
}

#[tokio::test]
async fn a_failing_block_is_retried_and_every_attempt_recorded() {
    let scratch = Scratch::new().await;
    let sequence = format!("{}.tries", scratch.name);
    scratch.client.batch_execute(&format!("create sequence {sequence}")).await.unwrap();
    // Sequences ignore rollbacks: the third attempt draws 3 and passes.
    let step = step(&format!("select 1 / (case when nextval('{sequence}') < 3 then 0 else 1 end) as ok"));
    let abort = CancellationToken::new();
    let mut tape = Tape::default();
    let retries = Retries { count: 5, delay: Duration::ZERO };
    let outcomes =
        with_retries(retries, &mut tape, &abort, async |r: &mut dyn Recorder| run_sql(&step, r, &abort).await)
            .await
            .unwrap();
    let statuses: Vec<Status> = outcomes.into_iter().map(|o| o.status).collect();
    let division = error("division by zero (SQLSTATE 22012)");
    assert_eq!(statuses, [division.clone(), division, Status::Succeeded]);
    assert_eq!(tape.attempts.last().map(String::as_str), Some("finished 3 succeeded"));
}

#[tokio::test]
async fn connection_failures_name_the_server_and_never_the_password() {
    let server = PostgresServer::start().await;
    let secret = PostgresServer::PASSWORD;
    let at = format!("127.0.0.1:{}", server.port);

    let (outcome, tape) = run(&SqlStep { url: server.url(), ..step("select current_user as who") }).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(tape.stdout(), "   who    \n----------\n postgres\n(1 row)\n\n");

    let wrong = server.url().replace(secret, "not-the-password");
    let (outcome, tape) = run(&SqlStep { url: wrong, ..step("select 1") }).await;
    assert_eq!(
        outcome.status,
        error(&format!(
            "{at} refused the connection: password authentication failed for user \"postgres\" (SQLSTATE 28P01)"
        ))
    );
    tape.assert_never_shows("not-the-password", &outcome);

    let none = format!("postgres://postgres@{at}/postgres");
    let (outcome, _) = run(&SqlStep { url: none, ..step("select 1") }).await;
    assert_eq!(
        outcome.status,
        error(&format!("{at} asks for a password; put it in the connection's URL (`postgres://user:PASSWORD@…`)"))
    );

    let refused_port = free_port();
    let url = format!("postgres://postgres:{secret}@127.0.0.1:{refused_port}/postgres");
    let (outcome, tape) = run(&SqlStep { url, ..step("select 1") }).await;
    assert_eq!(outcome.status, error(&format!("connection refused by 127.0.0.1:{refused_port}")));
    tape.assert_never_shows(secret, &outcome);

    let unusable = SqlStep { url: format!("postgres://postgres:{secret}@127.0.0.1:notaport/x"), ..step("select 1") };
    let refused = run_sql(&unusable, &mut Tape::default(), &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(refused, Error::Invalid { .. }), "{refused:?}");
    assert!(!refused.to_string().contains(secret), "{refused}");
}

#[tokio::test]
async fn garbage_silence_and_endless_answers_fail_clearly_and_soon() {
    let peer = fake_peer(Peer::Sends(b"HTTP/1.1 400 Bad Request\r\n\r\n")).await;
    let (outcome, _) = run(&SqlStep { url: format!("postgres://u@{peer}/db"), ..step("select 1") }).await;
    assert_eq!(
        outcome.status,
        error(&format!("{peer}: the reply is not PostgreSQL's protocol: got `HTTP/1.1 400 Bad Request`"))
    );

    // A plausible first byte declaring a message of gigabytes.
    let peer = fake_peer(Peer::Endless(b"E")).await;
    let (outcome, _) = run(&SqlStep { url: format!("postgres://u@{peer}/db"), ..step("select 1") }).await;
    assert_eq!(
        outcome.status,
        error(&format!(
            "{peer}: the server sent a message larger than 16 MiB (a row that wide?); select fewer or narrower columns"
        ))
    );

    let peer = fake_peer(Peer::Silent).await;
    let silent =
        SqlStep { url: format!("postgres://u@{peer}/db"), timeout: Duration::from_millis(300), ..step("select 1") };
    let (outcome, tape) = run(&silent).await;
    assert_eq!(outcome.status, Status::TimedOut);
    assert_eq!(tape.stderr(), format!("timed out after 300ms connecting to {peer}\n"));
}

#[tokio::test]
async fn a_step_asked_to_run_after_the_abort_connects_to_nothing() {
    let peer = fake_peer(Peer::Sends(b"garbage")).await;
    let abort = CancellationToken::new();
    abort.cancel();
    let step = SqlStep { url: format!("postgres://u@{peer}/db"), ..step("select 1") };
    let outcome = run_sql(&step, &mut Tape::default(), &abort).await.unwrap();
    assert_eq!(outcome.status, Status::Aborted);
}

#[tokio::test]
async fn tls_is_refused_before_connecting() {
    let step = SqlStep { url: format!("{LOCAL_POSTGRES}?sslmode=require"), ..step("select 1") };
    let refused = run_sql(&step, &mut Tape::default(), &CancellationToken::new()).await.unwrap_err();
    assert!(refused.to_string().contains("`sslmode=require` is not supported yet"), "{refused}");
}
