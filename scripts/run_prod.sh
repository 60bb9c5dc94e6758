#!/usr/bin/env bash
# make run-prod: production mode on this machine (deploy/README.md). PostgreSQL for the backend and the
# conversations, Redis lock store, two Rasa servers behind nginx, action-server workers, RabbitMQ event broker.
# Secrets come from the environment or var/prod/secrets.env (generated once). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUN_STARTED_AT="${RUN_STARTED_AT:-$(date +%s)}"
scripts/bootstrap.sh
source scripts/prod_env.sh
command -v nginx >/dev/null || { echo "nginx is missing: apt-get install -y nginx" >&2; exit 1; }
.venv/bin/python scripts/prod_check.py
.venv/bin/python -m logistics init
scripts/train.sh
# nginx's configuration from the template (its temporary files under var/prod/nginx, writable by its workers).
export NGINX_DIR="$PWD/var/prod/nginx" RASA_HOST="${RASA_HOST:-127.0.0.1}"
mkdir -p "$NGINX_DIR/tmp" && chmod 0755 var/prod "$NGINX_DIR" && chmod 1777 "$NGINX_DIR/tmp"
.venv/bin/python - <<'PY'
import os, re
from pathlib import Path
template = Path("deploy/nginx.conf.template").read_text()
rendered = re.sub(r"\{\{(\w+)\}\}", lambda m: os.environ[m.group(1)], template)
Path(os.environ["NGINX_DIR"], "nginx.conf").write_text(rendered)
PY
nginx -t -c "$NGINX_DIR/nginx.conf" -g "daemon off;" 2>&1 | grep -v "^nginx: the configuration file" || true
exec .venv/bin/honcho start -f deploy/Procfile.prod
