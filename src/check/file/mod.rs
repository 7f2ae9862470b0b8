//! `file`: a file exists, can be read, and has the mode, age and content
//! (a private key) it should.
//!
//! Fields: `exists`, `readable` (opening it for reading and reading its
//! first bytes succeed), `size`, `mode` (permission bits as text: `"0600"`),
//! `age_s` (seconds since its last modification), `uid`, `gid`, and with
//! `key` set `key_type` (`ed25519`, `rsa`, `ec`, …).
//!
//! Parameters: `mode` (the permission bits must equal it), `max_age` (a
//! duration the modification time must be within), `key` (true, or the
//! algorithm the file must be a PEM private key of).

mod key;
#[cfg(test)]
mod tests;

use std::io::{ErrorKind, Read};
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime};

use super::{Failure, Fields, MAX_READ, Observation, Params, Verdict, human_bytes};

/// What the check demands beyond existing and being readable.
#[derive(Debug, Default)]
struct Wanted {
    mode: Option<u32>,
    max_age: Option<Duration>,
    key: Option<KeyWanted>,
}

/// What `key:` asks for.
#[derive(Debug, PartialEq)]
enum KeyWanted {
    Any,
    Algorithm(String),
}

pub async fn probe(target: &str, params: &Params, _timeout: Duration) -> Result<Observation, Failure> {
    let wanted = wanted(params)?;
    let path = target.to_owned();
    let reads_key = wanted.key.is_some();
    // File system calls block; off the runtime so the engine's timeout still
    // ends a check stuck on a hung mount.
    let seen = tokio::task::spawn_blocking(move || look(&path, reads_key))
        .await
        .map_err(|e| Failure::unknown(format!("the file check did not finish: {e}")))?;
    Ok(judge(target, &wanted, seen))
}

fn wanted(params: &Params) -> Result<Wanted, Failure> {
    let mode = match params.text("mode")? {
        None => None,
        Some(text) => Some(
            u32::from_str_radix(text.trim().trim_start_matches("0o"), 8)
                .ok()
                .filter(|mode| *mode <= 0o7777)
                .ok_or_else(|| {
                    Failure::unknown(format!("`mode` takes octal permission bits like `0600`, not `{text}`"))
                })?,
        ),
    };
    let key = match params.text("key")?.map(|k| k.trim().to_ascii_lowercase()) {
        None => None,
        Some(k) if matches!(k.as_str(), "false" | "no" | "off" | "") => None,
        Some(k) if matches!(k.as_str(), "true" | "yes" | "on") => Some(KeyWanted::Any),
        Some(k) if key::ALGORITHMS.contains(&k.as_str()) => Some(KeyWanted::Algorithm(k)),
        Some(k) => {
            return Err(Failure::unknown(format!(
                "`key` takes true or an algorithm ({}), not `{k}`",
                key::ALGORITHMS.join(", ")
            )));
        }
    };
    Ok(Wanted { mode, max_age: params.duration("max_age")?, key })
}

/// What the file system says about the path.
#[derive(Debug)]
enum Seen {
    Missing,
    Unreachable(String),
    Found { meta: std::fs::Metadata, read: Result<(), String>, key: Option<Result<&'static str, String>> },
}

fn look(path: &str, reads_key: bool) -> Seen {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Seen::Missing,
        Err(e) => return Seen::Unreachable(e.to_string()),
    };
    if !meta.is_file() {
        return Seen::Found { meta, read: Ok(()), key: None };
    }
    let read = std::fs::File::open(path).and_then(|mut file| file.read(&mut [0u8; 1]).map(drop));
    let read = read.map_err(|e| e.to_string());
    let key = (reads_key && read.is_ok()).then(|| read_key(path, &meta));
    Seen::Found { meta, read, key }
}

/// A key file is read whole only when it is small enough to be one.
fn read_key(path: &str, meta: &std::fs::Metadata) -> Result<&'static str, String> {
    if meta.len() > MAX_READ as u64 {
        return Err(format!("{}, larger than 1 MiB: not a key, left unread", human_bytes(meta.len() as usize)));
    }
    let mut pem = zeroize::Zeroizing::new(Vec::new());
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_READ as u64).read_to_end(&mut pem))
        .map_err(|e| format!("cannot read it: {e}"))?;
    key::key_type(&pem)
}

fn judge(target: &str, wanted: &Wanted, seen: Seen) -> Observation {
    let mut fields = Fields::new();
    let (meta, read, key) = match seen {
        Seen::Missing => {
            fields.insert("exists".to_owned(), false.into());
            let mut observation = Observation::new(fields, "no such file", Verdict::critical("no such file"));
            observation.missing.push(("readable", format!("{target} does not exist")));
            return observation;
        }
        Seen::Unreachable(why) => {
            // Whether it exists is unknown (a parent directory may be closed
            // to us), so `exists` is left out rather than said to be false.
            let reason = format!("cannot look at {target}: {why}");
            let mut observation = Observation::new(fields, "unreachable", Verdict::critical(reason.clone()));
            observation.missing.push(("exists", reason));
            return observation;
        }
        Seen::Found { meta, read, key } => (meta, read, key),
    };
    let mode = meta.mode() & 0o7777;
    let age = SystemTime::now().duration_since(meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)).unwrap_or_default();
    fields.insert("exists".to_owned(), true.into());
    fields.insert("readable".to_owned(), read.is_ok().into());
    fields.insert("size".to_owned(), meta.len().into());
    fields.insert("mode".to_owned(), format!("{mode:04o}").into());
    fields.insert("age_s".to_owned(), age.as_secs().into());
    fields.insert("uid".to_owned(), meta.uid().into());
    fields.insert("gid".to_owned(), meta.gid().into());
    if let Some(Ok(kind)) = &key {
        fields.insert("key_type".to_owned(), (*kind).into());
    }
    let mut observed = format!("{mode:04o}, {}, {} old", human_bytes(meta.len() as usize), human_age(age));
    if let Some(Ok(kind)) = &key {
        observed = format!("{kind} key, {observed}");
    }
    let key_error = key.as_ref().and_then(|k| k.as_ref().err().cloned());
    let verdict = if meta.is_dir() {
        Verdict::critical(format!("{target} is a directory, not a file"))
    } else if !meta.is_file() {
        Verdict::critical(format!("{target} is not a regular file"))
    } else if let Err(why) = &read {
        Verdict::critical(format!("cannot read {target}: {why}"))
    } else if let Some(expected) = wanted.mode.filter(|m| *m != mode) {
        Verdict::critical(format!("mode {mode:04o}, expected {expected:04o}"))
    } else if let Some(max) = wanted.max_age.filter(|max| age > *max) {
        Verdict::critical(format!("last modified {} ago, expected within {}", human_age(age), human_age(max)))
    } else {
        match (&wanted.key, &key) {
            (Some(_), Some(Err(why))) => Verdict::critical(why.clone()),
            (Some(KeyWanted::Algorithm(expected)), Some(Ok(kind))) if kind != &expected.as_str() => {
                Verdict::critical(format!("an {kind} key, expected {expected}"))
            }
            _ => Verdict::ok(),
        }
    };
    let mut observation = Observation::new(fields, observed, verdict);
    if let Some(why) = key_error {
        observation.missing.push(("key_type", why));
    }
    observation
}

/// `45s`, `3m`, `1h`, `5d`: an age at a glance, in the largest unit that
/// reads as at least two or divides it exactly.
fn human_age(age: Duration) -> String {
    let secs = age.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs >= 2 * size || (secs >= size && secs.is_multiple_of(size)) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}
