//! The command a redis check sends: split into words as `redis-cli` would
//! ([`split_command`]), and allowed only when it is known to read and never
//! to change data.

use crate::check::Failure;
use crate::runbook::redis::split_command;

/// Commands that only read, whatever their arguments.
const READ_ONLY: &[&str] = &[
    "BITCOUNT",
    "BITPOS",
    "DBSIZE",
    "ECHO",
    "EXISTS",
    "GET",
    "GETBIT",
    "GETRANGE",
    "HEXISTS",
    "HGET",
    "HGETALL",
    "HKEYS",
    "HLEN",
    "HMGET",
    "HSCAN",
    "HSTRLEN",
    "HVALS",
    "INFO",
    "LASTSAVE",
    "LINDEX",
    "LLEN",
    "LPOS",
    "LRANGE",
    "MGET",
    "PING",
    "PTTL",
    "ROLE",
    "SCAN",
    "SCARD",
    "SISMEMBER",
    "SMEMBERS",
    "SMISMEMBER",
    "SSCAN",
    "STRLEN",
    "TIME",
    "TTL",
    "TYPE",
    "XLEN",
    "XPENDING",
    "XRANGE",
    "XREVRANGE",
    "ZCARD",
    "ZCOUNT",
    "ZLEXCOUNT",
    "ZMSCORE",
    "ZRANGE",
    "ZRANGEBYLEX",
    "ZRANGEBYSCORE",
    "ZRANK",
    "ZREVRANGE",
    "ZREVRANGEBYSCORE",
    "ZREVRANK",
    "ZSCAN",
    "ZSCORE",
];

/// Commands that read only with one of these subcommands: `CONFIG GET` reads,
/// `CONFIG SET` writes.
const READ_ONLY_SUBCOMMANDS: &[(&str, &[&str])] = &[
    ("CLIENT", &["LIST", "INFO", "GETNAME", "ID"]),
    ("CLUSTER", &["INFO", "NODES", "SHARDS", "MYID"]),
    ("CONFIG", &["GET"]),
    ("LATENCY", &["LATEST", "HISTORY", "DOCTOR"]),
    ("MEMORY", &["USAGE", "STATS", "DOCTOR"]),
    ("OBJECT", &["ENCODING", "FREQ", "IDLETIME", "REFCOUNT"]),
    ("SLOWLOG", &["GET", "LEN"]),
    ("XINFO", &["STREAM", "GROUPS", "CONSUMERS"]),
];

/// Splits `text` into words and checks the command reads only.
pub fn parse(text: &str) -> Result<Vec<String>, Failure> {
    let words = split_command(text).map_err(|why| Failure::unknown(format!("`command`: {why}")))?;
    let Some(name) = words.first() else {
        return Err(Failure::unknown("`command` is empty; write one like `PING` or `LLEN queue`"));
    };
    let name = name.to_ascii_uppercase();
    if READ_ONLY.contains(&name.as_str()) {
        return Ok(words);
    }
    if let Some((_, subcommands)) = READ_ONLY_SUBCOMMANDS.iter().find(|(command, _)| *command == name) {
        let sub = words.get(1).map(|s| s.to_ascii_uppercase()).unwrap_or_default();
        if subcommands.contains(&sub.as_str()) {
            return Ok(words);
        }
        let shown = format!("{name} {sub}");
        return Err(Failure::unknown(format!("`{}` would change data; a check may only read", shown.trim())));
    }
    Err(Failure::unknown(format!("`{name}` would change data; a check may only read")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_and_quoted_arguments() {
        assert_eq!(parse("XREVRANGE events + - COUNT 1").unwrap(), ["XREVRANGE", "events", "+", "-", "COUNT", "1"]);
        assert_eq!(parse(r#"get "my key" 'it\'s'"#).unwrap(), ["get", "my key", "it's"]);
        assert_eq!(parse(r#"ECHO "a\"b\n""#).unwrap(), ["ECHO", "a\"b\n"]);
    }

    #[test]
    fn read_only_subcommands_pass_and_writing_ones_are_refused() {
        assert!(parse("config get notify-keyspace-events").is_ok());
        assert!(parse("CLIENT LIST").is_ok());
        let refused = parse("CONFIG SET maxmemory 1").unwrap_err();
        assert_eq!(refused.0.reason, "`CONFIG SET` would change data; a check may only read");
    }

    #[test]
    fn a_command_that_writes_is_refused_as_unknown() {
        let refused = parse("flushall").unwrap_err();
        assert_eq!(refused, Failure::unknown("`FLUSHALL` would change data; a check may only read"));
        assert!(parse("SET k v").is_err());
        assert!(parse("EVAL 'return 1' 0").is_err());
    }

    #[test]
    fn an_empty_or_unclosed_command_is_unknown() {
        assert!(parse("  ").is_err());
        let unclosed = parse("GET \"key").unwrap_err();
        assert_eq!(unclosed, Failure::unknown("`command`: a quote is not closed: `GET \"key`"));
    }
}
