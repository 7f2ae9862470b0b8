//! Redis steps against the machine's Redis (127.0.0.1:6379, keys of their
//! own, deleted afterwards), `redis-server`s of our own (a password, a
//! keyspace to compare with `redis-cli`), and peers that answer garbage,
//! nothing, or without end.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Tape;
use crate::check::MAX_READ;
use crate::check::redis::Connection;
use crate::check::testing::{Peer, RedisServer, fake_peer, free_port};
use crate::procedure::{Error, Recorder, RedisStep, Retries, Status, StepOutcome, run_redis, with_retries};

const TIMEOUT: Duration = Duration::from_secs(30);
const MACHINE: &str = "127.0.0.1:6379";

/// Key names on the machine's Redis no other test uses, deleted when the
/// test ends, passed or failed.
struct Keys(Vec<String>);

impl Keys {
    fn new(count: usize) -> Keys {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let test = NEXT.fetch_add(1, Ordering::Relaxed);
        Keys((0..count).map(|n| format!("runwell:step-test:{}:{test}:{n}", std::process::id())).collect())
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        let keys = std::mem::take(&mut self.0);
        // A runtime of its own: this may run on the test's, which cannot
        // block on itself.
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                let mut connection = Connection::connect(MACHINE, MAX_READ).await.expect("reach the machine's redis");
                let mut words = vec!["DEL"];
                words.extend(keys.iter().map(String::as_str));
                connection.call(&words).await.expect("DEL");
            });
        });
        let _ = deleted.join();
    }
}

fn step(url: &str, commands: &[&[&str]]) -> RedisStep {
    RedisStep {
        id: "redis-test".to_owned(),
        url: url.to_owned(),
        commands: commands.iter().map(|words| words.iter().map(|w| (*w).to_owned()).collect()).collect(),
        timeout: TIMEOUT,
    }
}

fn machine(commands: &[&[&str]]) -> RedisStep {
    step(&format!("redis://{MACHINE}"), commands)
}

async fn run(step: &RedisStep) -> (StepOutcome, Tape) {
    let mut tape = Tape::default();
    let outcome = run_redis(step, &mut tape, &CancellationToken::new()).await.expect("the step runs");
    (outcome, tape)
}

fn error(message: &str) -> Status {
    Status::Error { message: message.to_owned() }
}

/// What `redis-cli` prints at a terminal for one command.
async fn redis_cli(port: u16, words: &[&str]) -> String {
    let output = tokio::process::Command::new("redis-cli")
        .args(["--no-raw", "-p", &port.to_string()])
        .args(words)
        .output()
        .await
        .expect("redis-cli runs");
    assert!(output.status.success(), "redis-cli failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("redis-cli prints ASCII")
}

#[tokio::test]
async fn replies_print_exactly_as_redis_cli_prints_them() {
    let server = RedisServer::start(None).await;
    server.run(&["RPUSH", "list", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]).await;
    server.run(&["HSET", "hash", "field", "two\nlines", "name", "été \"quoted\" \\ \t"]).await;
    server.run(&["XADD", "stream", "1-1", "kind", "deploy", "who", "ops team"]).await;
    let reads: &[&[&str]] = &[
        &["LRANGE", "list", "0", "-1"],
        &["HGETALL", "hash"],
        &["XRANGE", "stream", "-", "+"],
        &["LRANGE", "nothing", "0", "-1"],
        &["GET", "nothing"],
        &["LLEN", "list"],
        &["PING"],
        &["TYPE", "hash"],
        &["CONFIG", "GET", "maxmemory-polic*"],
    ];
    let (outcome, tape) = run(&step(&server.url(), reads)).await;
    assert_eq!(outcome.status, Status::Succeeded);
    let mut expected = String::new();
    for words in reads {
        expected.push_str(&redis_cli(server.port, words).await);
    }
    assert_eq!(tape.stdout(), expected);
    assert!(expected.starts_with(" 1) \"a\"\n 2) \"b\"\n"), "{expected}");
    assert!(expected.contains("1) 1) \"1-1\"\n   2) 1) \"kind\"\n      2) \"deploy\"\n"), "{expected}");
    assert!(expected.contains("(empty array)\n(nil)\n(integer) 11\nPONG\nhash\n"), "{expected}");
}

#[tokio::test]
async fn writes_are_sent_as_written_with_a_spaced_value_as_one_argument() {
    let keys = Keys::new(2);
    let (text, counter) = (keys.0[0].as_str(), keys.0[1].as_str());
    let (outcome, tape) = run(&machine(&[
        &["SET", text, "a value with spaces"],
        &["GET", text],
        &["INCR", counter],
        &["DEL", text, counter],
    ]))
    .await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(tape.stdout(), "OK\n\"a value with spaces\"\n(integer) 1\n(integer) 2\n");
    assert_eq!(outcome.stdout_bytes, tape.stdout.len() as u64);
}

#[tokio::test]
async fn an_error_reply_fails_the_step_and_the_commands_after_it_are_not_sent() {
    let keys = Keys::new(2);
    let (key, after) = (keys.0[0].as_str(), keys.0[1].as_str());
    let (outcome, tape) =
        run(&machine(&[&["SET", key, "1"], &["LPUSH", key, "x"], &["SET", after, "1"], &["PING"]])).await;
    let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
    assert_eq!(outcome.status, error(&format!("`LPUSH` failed: {wrongtype}; the 2 commands after it were not sent")));
    assert_eq!(tape.stdout(), "OK\n");
    assert_eq!(tape.stderr(), format!("(error) {wrongtype}\n"));
    let (_, exists) = run(&machine(&[&["EXISTS", after]])).await;
    assert_eq!(exists.stdout(), "(integer) 0\n");
}

#[tokio::test]
async fn the_url_authenticates_and_selects_and_its_password_never_shows() {
    const SECRET: &str = "hunter2-zebra";
    let server = RedisServer::start(Some(SECRET)).await;
    let at = server.address();
    let (outcome, tape) =
        run(&step(&format!("redis://:{SECRET}@{at}/2"), &[&["SET", "k", "v"], &["CLIENT", "INFO"]])).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert!(tape.stdout().contains(" db=2 "), "{}", tape.stdout());
    tape.assert_never_shows(SECRET, &outcome);

    let (outcome, tape) = run(&step(&format!("redis://default:{SECRET}@{at}"), &[&["GET", "k"]])).await;
    assert_eq!(tape.stdout(), "(nil)\n", "database 0 is not database 2");
    tape.assert_never_shows(SECRET, &outcome);

    let (outcome, tape) = run(&step(&format!("redis://:wrong-{SECRET}@{at}"), &[&["PING"]])).await;
    assert_eq!(
        outcome.status,
        error(&format!("{at}: AUTH failed: WRONGPASS invalid username-password pair or user is disabled."))
    );
    tape.assert_never_shows(SECRET, &outcome);

    let (outcome, _) = run(&step(&server.url(), &[&["PING"]])).await;
    assert_eq!(outcome.status, error("`PING` failed: NOAUTH Authentication required."));

    let stopped = server.url();
    server.stop().await;
    let (outcome, _) = run(&step(&stopped, &[&["PING"]])).await;
    assert_eq!(outcome.status, error(&format!("connection refused by {at}")));
}

#[tokio::test]
async fn a_command_past_the_timeout_times_out_naming_what_it_waited_for() {
    let keys = Keys::new(1);
    let step = RedisStep { timeout: Duration::from_millis(300), ..machine(&[&["PING"], &["BLPOP", &keys.0[0], "0"]]) };
    let (outcome, tape) = run(&step).await;
    assert_eq!(outcome.status, Status::TimedOut);
    assert_eq!(tape.stdout(), "PONG\n");
    assert_eq!(tape.stderr(), format!("timed out after 300ms waiting for {MACHINE} to answer `BLPOP`\n"));
}

#[tokio::test]
async fn an_abort_stops_the_step_while_it_waits() {
    let keys = Keys::new(1);
    let step = machine(&[&["PING"], &["BLPOP", &keys.0[0], "0"]]);
    let abort = CancellationToken::new();
    let mut tape = Tape::cancelling_on("PONG", &abort);
    let outcome = run_redis(&step, &mut tape, &abort).await.unwrap();
    assert_eq!(outcome.status, Status::Aborted);
}

#[tokio::test]
async fn garbage_silence_and_endless_answers_fail_clearly_and_soon() {
    let peer = fake_peer(Peer::Sends(b"HTTP/1.1 400 Bad Request\r\n\r\n")).await;
    let (outcome, _) = run(&step(&format!("redis://{peer}"), &[&["PING"]])).await;
    assert_eq!(outcome.status, error(&format!("{peer}: the reply is not RESP: got `HTTP/1.1 400 Bad Request`")));

    for start in [&b"+"[..], b"*2\r\n$3\r\nfoo\r\n$99999999999\r\n"] {
        let peer = fake_peer(Peer::Endless(start)).await;
        let (outcome, _) = run(&step(&format!("redis://{peer}"), &[&["PING"]])).await;
        assert_eq!(outcome.status, error(&format!("{peer}: reply larger than 16 MiB")));
    }

    let peer = fake_peer(Peer::Silent).await;
    let silent = RedisStep { timeout: Duration::from_millis(300), ..step(&format!("redis://{peer}"), &[&["PING"]]) };
    let (outcome, tape) = run(&silent).await;
    assert_eq!(outcome.status, Status::TimedOut);
    assert_eq!(tape.stderr(), format!("timed out after 300ms waiting for {peer} to answer `PING`\n"));
}

#[tokio::test]
async fn a_failing_step_is_retried_until_it_succeeds() {
    let keys = Keys::new(1);
    let script = "if redis.call('INCR', KEYS[1]) < 3 then return redis.error_reply('ERR not yet') end return 'ready'";
    let step = machine(&[&["EVAL", script, "1", &keys.0[0]]]);
    let abort = CancellationToken::new();
    let mut tape = Tape::default();
    let retries = Retries { count: 5, delay: Duration::ZERO };
    let outcomes =
        with_retries(retries, &mut tape, &abort, async |r: &mut dyn Recorder| run_redis(&step, r, &abort).await)
            .await
            .unwrap();
    let statuses: Vec<Status> = outcomes.into_iter().map(|o| o.status).collect();
    let not_yet = error("`EVAL` failed: ERR not yet");
    assert_eq!(statuses, [not_yet.clone(), not_yet, Status::Succeeded]);
    assert_eq!(tape.stdout(), "\"ready\"\n");
}

#[tokio::test]
async fn a_step_that_cannot_be_sent_as_written_is_refused_before_connecting() {
    let port = free_port();
    let tls = step(&format!("rediss://127.0.0.1:{port}"), &[&["PING"]]);
    let refused = run_redis(&tls, &mut Tape::default(), &CancellationToken::new()).await.unwrap_err();
    assert_eq!(refused.to_string(), "step `redis-test` cannot run: TLS (`rediss://`) is not supported for Redis yet");
    let empty = step(&format!("redis://127.0.0.1:{port}"), &[&["PING"], &[]]);
    let refused = run_redis(&empty, &mut Tape::default(), &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(&refused, Error::Invalid { reason, .. } if reason == "command 2 has no words"), "{refused:?}");
}
