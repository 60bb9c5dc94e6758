#!/usr/bin/env bash
# Vendors the browser dependencies (socket.io-client for the chat widget, chart.js for the operations dashboard;
# pinned in package-lock.json) into logistics/web/static/vendor so the pages work offline, without a CDN. A no-op
# when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

target=logistics/web/static/vendor/socket.io.min.js
charts=logistics/web/static/vendor/chart.umd.js
if [ -f "$target" ] && [ "$target" -nt package-lock.json ] && [ "$target" -nt package.json ] && [ -f "$charts" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is needed once to vendor socket.io-client and chart.js for the web pages (apt-get install npm)." >&2
  exit 1
fi
echo "vendoring socket.io-client (chat widget) and chart.js (operations dashboard) (npm ci)"
npm ci --no-audit --no-fund --loglevel=error
mkdir -p "$(dirname "$target")"
cp node_modules/socket.io-client/dist/socket.io.min.js "$target"
cp node_modules/chart.js/dist/chart.umd.js "$charts"
touch "$target" "$charts"
