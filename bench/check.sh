#!/usr/bin/env bash
# `runwell check` throughput and footprint, beside the baselines the issue
# names, all measured in this same run against one local nginx:
#   - nginx alone under wrk (the ceiling),
#   - prometheus-blackbox-exporter probing nginx as fast as wrk can drive it,
#   - a bash loop of curl, the way hand-written health scripts work.
# Prints checks/s for each, runwell's ratios, peak RSS, and the wall time of
# a Tornado-sized matrix. See docs/benchmarks.md.
#
#   bench/check.sh            # 1,000 and 10,000 HTTP checks, 10,000 TCP checks
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup --bench
cargo build --release --quiet
runwell=$PWD/target/release/runwell

# shellcheck source=bench/common.sh
. "$PWD/bench/common.sh"

# nginx: one JSON health body, as the seeds' services answer.
nginx_port=$(free_port)
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port;
    location = /health { default_type application/json; return 200 '{"status":"healthy","version":"1.4.2"}'; }
  }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
url="http://127.0.0.1:$nginx_port/health"
wait_for "$url"

# prometheus-blackbox-exporter with one HTTP module.
bb_port=$(free_port)
cat >"$work/blackbox.yml" <<CONF
modules:
  http_2xx:
    prober: http
    timeout: 5s
CONF
prometheus-blackbox-exporter --config.file="$work/blackbox.yml" --web.listen-address="127.0.0.1:$bb_port" >/dev/null 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$bb_port/metrics"

rate() { python3 -c "print(f'{$1/$2:,.0f}')"; }
ratio() { python3 -c "print(f'{$1/$2:.1f}')"; }

wrk_rate() { # url -> requests/s
  wrk -t2 -c64 -d5s "$1" | awk '/Requests\/sec/ { print $2 }'
}

generate() { # kind count target file
  {
    printf -- '---\nrunbook: bench\n---\n# Bench\n\n```checks\n'
    for i in $(seq 1 "$2"); do
      if [[ $1 == http ]]; then
        printf -- '- name: c%d\n  layer: API\n  http: %s\n  expect: status == 200 and json.status == "healthy"\n' "$i" "$3"
      else
        printf -- '- name: c%d\n  tcp: %s\n' "$i" "$3"
      fi
    done
    printf '```\n'
  } >"$4"
}

measure() { # file -> "seconds peak_kb"; fails unless every check passed
  python3 - "$runwell" "$1" <<'PY'
import json, resource, subprocess, sys, time
start = time.perf_counter()
run = subprocess.run([sys.argv[1], "check", sys.argv[2], "--format", "json"],
                     stdout=subprocess.PIPE)
seconds = time.perf_counter() - start
summary = json.loads(run.stdout)["summary"]
if summary["ok"] == 0 or summary["critical"] or summary["unknown"]:
    sys.exit(f"bench: not every check passed: {summary}")
print(f"{seconds:.4f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
PY
}

best_of() { # n file -> best "seconds peak_kb"
  local best="" line
  for _ in $(seq 1 "$1"); do
    line=$(measure "$2")
    if [[ -z $best ]] || python3 -c "import sys; sys.exit(0 if ${line%% *} < ${best%% *} else 1)"; then best=$line; fi
  done
  echo "$best"
}

echo "nginx alone (wrk -t2 -c64 -d5s):          $(rate "$(wrk_rate "$url")" 1) req/s  (the ceiling)"
bb=$(wrk_rate "http://127.0.0.1:$bb_port/probe?target=$url&module=http_2xx")
echo "blackbox exporter (wrk on /probe):         $(rate "$bb" 1) probes/s"

curl_n=500
start=$(date +%s.%N)
for _ in $(seq 1 $curl_n); do curl -fsS -o /dev/null "$url"; done
end=$(date +%s.%N)
curl_rate=$(python3 -c "print($curl_n/($end-$start))")
echo "bash loop of curl ($curl_n requests):       $(rate "$curl_rate" 1) checks/s"

for n in 1000 10000; do
  generate http "$n" "$url" "$work/http-$n.md"
  read -r secs kb < <(best_of 3 "$work/http-$n.md")
  r=$(python3 -c "print($n/$secs)")
  echo "runwell check, $n HTTP checks:        $(rate "$r" 1) checks/s  ${secs} s  peak RSS $((kb / 1024)) MB  ($(ratio "$r" "$bb")x blackbox, $(ratio "$r" "$curl_rate")x curl loop)"
done

generate tcp 10000 "127.0.0.1:$nginx_port" "$work/tcp.md"
read -r secs kb < <(best_of 3 "$work/tcp.md")
echo "runwell check, 10000 TCP checks:        $(rate "$(python3 -c "print(10000/$secs)")" 1) checks/s  ${secs} s  peak RSS $((kb / 1024)) MB"

# A Tornado-sized matrix: 7 checks, all up.
{
  printf -- '---\nrunbook: small\n---\n# Small\n\n```checks\n'
  for i in 1 2 3 4; do printf -- '- name: api%d\n  http: %s\n  expect: json.status == "healthy"\n' "$i" "$url"; done
  for i in 1 2 3; do printf -- '- name: port%d\n  tcp: 127.0.0.1:%s\n' "$i" "$nginx_port"; done
  printf '```\n'
} >"$work/small.md"
times=()
for _ in $(seq 1 21); do
  start=$(date +%s%N)
  "$runwell" check "$work/small.md" >/dev/null
  times+=($(( ($(date +%s%N) - start) / 1000 )))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 11p)
echo "runwell check, 7-check matrix:           $(python3 -c "print(f'{$median/1000:.1f}')") ms wall (median of 21, process start to exit)"
