//! Lint benchmark: 1,000 generated runbooks of typical size.
//!
//! Prints files/s and MB/s for `runwell lint DIR` (the real binary, end to
//! end) and for the parser in-process, each with a ratio against a baseline
//! measured in the same run: reading the files (`cat` speed) for the
//! binary, and bare pulldown-cmark event iteration for the parser.
//!
//! Run: `bench/lint.sh` (or `cargo bench --bench lint`). `bench/lint.sh
//! --keep DIR` also leaves the generated runbooks in DIR, for profiling.

// Counts and byte totals here are far below 2^52; f64 is exact for them.
#![allow(clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

// The same allocator as the `runwell` binary, so in-process figures match it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FILES: usize = 1_000;
const ROUNDS: usize = 5;

fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let texts: Vec<String> = (0..FILES).map(runbook).collect();
    let args: Vec<String> = std::env::args().collect();
    let keep = args.iter().position(|a| a == "--keep").and_then(|i| args.get(i + 1));
    for (i, text) in texts.iter().enumerate() {
        std::fs::write(dir.path().join(format!("runbook-{i:04}.md")), text).unwrap();
        if let Some(keep) = keep {
            std::fs::create_dir_all(keep).unwrap();
            std::fs::write(Path::new(keep).join(format!("runbook-{i:04}.md")), text).unwrap();
        }
    }
    let bytes: usize = texts.iter().map(String::len).sum();
    let mb = bytes as f64 / 1e6;
    println!("corpus: {FILES} runbooks, {mb:.1} MB ({} KB on average)", bytes / FILES / 1000);

    // End to end: the binary over the directory, against reading the same files.
    let read = best(|| {
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            std::hint::black_box(std::fs::read(entry.unwrap().path()).unwrap());
        }
    });
    let lint = best(|| run_lint(dir.path()));
    println!(
        "runwell lint DIR     {:>8.3} s  {:>8.0} files/s  {:>7.1} MB/s   ({:.1}x the time of just reading the files: {:.3} s)",
        lint.as_secs_f64(),
        FILES as f64 / lint.as_secs_f64(),
        mb / lint.as_secs_f64(),
        lint.as_secs_f64() / read.as_secs_f64(),
        read.as_secs_f64()
    );

    // The parser alone, one thread, against pulldown-cmark alone.
    let baseline = best(|| {
        let options = pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_TASKLISTS;
        for text in &texts {
            for event in pulldown_cmark::Parser::new_ext(text, options).into_offset_iter() {
                std::hint::black_box(event);
            }
        }
    });
    let parse = best(|| {
        for text in &texts {
            std::hint::black_box(runwell::runbook::parse(Path::new("bench.md"), text));
        }
    });
    let context = runwell::lint::Context { today: jiff::civil::date(2026, 11, 23) };
    let parse_lint = best(|| {
        for text in &texts {
            let parsed = runwell::runbook::parse(Path::new("bench.md"), text);
            std::hint::black_box(runwell::lint::lint(&parsed, context));
        }
    });
    let report = |name: &str, time: Duration| {
        println!(
            "{name:<20} {:>8.3} s  {:>8.0} files/s  {:>7.1} MB/s   ({:.2}x pulldown-cmark alone)",
            time.as_secs_f64(),
            FILES as f64 / time.as_secs_f64(),
            mb / time.as_secs_f64(),
            time.as_secs_f64() / baseline.as_secs_f64()
        );
    };
    report("pulldown-cmark alone", baseline);
    report("parse (1 thread)", parse);
    report("parse+lint (1 thread)", parse_lint);
}

fn run_lint(dir: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_runwell"))
        .args(["lint", "--format", "json"])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("runwell runs");
    assert!(status.code().is_some_and(|c| c <= 1), "runwell lint could not run");
}

/// The fastest of a few rounds: the least disturbed by the rest of the machine.
fn best(mut f: impl FnMut()) -> Duration {
    f(); // warm caches
    (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

/// A deterministic runbook of typical size (6–14 KB): front matter, a check
/// matrix, incident playbooks with shell, SQL and transcripts, tables,
/// checklists and prose, varied by `seed`.
fn runbook(seed: usize) -> String {
    let mut rng = seed as u64 * 6_364_136_223_846_793_005 + 1;
    let mut next = |n: usize| {
        rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (rng >> 33) as usize % n
    };
    let service = ["gateway", "worker", "proxy", "billing", "search", "auth"][next(6)];
    let mut s = String::new();
    let _ = write!(
        s,
        "---\nrunbook: {service}-{seed}\ndescription: Operations for the {service} service\nvars:\n  api_url: http://127.0.0.1:{port}\n  redis_url: redis://127.0.0.1:6379\n  db_url: postgres://app@127.0.0.1:5432/app\nenvironments:\n  staging: {{ api_url: \"http://staging.internal:{port}\" }}\nsecrets:\n  api_token: {{ env: API_TOKEN }}\nconnections:\n  db: postgres://app@127.0.0.1:5432/app\nservices:\n  db: {{ check: db-ready }}\n  {service}: {{ after: [db], check: api-health }}\n---\n# {service} runbook\n\nThis runbook covers day-two operations for the {service} service: health checks, restarts, incidents and maintenance. Read the whole incident section before acting.\n\n## Health check matrix\n\n```checks\n- name: api-health\n  layer: API\n  http: \"{{{{ api_url }}}}/health\"\n  expect: status == 200 and json.status == \"ok\"\n- name: db-ready\n  layer: PostgreSQL\n  postgres: \"{{{{ db_url }}}}\"\n- name: redis-ping\n  layer: Redis\n  redis: \"{{{{ redis_url }}}}\"\n```\n\n| Layer | Check | Expected |\n|---|---|---|\n| API | `GET /health` | `{{\"status\":\"ok\"}}` |\n| PostgreSQL | `pg_isready` | accepting connections |\n| Redis | `PING` | `PONG` |\n\n",
        port = 8000 + next(1000)
    );
    for incident in 0..(3 + next(5)) {
        let _ = write!(
            s,
            "## Incident {incident}: elevated error rate on {service}\n\n**Symptoms**: 5xx responses, timeouts in the logs, queue depth growing. Check the dashboards first and note the UTC time you started.\n\n### Diagnosis\n\n```sh {{name=diag-{incident} timeout=30s}}\ncurl -sS -H \"Authorization: Bearer {{{{ api_token }}}}\" \"{{{{ api_url }}}}/health\"\njournalctl -u {service} --since \"15 minutes ago\" | grep -i error | tail -n 50\nss -tnp | grep {service} | wc -l\n```\n\n```sql {{conn=db}}\nSELECT datname, state, count(*) FROM pg_stat_activity\nWHERE datname NOT IN ('template0', 'template1')\nGROUP BY datname, state ORDER BY count(*) DESC;\n```\n\n```console\n$ systemctl is-active {service}\nactive\n$ redis-cli -u {{{{ redis_url }}}} llen {service}:queue\n(integer) 12\n```\n\n### Option A: restart\n\n```sh {{name=restart-{incident} confirm timeout=60s}}\nsudo systemctl restart {service}\n```\n\n```checks {{wait=30s}}\n- use: api-health\n```\n\n### Option B: terminate idle sessions\n\n```sql {{conn=db destructive}}\nSELECT pg_terminate_backend(pid) FROM pg_stat_activity\nWHERE state = 'idle' AND now() - state_change > interval '30 minutes';\n```\n\n- [ ] Post the outcome in the incident channel\n- [ ] Open a follow-up ticket with the timeline\n\n"
        );
        for _ in 0..next(3) {
            s.push_str("Keep in mind that restarting during peak hours drops in-flight requests; prefer the rolling option when the load balancer health checks are green, and escalate to the on-call lead if errors persist for more than fifteen minutes after recovery.\n\n");
        }
    }
    s.push_str("## Maintenance checklist\n\n- [ ] Rotate credentials\n- [ ] Verify backups restore\n- [ ] Review alert thresholds\n- [ ] Update this runbook's review date\n");
    s
}
