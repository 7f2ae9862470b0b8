//! Helpers for the network probes' tests: real servers (nginx, dnsmasq, a
//! rustls server) on free loopback ports, listeners that answer only once
//! spoken to, as HTTP clients expect (garbage, an endless body; a silent
//! peer is `fake_peer`), and certificates made on the spot.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::free_port;

/// Waits until `port` accepts TCP connections (the server is ready), or
/// panics with `log` after 15 s.
pub async fn wait_for_port(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A child process killed when the test ends.
#[derive(Debug)]
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A real nginx on a free port with its own prefix directory.
#[derive(Debug)]
pub struct Nginx {
    pub port: u16,
    _dir: tempfile::TempDir,
    _child: Reaped,
}

impl Nginx {
    /// Starts nginx serving `files` (path under the web root, content) with
    /// `locations` inside its `server` block; `tls` is (cert PEM, key PEM).
    pub async fn start(locations: &str, files: &[(&str, &[u8])], tls: Option<(&str, &str)>) -> Nginx {
        let dir = tempfile::tempdir().expect("a temp dir");
        let root = dir.path();
        for sub in ["www", "tmp"] {
            std::fs::create_dir_all(root.join(sub)).expect("nginx dirs");
        }
        for (path, content) in files {
            let file = root.join("www").join(path);
            std::fs::create_dir_all(file.parent().expect("a parent")).expect("web dirs");
            std::fs::write(file, content).expect("a web file");
        }
        let port = free_port();
        let (listen, tls_lines) = match tls {
            Some((cert, key)) => {
                std::fs::write(root.join("cert.pem"), cert).expect("cert");
                std::fs::write(root.join("key.pem"), key).expect("key");
                (format!("{port} ssl"), "ssl_certificate cert.pem; ssl_certificate_key key.pem;".to_owned())
            }
            None => (port.to_string(), String::new()),
        };
        let d = root.display();
        let config = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  default_type application/octet-stream;\n\
               types {{ application/json json; text/plain txt; text/html html; }}\n\
               client_body_temp_path {d}/tmp/body; proxy_temp_path {d}/tmp/proxy;\n\
               fastcgi_temp_path {d}/tmp/fastcgi; uwsgi_temp_path {d}/tmp/uwsgi; scgi_temp_path {d}/tmp/scgi;\n\
               server {{\n    listen 127.0.0.1:{listen};\n    root {d}/www;\n    {tls_lines}\n    {locations}\n  }}\n}}\n"
        );
        std::fs::write(root.join("nginx.conf"), config).expect("nginx.conf");
        let child = Command::new("/usr/sbin/nginx")
            .arg("-p")
            .arg(root)
            .arg("-c")
            .arg(root.join("nginx.conf"))
            .arg("-e")
            .arg(root.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx runs (scripts/setup installs it)");
        let child = Reaped(child);
        wait_for_port(port, "nginx", &root.join("error.log")).await;
        Nginx { port, _dir: dir, _child: child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// A real dnsmasq answering on a free loopback port with only the records
/// `records` (dnsmasq options such as `--address=/a.example/10.0.0.1`).
#[derive(Debug)]
pub struct Dnsmasq {
    pub port: u16,
    _dir: tempfile::TempDir,
    _child: Reaped,
}

impl Dnsmasq {
    pub async fn start(records: &[&str]) -> Dnsmasq {
        let dir = tempfile::tempdir().expect("a temp dir");
        let log = dir.path().join("dnsmasq.log");
        let port = free_port();
        let child = Command::new("/usr/sbin/dnsmasq")
            .args(["--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces", "--user=root"])
            .args(["--listen-address=127.0.0.1", "--conf-file=/dev/null"])
            .arg(format!("--port={port}"))
            .arg(format!("--pid-file={}", dir.path().join("dnsmasq.pid").display()))
            .arg(format!("--log-facility={}", log.display()))
            .args(records)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr")).expect("a log file"))
            .spawn()
            .expect("dnsmasq runs (scripts/setup installs dnsmasq-base)");
        let child = Reaped(child);
        // dnsmasq serves TCP on the same port once it answers UDP.
        wait_for_port(port, "dnsmasq", &dir.path().join("stderr")).await;
        Dnsmasq { port, _dir: dir, _child: child }
    }

    pub fn server(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// A listener that answers every connection with `reply` once it has
/// heard something, then closes.
pub async fn garbage(reply: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let _ = stream.write_all(reply).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    address
}

/// An HTTP server whose 200 body never ends (1 GB made on the fly, and the
/// client is expected to stop reading long before).
pub async fn endless_http() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000000000\r\n\r\n";
                if stream.write_all(head).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                for _ in 0..(1_000_000_000 / chunk.len()) {
                    if stream.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    address
}

/// A certificate and its key, both PEM.
#[derive(Debug)]
pub struct Pair {
    pub cert: String,
    pub key: String,
}

/// A certificate for `names`, valid from `from` to `until` (Unix
/// seconds), signed by `issuer` or self-signed.
pub fn certificate(names: &[&str], from: i64, until: i64, issuer: Option<&Ca>) -> Pair {
    let mut params = rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
        .expect("certificate params");
    params.distinguished_name.push(rcgen::DnType::CommonName, names.first().copied().unwrap_or("test"));
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + Duration::from_secs(u64::try_from(from).expect("after 1970"));
    params.not_after = epoch + Duration::from_secs(u64::try_from(until).expect("after 1970"));
    let key = rcgen::KeyPair::generate().expect("a key");
    let cert = match issuer {
        Some(ca) => params.signed_by(&key, &ca.issuer).expect("signed"),
        None => params.self_signed(&key).expect("self-signed"),
    };
    Pair { cert: cert.pem(), key: key.serialize_pem() }
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

pub const DAY: i64 = 86_400;

/// A private CA for certificates a check trusts through `ca`.
#[derive(Debug)]
pub struct Ca {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pub pem: String,
}

impl Ca {
    pub fn new() -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "runwell test CA");
        let key = rcgen::KeyPair::generate().expect("a key");
        let cert = params.self_signed(&key).expect("CA certificate");
        Ca { issuer: rcgen::Issuer::new(params, key), pem: cert.pem() }
    }
}

/// A rustls server on a free port presenting `pair`, holding each
/// connection open until the client leaves.
pub async fn tls_server(pair: &Pair) -> SocketAddr {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(pair.cert.as_bytes()).collect::<Result<Vec<_>, _>>().expect("certs");
    let key = PrivateKeyDer::from_pem_slice(pair.key.as_bytes()).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    let mut buffer = [0u8; 1024];
                    while matches!(tls.read(&mut buffer).await, Ok(n) if n > 0) {}
                }
            });
        }
    });
    address
}

/// Writes `text` to a file in `dir` and returns its path as text.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("a test file");
    path.display().to_string()
}
