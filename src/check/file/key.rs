//! Recognising a PEM private key without keeping or echoing any of it:
//! PKCS#8 (`PRIVATE KEY`, including Ed25519), PKCS#1 (`RSA PRIVATE KEY`)
//! and SEC1 (`EC PRIVATE KEY`). The key material is decoded to check its
//! structure, then dropped (zeroised by the `der` types where they own it).

use pkcs8::ObjectIdentifier;
use pkcs8::der::Decode;

const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
const X448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.111");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");

/// The algorithms a `key:` parameter may name.
pub const ALGORITHMS: &[&str] = &["rsa", "ec", "ed25519", "ed448", "x25519", "x448"];

/// The key's algorithm (`ed25519`, `rsa`, `ec`, …), or why the text is not a
/// private key runwell can read. Never includes any of the key's bytes.
pub fn key_type(pem: &[u8]) -> Result<&'static str, String> {
    let (label, der) = pem_rfc7468::decode_vec(pem).map_err(|e| format!("not a PEM private key: {e}"))?;
    let der = zeroize::Zeroizing::new(der);
    match label {
        "PRIVATE KEY" => pkcs8_type(&der),
        "RSA PRIVATE KEY" => rsa(&der).map(|()| "rsa"),
        "EC PRIVATE KEY" => ec(&der).map(|()| "ec"),
        "ENCRYPTED PRIVATE KEY" => Ok("encrypted"),
        other => Err(format!("a PEM `{other}`, not a private key")),
    }
}

fn pkcs8_type(der: &[u8]) -> Result<&'static str, String> {
    let info = pkcs8::PrivateKeyInfoRef::from_der(der).map_err(|e| format!("a broken PKCS#8 key: {e}"))?;
    let inner = info.private_key.as_bytes();
    match info.algorithm.oid {
        RSA => rsa(inner).map(|()| "rsa"),
        EC => ec(inner).map(|()| "ec"),
        oid @ (ED25519 | X25519 | ED448 | X448) => {
            let (name, length) = match oid {
                ED25519 => ("ed25519", 32),
                X25519 => ("x25519", 32),
                ED448 => ("ed448", 57),
                _ => ("x448", 56),
            };
            // RFC 8410: the private key is an OCTET STRING inside the octets.
            let seed = <&pkcs8::der::asn1::OctetStringRef>::from_der(inner)
                .map_err(|e| format!("a broken {name} key: {e}"))?;
            if seed.as_bytes().len() == length {
                Ok(name)
            } else {
                Err(format!("a broken {name} key: {} bytes, expected {length}", seed.as_bytes().len()))
            }
        }
        oid => Err(format!("a PKCS#8 key of an algorithm runwell does not know ({oid})")),
    }
}

fn rsa(der: &[u8]) -> Result<(), String> {
    pkcs1::RsaPrivateKeyRef::from_der(der).map(drop).map_err(|e| format!("a broken RSA key: {e}"))
}

fn ec(der: &[u8]) -> Result<(), String> {
    sec1::EcPrivateKey::from_der(der).map(drop).map_err(|e| format!("a broken EC key: {e}"))
}
