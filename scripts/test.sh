#!/usr/bin/env bash
# Install what the tests need (idempotent), then run the whole test suite.
# pytest's exit code 5 (no test collected) is a failure here, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh || exit 1
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "pibench: pytest collected no test: failing" >&2
    exit 1
fi
exit "$rc"
