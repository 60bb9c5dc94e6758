#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the pinned requirements; a no-op when they are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for candidate in "${PYTHON:-}" python3.10 /root/.pyenv/versions/3.10.13/bin/python "$HOME/.pyenv/versions/3.10.13/bin/python"; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && \
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  for candidate in "$HOME"/.pyenv/versions/3.10*/bin/python /root/.pyenv/versions/3.10*/bin/python; do
    [ -x "$candidate" ] && { echo "$candidate"; return 0; }
  done
  return 1
}

# The chat widget's browser dependencies (socket.io-client from npm); a no-op when up to date.
scripts/vendor_web.sh

stamp=.venv/.installed
if [ -f "$stamp" ] && [ "$stamp" -nt requirements.txt ] && [ "$stamp" -nt constraints.txt ]; then
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  if ! python=$(find_python); then
    echo "error: Python 3.10 is needed (Rasa 3.6 supports 3.8-3.10) and none was found." >&2
    echo "       Install it (e.g. pyenv install 3.10.13 -> /root/.pyenv/versions/3.10.13/bin/python)" >&2
    echo "       or point PYTHON at it: make run PYTHON=/path/to/python3.10" >&2
    exit 1
  fi
  echo "creating .venv with $python"
  "$python" -m venv .venv
fi
echo "installing requirements into .venv (about a minute the first time)"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements.txt -c constraints.txt
touch "$stamp"
