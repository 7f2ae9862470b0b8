//! Redis verdicts: commands that only read, commands that flush or shut
//! down, and the word splitting `redis-cli` does.

use super::Analysis;
use super::origin::Origin;
use super::verdict::{Verdict, code};

impl Analysis<'_> {
    pub(super) fn redis(&mut self, text: &str, origin: &Origin) {
        let mut line_start = 0;
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                let start = line_start + (line.len() - line.trim_start().len());
                let words = redis_words(trimmed);
                let words: Vec<&str> = words.iter().map(String::as_str).collect();
                self.record(redis_command(&words), origin.map(&(start..start + trimmed.len())));
            }
            line_start += line.len();
        }
    }
}

/// Redis commands that only read.
pub(super) const REDIS_READS: &[&str] = &[
    "PING",
    "ECHO",
    "INFO",
    "GET",
    "MGET",
    "GETRANGE",
    "STRLEN",
    "EXISTS",
    "TYPE",
    "TTL",
    "PTTL",
    "EXPIRETIME",
    "PEXPIRETIME",
    "KEYS",
    "SCAN",
    "SSCAN",
    "HSCAN",
    "ZSCAN",
    "LLEN",
    "LRANGE",
    "LINDEX",
    "LPOS",
    "XLEN",
    "XRANGE",
    "XREVRANGE",
    "XINFO",
    "XPENDING",
    "HGET",
    "HGETALL",
    "HMGET",
    "HLEN",
    "HKEYS",
    "HVALS",
    "HEXISTS",
    "HSTRLEN",
    "HRANDFIELD",
    "SMEMBERS",
    "SCARD",
    "SISMEMBER",
    "SMISMEMBER",
    "SRANDMEMBER",
    "SINTER",
    "SUNION",
    "SDIFF",
    "SINTERCARD",
    "ZRANGE",
    "ZREVRANGE",
    "ZCARD",
    "ZSCORE",
    "ZMSCORE",
    "ZRANK",
    "ZREVRANK",
    "ZCOUNT",
    "ZLEXCOUNT",
    "ZRANGEBYSCORE",
    "ZREVRANGEBYSCORE",
    "ZRANGEBYLEX",
    "ZREVRANGEBYLEX",
    "ZRANDMEMBER",
    "DBSIZE",
    "LASTSAVE",
    "ROLE",
    "TIME",
    "BITCOUNT",
    "BITPOS",
    "GETBIT",
    "PFCOUNT",
    "GEOPOS",
    "GEODIST",
    "GEOHASH",
    "GEOSEARCH",
    "RANDOMKEY",
    "DUMP",
    "OBJECT",
    "COMMAND",
    "SELECT",
    "AUTH",
    "HELLO",
    "LOLWUT",
    "MONITOR",
    "PUBSUB",
    "READONLY",
    "QUIT",
];

pub(super) fn redis_command(words: &[&str]) -> Verdict {
    let Some(first) = words.first() else { return Verdict::Read };
    let command = first.to_ascii_uppercase();
    let sub = words.get(1).map(|s| s.to_ascii_uppercase()).unwrap_or_default();
    let pair = (command.as_str(), sub.as_str());
    match pair {
        ("FLUSHALL" | "FLUSHDB" | "SHUTDOWN", _) => Verdict::Destructive(code(&command)),
        ("SCRIPT" | "FUNCTION", "FLUSH") => Verdict::Destructive(code(&format!("{command} FLUSH"))),
        ("CONFIG", "GET")
        | ("CLIENT", "LIST" | "INFO" | "GETNAME" | "ID")
        | ("SLOWLOG", "GET" | "LEN")
        | ("MEMORY", "USAGE" | "STATS" | "DOCTOR" | "MALLOC-STATS")
        | ("CLUSTER", "INFO" | "NODES" | "SLOTS" | "SHARDS" | "MYID" | "KEYSLOT" | "COUNTKEYSINSLOT")
        | ("LATENCY", "LATEST" | "HISTORY" | "DOCTOR" | "GRAPH")
        | ("SCRIPT", "EXISTS")
        | ("FUNCTION", "LIST" | "STATS")
        | ("ACL", "WHOAMI" | "LIST" | "USERS" | "CAT" | "GETUSER")
        | ("MODULE", "LIST")
        | (
            "SENTINEL",
            "MASTERS" | "MASTER" | "REPLICAS" | "SLAVES" | "SENTINELS" | "GET-MASTER-ADDR-BY-NAME" | "CKQUORUM",
        ) => Verdict::Read,
        (
            "CONFIG" | "CLIENT" | "SLOWLOG" | "MEMORY" | "CLUSTER" | "LATENCY" | "SCRIPT" | "FUNCTION" | "ACL"
            | "MODULE" | "SENTINEL" | "DEBUG" | "XGROUP",
            _,
        ) => Verdict::Write(code(&format!("{command} {sub}"))),
        _ if REDIS_READS.contains(&command.as_str()) => Verdict::Read,
        _ => Verdict::Write(code(&command)),
    }
}

/// Splits a Redis command line into words as `redis-cli` does; a line it
/// would refuse (an unbalanced quote) is split at blanks, so that it is
/// still judged by its first words rather than not at all.
pub(super) fn redis_words(line: &str) -> Vec<String> {
    crate::runbook::redis::split_command(line).unwrap_or_else(|_| line.split_whitespace().map(str::to_owned).collect())
}
