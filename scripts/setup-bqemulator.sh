#!/usr/bin/env bash
# Create (idempotently) the separate virtualenv that runs the BigQuery emulator for integration tests:
# <repo>/.venv-bqemulator with bqemulator 1.4.0 from PyPI (its sqlglot/grpc pins conflict with the
# project's, hence its own venv). The tests start it via mes_assets_tests/integration/bqemulator_launcher.py.
# Exits non-zero on any failure.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${REPO_ROOT}/.venv-bqemulator"
# bqemulator 1.4.0 is the version measured in STACK.md; duckdb/numpy are the versions verified with it.
PACKAGES=(bqemulator==1.4.0 duckdb==2.0.1 numpy==2.4.6)
CHECK='import importlib.metadata as m, bqemulator.cli, numpy; assert m.version("bqemulator") == "1.4.0"'

run() { echo "+ $*"; "$@"; }

if [[ -x "${VENV}/bin/python" ]] && "${VENV}/bin/python" -c "${CHECK}" 2>/dev/null; then
    echo "setup-bqemulator: ${VENV} is ready (bqemulator 1.4.0); nothing to do"
    exit 0
fi

# bqemulator needs Python >= 3.11; prefer the project's own 3.11.
PYTHON=""
for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "${candidate}" >/dev/null 2>&1 \
        && "${candidate}" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        PYTHON="$(command -v "${candidate}")"
        break
    fi
done
if [[ -z "${PYTHON}" ]]; then
    echo "setup-bqemulator: no Python >= 3.11 found (tried python3.11, python3.12, python3.13, python3)" >&2
    exit 1
fi

echo "setup-bqemulator: creating ${VENV} with ${PYTHON} ($("${PYTHON}" --version 2>&1))"
run "${PYTHON}" -m venv --clear "${VENV}"
run "${VENV}/bin/python" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}"
run "${VENV}/bin/python" -c "${CHECK}"
echo "setup-bqemulator: ${VENV} is ready"
