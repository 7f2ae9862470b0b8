//! The stand-ins' Redis client: one command (after `AUTH` when the lab's
//! Redis has a password) and its whole RESP2 reply. The stand-ins use no
//! runwell library code, so this is their own, and small.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A RESP2 reply, as far as the stand-ins read one.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    Line(String),
    Integer,
    Nil,
    Bulk(String),
    Array(Vec<Reply>),
}

/// Sends one command (after `AUTH` when there is a password) and reads its
/// whole reply, or `None` when Redis cannot be reached or refuses.
pub async fn call(port: u16, password: Option<&str>, command: &[&str]) -> Option<Reply> {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let mut request = Vec::new();
        let mut commands: Vec<&[&str]> = Vec::new();
        let auth;
        if let Some(password) = password {
            auth = ["AUTH", password];
            commands.push(&auth);
        }
        commands.push(command);
        for words in &commands {
            request.extend(format!("*{}\r\n", words.len()).bytes());
            for word in *words {
                request.extend(format!("${}\r\n{word}\r\n", word.len()).bytes());
            }
        }
        stream.write_all(&request).await.ok()?;
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            let mut at = 0;
            let mut replies = Vec::new();
            while let Some((reply, used)) = parse(&buf[at..]) {
                at += used;
                replies.push(reply);
            }
            if replies.len() == commands.len() {
                return match replies.pop()? {
                    Reply::Line(line) if line.starts_with('-') => None,
                    reply => Some(reply),
                };
            }
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 || buf.len() > 64 * 1024 * 1024 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), exchange).await.ok().flatten()
}

/// One reply from the start of `buf` and the bytes it took, or `None` when incomplete.
fn parse(buf: &[u8]) -> Option<(Reply, usize)> {
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = String::from_utf8_lossy(&buf[1..end]).into_owned();
    let next = end + 2;
    match buf.first()? {
        b'+' => Some((Reply::Line(line), next)),
        b'-' => Some((Reply::Line(format!("-{line}")), next)),
        b':' => Some((Reply::Integer, next)),
        b'$' => {
            let Ok(len) = line.parse::<usize>() else { return Some((Reply::Nil, next)) };
            let body = buf.get(next..next + len)?;
            buf.get(next + len..next + len + 2)?;
            Some((Reply::Bulk(String::from_utf8_lossy(body).into_owned()), next + len + 2))
        }
        b'*' => {
            let Ok(len) = line.parse::<usize>() else { return Some((Reply::Nil, next)) };
            let mut items = Vec::with_capacity(len.min(1024));
            let mut at = next;
            for _ in 0..len {
                let (item, used) = parse(&buf[at..])?;
                items.push(item);
                at += used;
            }
            Some((Reply::Array(items), at))
        }
        _ => None,
    }
}

/// Whether Redis answers `PING` with `PONG`.
pub async fn ping(port: u16, password: Option<&str>) -> bool {
    call(port, password, &["PING"]).await == Some(Reply::Line("PONG".to_owned()))
}
