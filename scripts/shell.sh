#!/usr/bin/env bash
# make shell: rasa shell against the same backend and action server as make run (started here if not running).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
SENDER="${SENDER:-demo-zhang}"
SHELL_PORT="${SHELL_PORT:-5006}"
up() { curl -fsS -o /dev/null --max-time 2 "$1"; }
pids=()
cleanup() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT

.venv/bin/python -m logistics init >/dev/null
scripts/train.sh
if ! up "http://127.0.0.1:$BACKEND_PORT/health"; then
  .venv/bin/python -m logistics serve >var/shell-backend.log 2>&1 & pids+=($!)
fi
if ! up "http://127.0.0.1:$ACTIONS_PORT/health"; then
  .venv/bin/python -m actions.server >var/shell-actions.log 2>&1 & pids+=($!)
fi
for _ in $(seq 1 120); do
  up "http://127.0.0.1:$BACKEND_PORT/health" && up "http://127.0.0.1:$ACTIONS_PORT/health" && break
  sleep 0.5
done
echo "chatting as sender id '$SENDER' (SENDER=guest make shell for an unbound user); /stop to quit"
.venv/bin/rasa shell --model models --endpoints "$RASA_ENDPOINTS" --port "$SHELL_PORT" --conversation-id "$SENDER"
