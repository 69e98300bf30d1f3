#!/usr/bin/env bash
# Runs every benchmark in this folder; each prints its figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
for bench in benchmarks/bench_*.py; do
  echo "== $bench"
  .venv/bin/python "$bench"
done
