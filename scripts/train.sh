#!/usr/bin/env bash
# Trains the model only when Rasa's fingerprint says data, domain or config changed (dry run first),
# so a warm start reuses the latest model instead of packaging a new one.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
args=(--domain domain --data data --config config.yml --out models)
quiet() { grep -v -e "Warning" -e "warn" -e "^\s*$" -e "pkg_resources" -e "declare_namespace" -e "resetCache" \
  -e "parseString" -e "setParseAction" -e "xla_computation" -e "URL.create" -e "sa.engine.url" || true; }
latest=$(ls -t models/*.tar.gz 2>/dev/null | head -n 1 || true)
# The dry run ignores response texts, so a domain edited after the model also means packaging a new one.
if [ -n "$latest" ] && [ -z "$(find domain addons/classifier.py addons/tokenizer.py addons/entities.py -newer "$latest" \
      -print -quit)" ] && \
   .venv/bin/rasa train "${args[@]}" --dry-run >/dev/null 2>&1; then
  echo "model is up to date: $(ls -t models/*.tar.gz | head -n 1)"
  exit 0
fi
# Rasa's fingerprint ignores our components' code: a change there retrains every component (--force).
components=(addons/classifier.py addons/tokenizer.py addons/entities.py)
if [ -n "$latest" ] && [ -n "$(find "${components[@]}" -newer "$latest" -print -quit 2>/dev/null)" ]; then
  args+=(--force)
fi
started=$(date +%s)
.venv/bin/rasa train "${args[@]}" 2>&1 | quiet | grep -E "Starting to train|Restored|trained and saved|Error|error" || true
ls models/*.tar.gz >/dev/null
echo "trained in $(( $(date +%s) - started )) s: $(ls -t models/*.tar.gz | head -n 1)"
# Keep the three newest models; older ones only fill the disk.
ls -t models/*.tar.gz | tail -n +4 | xargs -r rm -f
