#!/usr/bin/env bash
# A single-node Apache Kafka broker (KRaft) from Maven Central jars, for `make run` and `make test`.
#   kafka.sh fetch   download the jars once into $MR_CACHE_DIR/kafka/libs
#   kafka.sh up      format storage if new, start the broker in the background, wait until it answers
#   kafka.sh down    stop the broker this script started, by its pid
#   kafka.sh status  say whether a broker answers (exit 1 when none does)
# Settings: MR_CACHE_DIR (state), MR_KAFKA_LIBS (the jars, default under the cache), MR_KAFKA_PORT,
# MR_KAFKA_CONTROLLER_PORT (a second broker for a test runs on its own ports and directory)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${MR_CACHE_DIR:-$root/.cache}
home=$cache/kafka
libs=${MR_KAFKA_LIBS:-$home/libs}
data=$home/data
port=${MR_KAFKA_PORT:-19092}
controller_port=${MR_KAFKA_CONTROLLER_PORT:-19093}
pidfile=$home/broker.pid
stdout_log=$home/broker.out
wait_s=${MR_KAFKA_WAIT_S:-90}

log() { printf 'kafka: %s\n' "$*" >&2; }

running() { [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

answering() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

fetch() {
  if [[ -f $libs/.complete ]]; then return; fi
  log "fetching the broker's jars from Maven Central (once)"
  mkdir -p "$libs"
  mvn -B -q -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs"
  touch "$libs/.complete"
}

java_cmd=(java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
  "-Dkafka.logs.dir=$home" "-Dlog4j2.configurationFile=$here/kafka/log4j2.properties"
  -cp "$libs/*")

up() {
  if running; then log "already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"; return; fi
  if answering; then log "a broker not started here answers on 127.0.0.1:$port; using it"; return; fi
  fetch
  mkdir -p "$data"
  sed -e "s|@DATA_DIR@|$data|" -e "s|@PORT@|$port|" -e "s|@CONTROLLER_PORT@|$controller_port|" \
    "$here/kafka/server.properties.in" > "$home/server.properties"
  if [[ ! -f $data/meta.properties ]]; then
    cluster_id=$("${java_cmd[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    "${java_cmd[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$home/server.properties" >/dev/null
  fi
  # setsid: the broker outlives this script and is not hit by the caller's Ctrl-C
  setsid "${java_cmd[@]}" kafka.Kafka "$home/server.properties" >"$stdout_log" 2>&1 </dev/null &
  echo $! > "$pidfile"
  log "started pid $(cat "$pidfile"), waiting up to ${wait_s}s for 127.0.0.1:$port"
  for ((i = 0; i < wait_s * 2; i++)); do
    if ! running; then
      log "the broker exited during start-up; last lines of its logs:"
      tail -n 30 "$stdout_log" "$home/broker.log" >&2 2>/dev/null || true
      rm -f "$pidfile"; exit 1
    fi
    if grep -q "Kafka Server started" "$home/broker.log" 2>/dev/null && answering; then
      log "ready on 127.0.0.1:$port (log: $home/broker.log)"
      return
    fi
    sleep 0.5
  done
  log "no answer on 127.0.0.1:$port after ${wait_s}s; last lines of its log:"
  tail -n 30 "$home/broker.log" >&2 2>/dev/null || tail -n 30 "$stdout_log" >&2 || true
  down; exit 1
}

down() {
  if ! running; then rm -f "$pidfile"; log "not running"; return; fi
  pid=$(cat "$pidfile")
  kill "$pid"
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; log "stopped pid $pid"; return; }
    sleep 0.5
  done
  log "pid $pid did not stop in 30s; killing it"
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

status() {
  if running; then echo "running pid $(cat "$pidfile") on 127.0.0.1:$port"
  elif answering; then echo "a broker not started here answers on 127.0.0.1:$port"
  else echo "stopped"; return 1; fi
}

case "${1:-}" in
  fetch) fetch ;;
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 fetch|up|down|status" >&2; exit 2 ;;
esac
