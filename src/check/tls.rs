//! `tls`: a TLS handshake with `host:port`, far enough to read the server's
//! certificate whether or not it verifies, and a verdict on its chain, name
//! and expiry.
//!
//! Fields: `days_left`, `not_after` (RFC 3339), `subject`, `issuer`, `names`
//! (subject alternative names), `hostname_ok`, `chain_ok`, `version`
//! (`TLS 1.3`). Verification uses the system's roots plus the check's `ca`
//! bundle; the handshake goes on through a failed verification (the
//! verifier records the webpki verdict instead of aborting) so a broken
//! certificate is described, not just refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_rustls::TlsConnector;

use super::cert::{self, Certificate};
use super::{Failure, Fields, Observation, Params, Verdict, tcp};

/// Days left under which a certificate is a warning.
const WARN_DAYS: i64 = 14;

/// Verifiers of one run, by extra CA bundle: loading the system's roots
/// is done once, not per check.
#[derive(Debug, Default)]
pub struct Verifiers(Mutex<HashMap<Option<String>, Arc<WebPkiServerVerifier>>>);

impl Verifiers {
    fn get(&self, ca: Option<String>) -> Result<Arc<WebPkiServerVerifier>, Failure> {
        let mut verifiers = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(verifier) = verifiers.get(&ca) {
            return Ok(verifier.clone());
        }
        let mut roots = RootCertStore::empty();
        // Unreadable system certificates leave fewer roots, not a failure:
        // a check with `ca` may not need them.
        let (system, _) = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if let Some(path) = &ca {
            for der in cert::read_ca_bundle(path)? {
                roots
                    .add(der)
                    .map_err(|e| Failure::unknown(format!("the CA bundle `{path}` has a bad certificate: {e}")))?;
            }
        } else if system == 0 {
            return Err(Failure::unknown("no trusted CA certificates found on this machine; give `ca`"));
        }
        let verifier = WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .map_err(|e| Failure::unknown(format!("cannot set up certificate verification: {e}")))?;
        verifiers.insert(ca, verifier.clone());
        Ok(verifier)
    }
}

/// What the verifier saw during the handshake.
#[derive(Debug)]
struct Seen {
    end_entity: CertificateDer<'static>,
    intermediates: Vec<CertificateDer<'static>>,
    verdict: Result<(), rustls::Error>,
}

/// Verifies like webpki but lets the handshake finish, keeping the verdict.
#[derive(Debug)]
struct Recorder {
    inner: Arc<WebPkiServerVerifier>,
    seen: Mutex<Option<Seen>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict =
            self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now).map(|_| ());
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(Seen {
            end_entity: end_entity.clone().into_owned(),
            intermediates: intermediates.iter().map(|c| c.clone().into_owned()).collect(),
            verdict,
        });
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

pub async fn probe(
    verifiers: &Verifiers,
    target: &str,
    params: &Params,
    _timeout: Duration,
) -> Result<Observation, Failure> {
    cert::install_crypto_provider();
    let address = target.strip_prefix("tls://").unwrap_or(target);
    let Some((host, _)) = address.rsplit_once(':') else {
        return Err(Failure::unknown(format!("`{address}` is not host:port")));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let verify_name = params.text("servername")?.unwrap_or_else(|| host.to_owned());
    let server_name = ServerName::try_from(verify_name.clone())
        .map_err(|_| Failure::unknown(format!("`{verify_name}` is not a host name to verify")))?;
    let insecure = params.flag("insecure")?;
    let recorder = Arc::new(Recorder {
        inner: verifiers.get(params.text("ca")?.filter(|ca| !ca.is_empty()))?,
        seen: Mutex::new(None),
    });
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::unknown(format!("cannot set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();

    let stream = tcp::connect(address).await?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(server_name.clone(), stream)
        .await
        .map_err(|e| Failure::critical(handshake_error(&e)))?;
    let version = match tls.get_ref().1.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_owned(),
    };
    drop(tls);
    let seen = recorder.seen.lock().unwrap_or_else(PoisonError::into_inner).take();
    let Some(seen) = seen else {
        return Err(Failure::critical(format!("{address} completed the handshake without a certificate")));
    };
    let certificate = Certificate::parse(&seen.end_entity).map_err(Failure::critical)?;
    let hostname_ok = rustls::server::ParsedCertificate::try_from(&seen.end_entity)
        .and_then(|parsed| rustls::client::verify_server_name(&parsed, &server_name))
        .is_ok();
    let chain = chain_verdict(&recorder.inner, &seen, &server_name, &certificate);
    Ok(observe(&certificate, &version, hostname_ok, &chain, &verify_name, insecure))
}

/// Whether the chain leads to a trusted root, apart from the name (judged
/// on its own) and expiry (judged from notAfter): a certificate that is
/// merely expired is verified again as of its last valid second.
fn chain_verdict(
    verifier: &WebPkiServerVerifier,
    seen: &Seen,
    server_name: &ServerName<'_>,
    certificate: &Certificate,
) -> Result<(), rustls::Error> {
    let verdict = match &seen.verdict {
        Err(rustls::Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. })) => {
            let then = UnixTime::since_unix_epoch(Duration::from_secs(
                u64::try_from(certificate.not_after.saturating_sub(1)).unwrap_or(0),
            ));
            verifier.verify_server_cert(&seen.end_entity, &seen.intermediates, server_name, &[], then).map(|_| ())
        }
        other => other.clone(),
    };
    match verdict {
        Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => Ok(()),
        other => other,
    }
}

fn observe(
    certificate: &Certificate,
    version: &str,
    hostname_ok: bool,
    chain: &Result<(), rustls::Error>,
    servername: &str,
    insecure: bool,
) -> Observation {
    let days_left = certificate.days_left();
    let not_after = certificate.not_after_rfc3339();
    let mut fields = Fields::new();
    fields.insert("days_left".to_owned(), days_left.into());
    fields.insert("not_after".to_owned(), not_after.clone().into());
    fields.insert("subject".to_owned(), certificate.subject.clone().into());
    fields.insert("issuer".to_owned(), certificate.issuer.clone().into());
    fields.insert("names".to_owned(), certificate.names.clone().into());
    fields.insert("hostname_ok".to_owned(), hostname_ok.into());
    fields.insert("chain_ok".to_owned(), chain.is_ok().into());
    fields.insert("version".to_owned(), version.into());

    let mut problems = Vec::new();
    if days_left < 0 {
        problems.push(format!("the certificate expired on {not_after} ({} days ago)", -days_left));
    }
    if !insecure && !hostname_ok {
        let names = if certificate.names.is_empty() {
            "no names".to_owned()
        } else {
            format!("`{}`", certificate.names.join("`, `"))
        };
        problems.push(format!("the certificate is for {names}, not `{servername}`"));
    }
    if !insecure && let Err(error) = chain {
        problems.push(chain_problem(error, certificate));
    }
    let default = if !problems.is_empty() {
        Verdict::critical(problems.join("; "))
    } else if days_left < WARN_DAYS {
        Verdict::warning(format!("the certificate expires in {days_left} days ({not_after})"))
    } else {
        Verdict::ok()
    };
    let observed = if days_left < 0 {
        format!("{version}, expired {} days ago", -days_left)
    } else {
        format!("{version}, {days_left} days left")
    };
    Observation::new(fields, observed, default)
}

/// Why the chain does not verify, in an operator's words. A self-signed
/// certificate is said to be one whatever webpki tripped on first (with a
/// same-named root on the machine it may be a signature mismatch).
fn chain_problem(error: &rustls::Error, certificate: &Certificate) -> String {
    if certificate.subject == certificate.issuer {
        return format!(
            "the certificate is self-signed (`{}`) and not trusted here; give its CA as `ca`",
            certificate.subject
        );
    }
    match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            format!("the certificate's issuer `{}` is not a trusted CA here; give it as `ca`", certificate.issuer)
        }
        other => format!("the certificate chain does not verify: {other}"),
    }
}

/// A failed handshake: a plain-text port usually shows as a corrupt record.
fn handshake_error(error: &std::io::Error) -> String {
    let tls = error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
    let plain = matches!(tls, Some(rustls::Error::InvalidMessage(_)))
        || matches!(error.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset);
    let hint = if plain { " (is this port speaking TLS?)" } else { "" };
    format!("TLS handshake failed: {error}{hint}")
}

#[cfg(test)]
#[path = "tests/tls.rs"]
mod tests;
