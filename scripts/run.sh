#!/usr/bin/env bash
# make run: install, migrate, seed when empty, train when changed, then start the three processes.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUN_STARTED_AT="${RUN_STARTED_AT:-$(date +%s)}"
scripts/bootstrap.sh
source scripts/env.sh
.venv/bin/python -m logistics init
scripts/train.sh
exec .venv/bin/honcho start -f Procfile
