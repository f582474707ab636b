#!/usr/bin/env bash
# Install Poetry (in .tools/, pinned) and the project with its dev dependencies from poetry.lock (in .venv/).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .tools/bin/poetry ]; then
  python3 -m venv .tools
  .tools/bin/pip install --quiet "poetry==2.5.1" 2>&1 | grep -v "is ignored: it is neither" || true
  .tools/bin/python -m poetry --version
fi
.tools/bin/python -m poetry --version >/dev/null
.tools/bin/python tools/poetry_shim.py config virtualenvs.in-project true --local
.tools/bin/python tools/poetry_shim.py install --no-interaction
