# Sourced by every task: the environment wins, then .env, then the demo defaults below.
if [ -f .env ]; then
  while IFS='=' read -r key value; do
    case "$key" in ''|\#*) continue ;; esac
    if [ -z "${!key+x}" ] && [ -n "$value" ]; then export "$key=$value"; fi
  done < .env
fi
export BACKEND_PORT="${BACKEND_PORT:-8000}"
export ACTIONS_PORT="${ACTIONS_PORT:-5055}"
export RASA_PORT="${RASA_PORT:-5005}"
export LOGISTICS_API_TOKEN="${LOGISTICS_API_TOKEN:-dev-token}"
export BACKEND_URL="${BACKEND_URL:-http://127.0.0.1:${BACKEND_PORT}}"
export ACTION_ENDPOINT_URL="${ACTION_ENDPOINT_URL:-http://127.0.0.1:${ACTIONS_PORT}/webhook}"
export RASA_URL="${RASA_URL:-http://127.0.0.1:${RASA_PORT}}"
# Protects Rasa's HTTP API (trackers, pause/resume); channels (webhooks, socket.io) stay open.
export RASA_TOKEN="${RASA_TOKEN:-dev-rasa-token}"
# Only Rasa may call the action server (actions/server.py; the header is set in endpoints.yml).
export ACTION_SERVER_TOKEN="${ACTION_SERVER_TOKEN:-dev-action-token}"
# make run, make shell and make test are the demo: one-time codes on the page, demo secrets accepted.
# Production sets DEMO_MODE=false and its own secrets; the backend and the action server refuse demo secrets then.
export DEMO_MODE="${DEMO_MODE:-true}"
export RASA_ENDPOINTS="${RASA_ENDPOINTS:-endpoints.yml}"
export TRACKER_DB="${TRACKER_DB:-var/tracker.db}"
# Rasa and TensorFlow chatter that hides the useful lines.
export SQLALCHEMY_SILENCE_UBER_WARNING=1
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::DeprecationWarning}"
export RASA_TELEMETRY_ENABLED=false
mkdir -p var
