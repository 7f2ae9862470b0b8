//! The file probe on real files: keys made by `openssl`, wrong modes, stale
//! and huge files, garbage, and a file even root cannot read.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::probe;
use crate::check::testing::{params_of, resolved, run_one};
use crate::check::{Observation, Status, Verdict};
use crate::runbook::ProbeKind;

const TIMEOUT: Duration = Duration::from_secs(10);

async fn look(path: &Path, params: &Value) -> Observation {
    probe(path.to_str().unwrap(), &params_of(params), TIMEOUT).await.unwrap()
}

/// Runs `openssl` with `args` and an output file in `dir`, mode 0600.
fn openssl(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    // `-out` before the rest: `genrsa` wants its bit count last.
    let run = Command::new("openssl").arg(args[0]).arg("-out").arg(&path).args(&args[1..]).output().unwrap();
    assert!(run.status.success(), "openssl {args:?} failed: {}", String::from_utf8_lossy(&run.stderr));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn write(dir: &Path, name: &str, content: &[u8], mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[tokio::test]
async fn an_ed25519_key_with_the_right_mode_is_ok() {
    let dir = tempfile::tempdir().unwrap();
    let key = openssl(dir.path(), "id_ed25519", &["genpkey", "-algorithm", "ed25519"]);
    let seen = look(&key, &json!({"key": "ed25519", "mode": "0600", "max_age": "1h"})).await;
    assert_eq!(seen.default, Verdict::ok());
    assert_eq!(seen.fields["key_type"], json!("ed25519"));
    assert_eq!(seen.fields["mode"], json!("0600"));
    assert_eq!(seen.fields["exists"], json!(true));
    assert_eq!(seen.fields["readable"], json!(true));
    assert!(seen.observed.starts_with("ed25519 key, 0600, "), "{}", seen.observed);
}

#[tokio::test]
async fn rsa_and_ec_keys_are_recognised_in_pkcs8_pkcs1_and_sec1() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = [
        (
            openssl(d, "rsa8", &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]),
            "rsa",
            "PRIVATE KEY",
        ),
        (openssl(d, "rsa1", &["genrsa", "-traditional", "1024"]), "rsa", "RSA PRIVATE KEY"),
        (
            openssl(d, "ec8", &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
            "ec",
            "PRIVATE KEY",
        ),
        (openssl(d, "sec1", &["ecparam", "-genkey", "-name", "prime256v1", "-noout"]), "ec", "EC PRIVATE KEY"),
    ];
    for (path, kind, label) in keys {
        let pem = std::fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with(&format!("-----BEGIN {label}-----")), "{path:?} holds {pem:.40}");
        let seen = look(&path, &json!({"key": kind})).await;
        assert_eq!(seen.default, Verdict::ok(), "{path:?}");
        assert_eq!(seen.fields["key_type"], json!(kind), "{path:?}");
    }
}

#[tokio::test]
async fn a_key_of_another_algorithm_is_critical() {
    let dir = tempfile::tempdir().unwrap();
    let key = openssl(dir.path(), "rsa", &["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]);
    let seen = look(&key, &json!({"key": "ed25519"})).await;
    assert_eq!(seen.default, Verdict::critical("an rsa key, expected ed25519"));
}

#[tokio::test]
async fn a_wrong_mode_is_critical() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "secret", b"x", 0o644);
    let seen = look(&path, &json!({"mode": "0600"})).await;
    assert_eq!(seen.default, Verdict::critical("mode 0644, expected 0600"));
}

#[tokio::test]
async fn a_file_older_than_max_age_is_critical() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "backup.done", b"", 0o644);
    let three_hours_ago = SystemTime::now() - Duration::from_secs(3 * 3600);
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(three_hours_ago).unwrap();
    let seen = look(&path, &json!({"max_age": "1h"})).await;
    assert_eq!(seen.default, Verdict::critical("last modified 3h ago, expected within 1h"));
    assert!(seen.fields["age_s"].as_u64().unwrap() >= 3 * 3600);
    assert_eq!(look(&path, &json!({"max_age": "1d"})).await.default, Verdict::ok());
}

#[tokio::test]
async fn garbage_where_a_key_should_be_is_critical_with_why() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        ("garbage", b"hello, not a key\n", "not a PEM private key: "),
        (
            "cert",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "a PEM `CERTIFICATE`, not a private key",
        ),
        ("hollow", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "a broken PKCS#8 key: "),
        ("binary", &[0xff, 0x00, 0x13, 0x37], "not a PEM private key: "),
    ];
    for (name, content, why) in cases {
        let path = write(dir.path(), name, content, 0o600);
        let seen = look(&path, &json!({"key": true})).await;
        assert_eq!(seen.default.status, Status::Critical, "{name}");
        assert!(seen.default.reason.starts_with(why), "{name}: {}", seen.default.reason);
        assert!(seen.missing.iter().any(|(field, _)| *field == "key_type"), "{name}");
    }
}

#[tokio::test]
async fn a_huge_key_file_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "huge.pem", &vec![b'A'; 5_000_000], 0o600);
    let seen = look(&path, &json!({"key": true})).await;
    assert_eq!(seen.default, Verdict::critical("5.0 MB, larger than 1 MiB: not a key, left unread"));
    assert_eq!(seen.fields["size"], json!(5_000_000));
}

#[tokio::test]
async fn a_missing_file_is_critical_and_says_it_does_not_exist() {
    let seen = look(Path::new("/nonexistent/id_ed25519"), &json!({})).await;
    assert_eq!(seen.default, Verdict::critical("no such file"));
    assert_eq!(seen.fields["exists"], json!(false));
}

#[tokio::test]
async fn a_directory_is_critical() {
    let dir = tempfile::tempdir().unwrap();
    let seen = look(dir.path(), &json!({})).await;
    assert_eq!(seen.default, Verdict::critical(format!("{} is a directory, not a file", dir.path().display())));
}

/// Tests run as root, which reads a mode-000 file; `/proc/self/mem` opens
/// but its first page is never mapped, so reading it fails for anyone.
#[tokio::test]
async fn a_file_that_cannot_be_read_is_critical() {
    let seen = look(Path::new("/proc/self/mem"), &json!({})).await;
    assert_eq!(seen.fields["readable"], json!(false));
    assert_eq!(seen.default.status, Status::Critical);
    assert!(seen.default.reason.starts_with("cannot read /proc/self/mem: "), "{}", seen.default.reason);
}

#[tokio::test]
async fn expectations_read_the_fields_through_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "config", b"listen 80;\n", 0o640);
    let mut check = resolved(ProbeKind::File, path.to_str().unwrap(), &json!({}));
    check.expect = Some("mode == \"0640\" and size == 11 and uid == 0".to_owned());
    let outcome = run_one(check).await;
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
}

#[tokio::test]
async fn malformed_parameters_are_unknown() {
    for params in [json!({"mode": "rw-r--r--"}), json!({"key": "dsa"}), json!({"max_age": "soon"})] {
        let failure = probe("/etc/hostname", &params_of(&params), TIMEOUT).await.unwrap_err();
        assert_eq!(failure.0.status, Status::Unknown, "{params}");
    }
}

#[tokio::test]
async fn a_path_through_a_file_is_critical_without_claiming_it_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "plain", b"x", 0o644);
    let seen = look(&file.join("child"), &json!({})).await;
    assert_eq!(seen.default.status, Status::Critical);
    assert!(seen.default.reason.starts_with("cannot look at "), "{}", seen.default.reason);
    assert!(!seen.fields.contains_key("exists"));
}
