#!/usr/bin/env bash
# Trains the model; Rasa's fingerprint makes this a quick no-op when data, domain and config are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
.venv/bin/rasa train --domain domain --data data --config config.yml --out models --quiet 2>&1 \
  | grep -v -e "DeprecationWarning" -e "^\s*$" -e "warnings.warn" || true
ls models/*.tar.gz >/dev/null
