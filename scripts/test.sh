#!/usr/bin/env bash
# Run the test suite on a fresh machine: set up (with the ray and dev extras), check the
# dependency rules (lint-imports, contracts in pyproject.toml) and the types of the typed packages
# (mypy), start a throwaway PostgreSQL server for the registry tests, run pytest, stop the server.
#   bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRAS=${EXTRAS:-torch,postgres,tune,ray,adapters,dev} bash scripts/setup.sh

# The run-report test renders report.html in Debian's headless chromium.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null; } \
    || echo "[test] warning: chromium could not be installed; the browser check will skip" >&2
fi

echo "[test] lint-imports (layer contracts)"
.venv/bin/lint-imports
echo "[test] mypy (primitives, registry, gp_engine, evaluators/base.py: [tool.mypy] in pyproject.toml)"
.venv/bin/mypy

PG_URL=$(bash scripts/pg_test_server.sh start)
trap 'bash scripts/pg_test_server.sh stop >/dev/null 2>&1 || true' EXIT
export METRICFORGE_TEST_PG_URL="$PG_URL"
echo "[test] PostgreSQL at $PG_URL"

set +e
.venv/bin/python -m pytest -ra "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "[test] pytest collected no tests: failing, a run without tests proves nothing" >&2
  exit 1
fi
exit "$rc"
