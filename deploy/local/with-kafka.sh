#!/usr/bin/env bash
# Runs a command with the local Kafka broker up; stops the broker afterwards only if it was
# started here (a broker someone already runs is left alone). The command's exit code is kept.
set -uo pipefail
kafka=$(dirname "${BASH_SOURCE[0]}")/kafka.sh
started=0
if ! bash "$kafka" status >/dev/null 2>&1; then
  bash "$kafka" up || exit 1
  started=1
fi
stop() { [[ $started -eq 1 ]] && bash "$kafka" down; }
trap 'stop; exit 130' INT TERM
"$@"
code=$?
stop
exit $code
