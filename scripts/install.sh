#!/usr/bin/env bash
# Install pibench into ./.venv with everything the quickstart and the tests need.
# Idempotent: a second run only checks. llama-cpp-python builds llama.cpp from source
# (no binary wheel on PyPI): about 6 minutes on 2 cores, once; pip caches the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "pibench: creating .venv with $($PY --version)"
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
echo "pibench: installing pibench[llama,gemma,server,vision,plots,fleet,dev] (first time: llama.cpp builds from source, ~6 min)"
.venv/bin/python -m pip install --quiet -e '.[llama,gemma,server,vision,plots,fleet,dev]'
.venv/bin/pibench --version
