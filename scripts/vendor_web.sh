#!/usr/bin/env bash
# Vendors the widget's browser dependencies (socket.io-client, pinned in package-lock.json) into
# logistics/web/static/vendor so the chat page works offline, without a CDN. A no-op when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

target=logistics/web/static/vendor/socket.io.min.js
if [ -f "$target" ] && [ "$target" -nt package-lock.json ] && [ "$target" -nt package.json ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is needed once to vendor socket.io-client for the chat widget (apt-get install npm)." >&2
  exit 1
fi
echo "vendoring socket.io-client for the chat widget (npm ci)"
npm ci --no-audit --no-fund --loglevel=error
mkdir -p "$(dirname "$target")"
cp node_modules/socket.io-client/dist/socket.io.min.js "$target"
touch "$target"
