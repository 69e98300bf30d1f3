#!/usr/bin/env bash
# `make run`: the service on 127.0.0.1:8000 with the seed story playing into Kafka beside it.
# Ctrl-C stops both. MR_SPEEDUP sets how much faster than real time the story plays (600).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bin=.venv/bin
host=${MR_HTTP_HOST:-127.0.0.1}
port=${MR_HTTP_PORT:-8000}
base="http://$host:$port"

"$bin/market-reaction" topics
"$bin/market-reaction" serve --host "$host" --port "$port" &
serve_pid=$!
simulate_pid=
stop() {
  [[ -n $simulate_pid ]] && kill "$simulate_pid" 2>/dev/null
  kill "$serve_pid" 2>/dev/null
  wait 2>/dev/null
}
trap stop EXIT
trap 'exit 130' INT TERM

for ((i = 0; i < 120; i++)); do
  curl -sf "$base/readyz" >/dev/null && break
  kill -0 "$serve_pid" 2>/dev/null || { echo "run: the service exited during start-up" >&2; exit 1; }
  sleep 0.5
done
curl -sf "$base/readyz" >/dev/null || { echo "run: the service is not ready after 60s" >&2; exit 1; }

cat <<EOT

  market-reaction is up on $base, and the seed story (the US letter of 7 July 2025 setting a
  25% tariff on Korean goods, then the KOSPI session that followed) is playing into Kafka.

  Desk console:           $base/   (open it in a browser)
  Watch reactions form:   curl -N '$base/v1/signals/stream?instrument=KOSPI'
  History, as it lands:   curl -s '$base/v1/reactions?instrument=KOSPI&horizon=close'
  Statistics:             curl -s '$base/v1/stats/reactions?group_by=instrument&horizon=close&final=false'
  Metrics:                curl -s $base/metrics | grep ^mr_
  API documentation:      $base/docs

EOT
mkdir -p .cache
"$bin/market-reaction" simulate --speedup "${MR_SPEEDUP:-600}" > .cache/simulate.log 2>&1 &
simulate_pid=$!
wait "$serve_pid"
