#!/usr/bin/env bash
# Runs the whole suite: lint, the data-file check, then pytest. Called by `make test` and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
bash scripts/ensure-postgres.sh || echo "warning: PostgreSQL server not available; its tests will be skipped outside CI"
"$BIN/ruff" check .
"$BIN/ruff" format --check .
"$BIN/nk-cds" check
"$BIN/python" -m pytest -q -n 2 --dist loadfile "$@"
