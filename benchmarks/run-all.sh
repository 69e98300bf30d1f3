#!/usr/bin/env bash
# Runs every benchmark in this folder; each prints its figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# the bench extra: the Quix Streams peer of bench_live.py (never a test dependency)
.venv/bin/python -m pip install -q -e '.[bench]'
for bench in benchmarks/bench_*.py; do
  echo "== $bench"
  .venv/bin/python "$bench"
done
