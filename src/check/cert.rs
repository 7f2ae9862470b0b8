//! What the TLS-speaking probes (`https`, `tls`) share: reading a server
//! certificate for what operators ask about (expiry, names, issuer), the
//! extra CA bundle a check may trust, and installing rustls's crypto
//! provider once per process.

use std::sync::Once;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::Failure;

/// A server certificate as the matrix shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// notAfter, in seconds since the Unix epoch.
    pub not_after: i64,
    pub subject: String,
    pub issuer: String,
    /// Subject alternative names: DNS names and IP addresses.
    pub names: Vec<String>,
}

impl Certificate {
    /// Parses a DER certificate; the error says what is wrong with it.
    pub fn parse(der: &[u8]) -> Result<Certificate, String> {
        let (_, cert) = X509Certificate::from_der(der).map_err(|e| format!("the certificate cannot be read: {e}"))?;
        let mut names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(dns) => names.push((*dns).to_owned()),
                    GeneralName::IPAddress(bytes) => {
                        if let Some(ip) = ip_from_bytes(bytes) {
                            names.push(ip.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(Certificate {
            not_after: cert.validity().not_after.timestamp(),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            names,
        })
    }

    /// Whole days until notAfter, rounded down: negative once expired, so
    /// `days_left < 14` reads naturally in an `expect:`.
    pub fn days_left(&self) -> i64 {
        (self.not_after - jiff::Timestamp::now().as_second()).div_euclid(86_400)
    }

    /// notAfter as RFC 3339: `2026-01-31T12:00:00Z`.
    pub fn not_after_rfc3339(&self) -> String {
        jiff::Timestamp::from_second(self.not_after).map_or_else(|_| self.not_after.to_string(), |t| t.to_string())
    }
}

fn ip_from_bytes(bytes: &[u8]) -> Option<std::net::IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

/// The certificates of a PEM CA bundle (`ca:`), or why they cannot be had.
pub fn read_ca_bundle(path: &str) -> Result<Vec<CertificateDer<'static>>, Failure> {
    let pem = std::fs::read(path).map_err(|e| Failure::unknown(format!("cannot read the CA bundle `{path}`: {e}")))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::unknown(format!("the CA bundle `{path}` is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Failure::unknown(format!("the CA bundle `{path}` holds no certificate")));
    }
    Ok(certs)
}

/// Makes ring rustls's process-wide crypto provider, for reqwest (built
/// without a provider of its own) and the `tls` probe alike.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another part of the process installed one first: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
