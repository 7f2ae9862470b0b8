//! `postgres`: is the server accepting connections (like `pg_isready`), or,
//! with `query`, what does one read-only statement return.
//!
//! Fields: `ready` (the server answered the startup), `server_version` when
//! known; with `query`: `rows` (column → JSON value, at most 1,000 rows),
//! `row_count`, `columns`, `truncated`. Default verdict: accepting
//! connections, or the query ran. A server starting up, shutting down or
//! refusing in recovery (SQLSTATE 57P03) is critical with its words; one that
//! refuses our credentials is up, and like `pg_isready` that is ok without a
//! query. With `pgbouncer: true` the target is pgbouncer's admin console,
//! which takes only `SHOW …` over the simple query protocol.
//!
//! A query runs inside `START TRANSACTION READ ONLY` and is rolled back, and
//! is described (prepared) first, which refuses several statements in one:
//! `SELECT 1; COMMIT; DELETE …` cannot step outside the transaction.
//!
//! [`session`] (connecting through the [`wire`] guard) is shared with `sql`
//! steps.

pub mod session;
#[cfg(test)]
mod tests;
mod values;
pub mod wire;

use std::str::FromStr;
use std::time::Duration;

use serde_json::Value;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::Type;
use tokio_postgres::{Config, SimpleQueryMessage};

use super::engine::human_duration;
use super::{Failure, Fields, Observation, Params, Verdict, one_line};
use session::{Reading, Session, address, connect, password_missing};
use wire::describe;
/// Rows kept from a query's answer; a check reads a few.
const MAX_ROWS: usize = 1000;
/// SQLSTATE `cannot_connect_now`: starting up, shutting down, in recovery.
const CANNOT_CONNECT_NOW: &str = "57P03";

pub async fn probe(target: &str, params: &Params, timeout: Duration) -> Result<Observation, Failure> {
    // The parser's message never repeats the password it read.
    let mut config = Config::from_str(target).map_err(|e| {
        Failure::unknown(format!("the postgres target is not a URL or a conninfo string: {}", describe(&e)))
    })?;
    if let Some(password) = params.text("password")? {
        config.password(password);
    }
    if config.get_ssl_mode() == SslMode::Require {
        return Err(Failure::unknown("`sslmode=require` is not supported by the postgres probe yet"));
    }
    let query = params.text("query")?;
    let pgbouncer = params.flag("pgbouncer")?;
    if pgbouncer
        && let Some(query) = &query
        && !is_show(query)
    {
        return Err(Failure::unknown("PgBouncer's admin console takes only one `SHOW …` command"));
    }
    let address = address(&config);
    let checked = async {
        let session = match connect(&config, &address, &Reading::check()).await? {
            Ok(session) => session,
            Err(error) => return refused(&error, query.is_some()),
        };
        let version = version(&session, pgbouncer).await?;
        let mut fields = Fields::new();
        fields.insert("ready".to_owned(), true.into());
        if let Some(version) = &version {
            fields.insert("server_version".to_owned(), version.clone().into());
        }
        let Some(query) = query else {
            let product = if pgbouncer { "PgBouncer" } else { "PostgreSQL" };
            let observed = version.map_or_else(
                || "accepting connections".to_owned(),
                |v| format!("accepting connections ({product} {v})"),
            );
            return Ok(Observation::new(fields, observed, Verdict::ok()));
        };
        let answer =
            if pgbouncer { collect(&session, &query, None).await? } else { read_only(&session, &query).await? };
        Ok(answer.observe(fields))
    };
    tokio::time::timeout(timeout, checked)
        .await
        .map_err(|_| Failure::critical(format!("no answer from {address} within {}", human_duration(timeout))))?
}

/// The startup failed. A server that answers with an error other than
/// "cannot connect now" is up: ready for `pg_isready`, but a query cannot run.
fn refused(error: &tokio_postgres::Error, has_query: bool) -> Result<Observation, Failure> {
    let (message, is_up) = match error.as_db_error() {
        Some(db) if db.code().code() == CANNOT_CONNECT_NOW => return Err(Failure::critical(db.message().to_owned())),
        Some(db) => (format!("{} (SQLSTATE {})", db.message(), db.code().code()), true),
        // tokio-postgres's words when the server asks for a password we lack.
        None if password_missing(error) => ("the server asks for a password; give `password`".to_owned(), true),
        None => return Err(Failure::critical(describe(error))),
    };
    if has_query || !is_up {
        return Err(Failure::critical(message));
    }
    let mut fields = Fields::new();
    fields.insert("ready".to_owned(), true.into());
    let observed = format!("accepting connections, but {}", one_line(&message, 80));
    Ok(Observation::new(fields, observed, Verdict::ok()))
}

/// `15.19` from postgres, `1.23.1` from pgbouncer.
async fn version(session: &Session, pgbouncer: bool) -> Result<Option<String>, Failure> {
    let sql = if pgbouncer { "SHOW VERSION" } else { "SHOW server_version" };
    let messages = session.client.simple_query(sql).await.map_err(|e| session.fail(&e))?;
    let text = messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
        _ => None,
    });
    // `15.19 (Debian 15.19-1.pgdg120+1)`, `PgBouncer 1.23.1`: the number is
    // the first word that starts with a digit.
    Ok(text.and_then(|t| t.split_whitespace().find(|w| w.starts_with(|c: char| c.is_ascii_digit())).map(str::to_owned)))
}

fn is_show(query: &str) -> bool {
    let query = query.trim().trim_end_matches(';');
    query.get(..5).is_some_and(|head| head.eq_ignore_ascii_case("SHOW ")) && !query.contains(';')
}

/// What a query returned.
struct Answer {
    columns: Vec<String>,
    rows: Vec<Fields>,
    truncated: bool,
}

impl Answer {
    fn observe(self, mut fields: Fields) -> Observation {
        let count = self.rows.len();
        let mut observed = match count {
            1 => "1 row".to_owned(),
            n => format!("{n} rows"),
        };
        if self.truncated {
            observed = format!("first {MAX_ROWS} rows, more not read");
        } else if let [row] = self.rows.as_slice()
            && let [(column, value)] = row.iter().collect::<Vec<_>>().as_slice()
        {
            observed = format!("1 row: {column} = {}", one_line(&value.to_string(), 40));
        }
        fields.insert("rows".to_owned(), Value::Array(self.rows.into_iter().map(Value::Object).collect()));
        fields.insert("row_count".to_owned(), count.into());
        fields.insert("columns".to_owned(), self.columns.into());
        fields.insert("truncated".to_owned(), self.truncated.into());
        Observation::new(fields, observed, Verdict::ok())
    }
}

/// Runs `query` read-only and rolls back.
async fn read_only(session: &Session, query: &str) -> Result<Answer, Failure> {
    let client = &session.client;
    client.simple_query("START TRANSACTION READ ONLY").await.map_err(|e| session.fail(&e))?;
    let answer = async {
        // Describing first gives the columns' types and refuses a second
        // statement, which the simple protocol would otherwise run.
        let statement = client.prepare(query).await.map_err(|e| session.fail(&e))?;
        let types: Vec<Type> = statement.columns().iter().map(|c| c.type_().clone()).collect();
        collect(session, query, Some(&types)).await
    }
    .await;
    // Closing the connection would roll back too; say so explicitly, and a
    // failure here changes nothing the check saw.
    let _ = client.simple_query("ROLLBACK").await;
    answer
}

/// Reads at most [`MAX_ROWS`] rows of `query`'s answer, as text turned into
/// JSON by `types` when known (pgbouncer's admin console types nothing).
async fn collect(session: &Session, query: &str, types: Option<&[Type]>) -> Result<Answer, Failure> {
    use futures_util::StreamExt;

    let stream = session.client.simple_query_raw(query).await.map_err(|e| session.fail(&e))?;
    let mut stream = std::pin::pin!(stream);
    let mut answer = Answer { columns: Vec::new(), rows: Vec::new(), truncated: false };
    while let Some(message) = stream.next().await {
        match message.map_err(|e| session.fail(&e))? {
            SimpleQueryMessage::RowDescription(columns) => {
                answer.columns = columns.iter().map(|c| c.name().to_owned()).collect();
            }
            SimpleQueryMessage::Row(row) => {
                if answer.rows.len() == MAX_ROWS {
                    answer.truncated = true;
                    break;
                }
                let mut fields = Fields::new();
                for (index, column) in row.columns().iter().enumerate() {
                    let ty = types.and_then(|t| t.get(index));
                    fields.insert(column.name().to_owned(), values::to_json(row.get(index), ty));
                }
                answer.rows.push(fields);
            }
            _ => {}
        }
    }
    Ok(answer)
}
