#!/usr/bin/env bash
# Lint 1,000 generated runbooks and print files/s and MB/s, with ratios
# against baselines measured in the same run. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench lint -- "$@"
