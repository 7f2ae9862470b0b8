//! `dns`: ask a resolver for one record type of a name.
//!
//! Fields: `answers` (addresses, targets, TXT text; names without the final
//! dot), `count`, `rcode` (`NOERROR`, `NXDOMAIN`, `SERVFAIL`, …) and, when
//! the server answered with an error, `error`. The server is the system's
//! (`/etc/resolv.conf`) unless the check gives `server: ip` or `ip:port`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};

use super::engine::human_duration;
use super::{Failure, Fields, Observation, Params, Verdict, one_line};

const RECORDS: &[(&str, RecordType)] = &[
    ("A", RecordType::A),
    ("AAAA", RecordType::AAAA),
    ("CNAME", RecordType::CNAME),
    ("TXT", RecordType::TXT),
    ("MX", RecordType::MX),
    ("NS", RecordType::NS),
];

pub async fn probe(target: &str, params: &Params, timeout: Duration) -> Result<Observation, Failure> {
    let name = target.trim();
    if name.is_empty() {
        return Err(Failure::unknown("the dns probe needs a name to look up"));
    }
    let record = params.text("record")?.unwrap_or_else(|| "A".to_owned()).to_ascii_uppercase();
    let Some(&(record, record_type)) = RECORDS.iter().find(|(r, _)| *r == record) else {
        let known: Vec<&str> = RECORDS.iter().map(|(r, _)| *r).collect();
        return Err(Failure::unknown(format!("`record` takes one of {}, not `{record}`", known.join(", "))));
    };
    let server = params.text("server")?;
    // Leave the resolver a little of the check's time, so it is the one to
    // say the server did not answer.
    let resolver = resolver(server.as_deref(), timeout.mul_f64(0.9))?;
    let from = server.as_deref().map_or_else(|| "the system resolver".to_owned(), ToOwned::to_owned);
    // A dotted name is absolute: no search domains appended behind the check's back.
    let query = if name.contains('.') && !name.ends_with('.') { format!("{name}.") } else { name.to_owned() };
    let mut fields = Fields::new();
    match resolver.lookup(query.as_str(), record_type).await {
        Ok(lookup) => {
            let answers: Vec<String> =
                lookup.answers().iter().filter(|r| r.record_type() == record_type).map(|r| answer(&r.data)).collect();
            let observed =
                if answers.is_empty() { format!("no {record} record") } else { one_line(&answers.join(", "), 60) };
            let default = if answers.is_empty() {
                Verdict::critical(format!("no {record} record for {name}"))
            } else {
                Verdict::ok()
            };
            fields.insert("count".to_owned(), answers.len().into());
            fields.insert("answers".to_owned(), answers.into());
            fields.insert("rcode".to_owned(), "NOERROR".into());
            Ok(Observation::new(fields, observed, default))
        }
        Err(error) => {
            let (rcode, reason) = match &error {
                NetError::Dns(DnsError::NoRecordsFound(none)) if none.response_code == ResponseCode::NXDomain => (
                    ResponseCode::NXDomain,
                    format!("no {record} record for {name}: the name does not exist (NXDOMAIN)"),
                ),
                NetError::Dns(DnsError::NoRecordsFound(none)) => {
                    (none.response_code, format!("no {record} record for {name}"))
                }
                NetError::Dns(DnsError::ResponseCode(code)) => {
                    (*code, format!("{from} answered {} for {name}", rcode_name(*code)))
                }
                NetError::Timeout => {
                    return Err(Failure::critical(format!("no answer from {from} within {}", human_duration(timeout))));
                }
                other => return Err(Failure::critical(format!("cannot ask {from} for {name}: {other}"))),
            };
            fields.insert("count".to_owned(), 0.into());
            fields.insert("answers".to_owned(), Vec::<String>::new().into());
            fields.insert("rcode".to_owned(), rcode_name(rcode).into());
            if !matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
                fields.insert("error".to_owned(), reason.clone().into());
            }
            let observed = rcode_name(rcode);
            Ok(Observation::new(fields, observed, Verdict::critical(reason)))
        }
    }
}

/// A resolver asking `server` (`ip` or `ip:port`), or the system's.
fn resolver(server: Option<&str>, timeout: Duration) -> Result<TokioResolver, Failure> {
    let mut builder = match server {
        None => Resolver::builder_tokio()
            .map_err(|e| Failure::unknown(format!("cannot read the system resolver configuration: {e}")))?,
        Some(server) => {
            let address = parse_server(server)?;
            let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
                .into_iter()
                .map(|mut c| {
                    c.port = address.port();
                    c
                })
                .collect();
            let config =
                ResolverConfig::from_name_servers(vec![NameServerConfig::new(address.ip(), true, connections)]);
            Resolver::builder_with_config(config, TokioRuntimeProvider::default())
        }
    };
    let options = builder.options_mut();
    options.timeout = timeout;
    // Retries are the check's `retries:`, not the resolver's.
    options.attempts = 1;
    options.use_hosts_file = ResolveHosts::Never;
    options.cache_size = 0;
    builder.build().map_err(|e| Failure::unknown(format!("cannot set up a resolver: {e}")))
}

fn parse_server(server: &str) -> Result<SocketAddr, Failure> {
    if let Ok(ip) = server.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    server
        .parse::<SocketAddr>()
        .map_err(|_| Failure::unknown(format!("`server` takes an IP address or ip:port, not `{server}`")))
}

fn answer(data: &RData) -> String {
    match data {
        RData::TXT(txt) => txt.txt_data.iter().map(|part| String::from_utf8_lossy(part)).collect(),
        other => other.to_string().trim_end_matches('.').to_owned(),
    }
}

/// `NXDOMAIN`, `SERVFAIL`: the names dig prints.
fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".to_owned(),
        ResponseCode::FormErr => "FORMERR".to_owned(),
        ResponseCode::ServFail => "SERVFAIL".to_owned(),
        ResponseCode::NXDomain => "NXDOMAIN".to_owned(),
        ResponseCode::NotImp => "NOTIMP".to_owned(),
        ResponseCode::Refused => "REFUSED".to_owned(),
        other => other.to_str().to_uppercase(),
    }
}

#[cfg(test)]
#[path = "tests/dns.rs"]
mod tests;
