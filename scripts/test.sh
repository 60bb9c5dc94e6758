#!/usr/bin/env bash
# make test: lint, data validation, training, conversation tests, then pytest (its summary closes the run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
source scripts/env.sh
mkdir -p reports
step() { printf '\n=== %s\n' "$*"; }
# Run a noisy Rasa command into a log; show the lines that matter, and the whole log when it fails.
quietly() {
  local log=$1 pattern=$2; shift 2
  local rc=0
  "$@" >"$log" 2>&1 || rc=$?
  grep -E "$pattern" "$log" | grep -v -e "Warning" -e "warn" | tail -n 15 || true
  if [ "$rc" -ne 0 ]; then
    echo "--- failed (exit $rc); last lines of $log:"; tail -n 40 "$log"
  fi
  return "$rc"
}

step "lint (ruff)"
.venv/bin/ruff check .

step "rasa data validate --fail-on-warnings"
quietly reports/validate.log "rasa.validator|UserWarning|rror" \
  .venv/bin/rasa data validate --domain domain --data data --config config.yml --fail-on-warnings

step "rasa train"
scripts/train.sh

step "rasa test (conversation tests, --fail-on-prediction-errors)"
rc=0
quietly reports/rasa-test.log "Finished|Correct|accuracy|failed|Failed" \
  .venv/bin/rasa test core --model models --stories tests/test_stories.yml --out reports/rasa-test \
  --fail-on-prediction-errors || rc=$?
if [ "$rc" -ne 0 ]; then cat reports/rasa-test/failed_test_stories.yml; exit "$rc"; fi

step "rasa test (multi-turn conversation tests exported from tests/e2e/conversations, --fail-on-prediction-errors)"
rc=0
quietly reports/rasa-test-multiturn.log "Finished|Correct|accuracy|failed|Failed" \
  .venv/bin/rasa test core --model models --stories tests/stories_multiturn.yml --out reports/rasa-test-multiturn \
  --fail-on-prediction-errors || rc=$?
if [ "$rc" -ne 0 ]; then cat reports/rasa-test-multiturn/failed_test_stories.yml; exit "$rc"; fi

scripts/browser_deps.sh
step "pytest (backend, actions, e2e, browser)"
exec .venv/bin/python -m pytest -q
