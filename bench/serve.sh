#!/usr/bin/env bash
# `runwell serve`'s check-state API under wrk, beside nginx serving the very
# same JSON body as a static file, measured in this same run:
#   - nginx, static file (the baseline: the same bytes with no work behind them),
#   - runwell `GET /api/checks` (the target: at least 20,000 req/s),
#   - runwell `GET /healthz` (the framework's ceiling: routing, the middleware
#     and HTTP/1.1, no state and a 2-byte body).
# The server serves the repository's examples/ (5 runbooks, 44 checks of
# every probe kind, most of them failing here with their reasons: a
# realistic body, about 15 KB). Each variant gets a warm-up, then three
# rounds of `wrk -t2 -c64 -d10s`, taken in turn so that a busy moment hits
# them alike; the median is printed with the range. Then the live-stream
# benchmark (`cargo bench --bench live`) runs. See docs/benchmarks.md.
#
#   bench/serve.sh              # both (about 3 minutes)
#   bench/serve.sh --api        # the API only
#   RUNWELL=/tmp/runwell-old bench/serve.sh --api   # the API of another build
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup --bench
if [[ -n "${RUNWELL:-}" ]]; then
  runwell=$RUNWELL
else
  cargo build --release --quiet --bin runwell
  target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  runwell=$target/release/runwell
fi

# shellcheck source=bench/common.sh
. "$PWD/bench/common.sh"

# runwell serve: the examples, checks every 10 s (the default is 30 s; this
# only shortens the wait for every check's first result).
port=$(free_port)
cat >"$work/runwell.toml" <<CONF
listen = "127.0.0.1:$port"
runbooks = ["$PWD/examples/"]
database = "$work/journal.db"
[scheduler]
interval = "10s"
CONF
RUST_LOG=warn "$runwell" serve --config "$work/runwell.toml" >/dev/null 2>"$work/serve.log" &
pids+=($!)
base="http://127.0.0.1:$port"
wait_for "$base/healthz"
# Until every check has a result (a probe that times out takes 10 s).
python3 - "$base/api/checks" <<'PY'
import json, sys, time, urllib.request
deadline = time.monotonic() + 60
while True:
    checks = json.load(urllib.request.urlopen(sys.argv[1]))
    if checks and all(check["last"] is not None for check in checks):
        break
    if time.monotonic() > deadline:
        sys.exit("bench: not every check had a result after 60 s")
    time.sleep(0.5)
PY

# nginx: the same JSON body, as a static file, as a CDN or a cache would serve it.
nginx_port=$(free_port)
mkdir -p "$work/nginx/logs" "$work/nginx/root/api"
curl -fsS -o "$work/nginx/root/api/checks" "$base/api/checks"
# Run as root, nginx's workers read files as `nobody`: mktemp's directory is private.
chmod a+x "$work"
chmod -R a+rX "$work/nginx/root"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/nginx/root;
    location = /api/checks { default_type application/json; }
  }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
wait_for "http://127.0.0.1:$nginx_port/api/checks"

body=$(wc -c <"$work/nginx/root/api/checks")
checks=$(python3 -c "import json, sys; print(len(json.load(open(sys.argv[1]))))" "$work/nginx/root/api/checks")
echo "runwell serve examples/: $checks checks, GET /api/checks body $body bytes; wrk -t2 -c64 -d10s, nginx and wrk on the same 2 cores"

wrk_rate() { # url seconds -> requests/s; fails on any error or non-2xx answer
  local out
  out=$(wrk -t2 -c64 -d"$2"s "$1")
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
    echo "bench: wrk saw errors on $1:" >&2
    echo "$out" >&2
    exit 1
  fi
  awk '/Requests\/sec/ { print $2 }' <<<"$out"
}

variants=(nginx api healthz)
declare -A url=(
  [nginx]="http://127.0.0.1:$nginx_port/api/checks"
  [api]="$base/api/checks"
  [healthz]="$base/healthz"
)
declare -A label=(
  [nginx]="nginx, static file (baseline)"
  [api]="runwell GET /api/checks"
  [healthz]="runwell GET /healthz"
)
declare -A rates
for variant in "${variants[@]}"; do wrk_rate "${url[$variant]}" 2 >/dev/null; done
for round in 1 2 3; do
  for variant in "${variants[@]}"; do
    rates[$variant]+="$(wrk_rate "${url[$variant]}" 10) "
  done
done

median() { python3 -c "import statistics, sys; print(statistics.median(map(float, sys.argv[1:])))" $1; }
range() { python3 -c "import sys; r = list(map(float, sys.argv[1:])); print(f'{min(r):,.0f}–{max(r):,.0f}')" $1; }
nginx_rate=$(median "${rates[nginx]}")
for variant in "${variants[@]}"; do
  rate=$(median "${rates[$variant]}")
  printf '%-32s %10s req/s  (%s over 3 rounds)  %5.2fx nginx\n' "${label[$variant]}" \
    "$(python3 -c "print(f'{$rate:,.0f}')")" "$(range "${rates[$variant]}")" \
    "$(python3 -c "print($rate / $nginx_rate)")"
done

if [[ "${1:-}" != "--api" ]]; then
  cleanup
  trap - EXIT
  cargo bench --bench live
fi
