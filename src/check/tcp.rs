//! `tcp`: connect to `host:port`; optionally send text and read the reply.
//!
//! Fields: `connected` (always true when observed), `reply` (text read after
//! `send`, up to the first line end, the peer closing, or [`MAX_READ`]).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Failure, Fields, MAX_READ, Observation, Params, Verdict, one_line};

pub async fn probe(target: &str, params: &Params, _timeout: Duration) -> Result<Observation, Failure> {
    let address = target.strip_prefix("tcp://").unwrap_or(target);
    let mut stream = connect(address).await?;
    let mut fields = Fields::new();
    fields.insert("connected".to_owned(), true.into());
    let Some(send) = params.text("send")? else {
        return Ok(Observation::new(fields, "connected", Verdict::ok()));
    };
    let send = send.replace("\\r", "\r").replace("\\n", "\n");
    stream.write_all(send.as_bytes()).await.map_err(|e| Failure::critical(format!("cannot send: {e}")))?;
    let reply = read_reply(&mut stream).await?;
    let observed = if reply.is_empty() { "connected, no reply".to_owned() } else { one_line(&reply, 60) };
    fields.insert("reply".to_owned(), reply.into());
    Ok(Observation::new(fields, observed, Verdict::ok()))
}

/// Connects to `host:port`, resolving the name if it is not an address.
pub async fn connect(address: &str) -> Result<TcpStream, Failure> {
    let result = if let Ok(socket) = address.parse::<SocketAddr>() {
        TcpStream::connect(socket).await
    } else {
        if address.rsplit_once(':').is_none_or(|(_, port)| port.parse::<u16>().is_err()) {
            return Err(Failure::unknown(format!("`{address}` is not host:port")));
        }
        TcpStream::connect(address).await
    };
    let stream = result.map_err(|e| Failure::critical(connect_error(address, &e)))?;
    stream.set_nodelay(true).ok();
    Ok(stream)
}

/// `connection refused by 127.0.0.1:1`: the words an operator expects.
pub fn connect_error(address: &str, error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::ConnectionRefused => format!("connection refused by {address}"),
        ErrorKind::TimedOut => format!("connecting to {address} timed out"),
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => format!("{address} is unreachable"),
        _ => format!("cannot connect to {address}: {error}"),
    }
}

async fn read_reply(stream: &mut TcpStream) -> Result<String, Failure> {
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|e| Failure::critical(format!("cannot read the reply: {e}")))?;
        if n == 0 {
            break;
        }
        // The reply is one line: stop at its end, even when more came along.
        if let Some(end) = memchr::memchr(b'\n', &chunk[..n]) {
            reply.extend_from_slice(&chunk[..=end]);
            break;
        }
        reply.extend_from_slice(&chunk[..n]);
        if reply.len() >= MAX_READ {
            reply.truncate(MAX_READ);
            break;
        }
    }
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::probe;
    use crate::check::testing::{Peer, fake_peer, free_port, params};
    use crate::check::{MAX_READ, Status};

    const TIMEOUT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn a_listening_port_is_ok_and_a_reply_is_read_to_its_line_end() {
        let peer = fake_peer(Peer::Sends(b"220 ready\r\nmore later")).await;
        let seen = probe(&peer.to_string(), &params(json!({"send": "HELO x\r\n"})), TIMEOUT).await.expect("a reply");
        assert_eq!(seen.default.status, Status::Ok);
        assert_eq!(seen.fields["reply"], "220 ready\r\n");
    }

    #[tokio::test]
    async fn a_closed_port_is_critical() {
        let port = free_port();
        let failure = probe(&format!("127.0.0.1:{port}"), &params(json!({})), TIMEOUT).await.unwrap_err();
        assert_eq!(failure.0.status, Status::Critical);
        assert_eq!(failure.0.reason, format!("connection refused by 127.0.0.1:{port}"));
    }

    #[tokio::test]
    async fn an_endless_reply_is_cut_at_the_read_limit() {
        let peer = fake_peer(Peer::Endless(b"")).await;
        let seen = probe(&peer.to_string(), &params(json!({"send": "GO\n"})), TIMEOUT).await.expect("a reply");
        assert_eq!(seen.fields["reply"].as_str().map(str::len), Some(MAX_READ));
    }

    #[tokio::test]
    async fn a_target_without_a_port_is_unknown() {
        let failure = probe("localhost", &params(json!({})), TIMEOUT).await.unwrap_err();
        assert_eq!(failure.0.status, Status::Unknown);
        assert_eq!(failure.0.reason, "`localhost` is not host:port");
    }
}
