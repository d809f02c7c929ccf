#!/usr/bin/env bash
# Run the HTTP API and the worker in the background and the Streamlit map in the foreground;
# Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
api_port="${HARDENING_API_PORT:-8000}"
ui_port="${HARDENING_UI_PORT:-8501}"

.venv/bin/hardening serve --port "$api_port" &
api_pid=$!
# The worker: runs queued jobs (plans, schedules, reports) as the people who asked, and the
# re-scores that visits and completed orders ask for (the API and the map may only ask).
.venv/bin/hardening worker &
worker_pid=$!
trap 'kill $api_pid $worker_pid 2>/dev/null || true' EXIT INT TERM

echo "API:  http://127.0.0.1:$api_port/healthz   (OpenAPI at /openapi.json)" >&2
echo "Map:  http://127.0.0.1:$ui_port" >&2
.venv/bin/streamlit run app.py --server.headless true --server.port "$ui_port" \
    --server.address "${HARDENING_UI_ADDRESS:-127.0.0.1}" --browser.gatherUsageStats false
