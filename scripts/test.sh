#!/usr/bin/env bash
# make test: lint, data validation, training, conversation tests, then pytest (its summary closes the run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
source scripts/env.sh
step() { printf '\n=== %s\n' "$*"; }

step "lint (ruff)"
.venv/bin/ruff check .

step "rasa data validate --fail-on-warnings"
.venv/bin/rasa data validate --domain domain --data data --config config.yml --fail-on-warnings 2>&1 \
  | grep -v -e "DeprecationWarning" -e "warnings.warn" -e "^\s*$"

step "rasa train"
scripts/train.sh

step "rasa test (conversation tests, --fail-on-prediction-errors)"
.venv/bin/rasa test core --model models --stories tests/test_stories.yml --out reports/rasa-test \
  --fail-on-prediction-errors 2>&1 | grep -v -e "DeprecationWarning" -e "warnings.warn" -e "^\s*$" | tail -n 15

step "pytest (backend, actions)"
exec .venv/bin/python -m pytest -q
