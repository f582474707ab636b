#!/usr/bin/env bash
# Everything CI checks: install, start test services, lint, types, import rules, tests; stop services.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-system.sh
scripts/install.sh
source scripts/test-env.sh
if scripts/test-services.sh running; then
  echo "test services already running: leaving them up afterwards"
else
  scripts/test-services.sh start
  trap 'scripts/test-services.sh stop' EXIT
fi
echo "== ruff (import order, format)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== flake8";       .venv/bin/flake8
echo "== mypy --strict"; .venv/bin/mypy
echo "== import rules"; .venv/bin/lint-imports
echo "== pytest";       .venv/bin/pytest "$@"
