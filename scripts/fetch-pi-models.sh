#!/usr/bin/env bash
# Download the models of configs/review-hailo.yaml onto the Pi (run once; safe to re-run):
#   - the Hailo-10H HEFs of Hailo's model zoo GenAI into ~/.cache/pibench/hef/
#     (from Hailo's public download server, the links of the zoo's model table), and
#   - the matching Q4_K_M GGUFs into ~/.cache/pibench/models/ with `pibench models fetch`
#     (Hugging Face; the sha256 is checked where configs/models.yaml knows it).
# Existing complete files are kept; an interrupted download resumes from its .part file.
# Each HEF's size and sha256 are printed; pibench records them with every result.
#
# Usage: bash scripts/fetch-pi-models.sh [--hef-only | --gguf-only]
# Env:   HAILO_ZOO_VERSION (default: the installed HailoRT's, from `hailortcli --version`,
#        else 5.1.1): HEFs are built per HailoRT release, use the one matching yours.
#        PIBENCH_HEF_DIR (default ~/.cache/pibench/hef), PIBENCH_VENV (default .venv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PIBENCH_VENV:-$ROOT/.venv}"
HEF_DIR="${PIBENCH_HEF_DIR:-$HOME/.cache/pibench/hef}"
DO_HEF=1
DO_GGUF=1
case "${1:-}" in
    --hef-only) DO_GGUF=0 ;;
    --gguf-only) DO_HEF=0 ;;
    "") ;;
    *) echo "usage: $0 [--hef-only | --gguf-only]" >&2; exit 2 ;;
esac

say() { printf '\n==> %s\n' "$*"; }

zoo_version() {
    if [[ -n "${HAILO_ZOO_VERSION:-}" ]]; then
        echo "${HAILO_ZOO_VERSION#v}"
        return
    fi
    local v=""
    if command -v hailortcli >/dev/null; then
        v="$(hailortcli --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true)"
    fi
    echo "${v:-5.1.1}"
}

# local name | file name on Hailo's server (the zoo's table names Llama with underscores)
HEFS=(
    "Qwen2-1.5B-Instruct.hef|Qwen2-1.5B-Instruct.hef"
    "Qwen2.5-1.5B-Instruct.hef|Qwen2.5-1.5B-Instruct.hef"
    "Qwen2.5-Coder-1.5B-Instruct.hef|Qwen2.5-Coder-1.5B-Instruct.hef"
    "DeepSeek-R1-Distill-Qwen-1.5B.hef|DeepSeek-R1-Distill-Qwen-1.5B.hef"
    "Llama-3.2-3B-Instruct.hef|Llama-3_2-3B-Instruct.hef"
)
# names in configs/models.yaml (pibench models fetch NAME)
GGUFS=(
    Qwen2-1.5B-Instruct
    Qwen2.5-1.5B-Instruct
    Qwen2.5-Coder-1.5B-Instruct
    DeepSeek-R1-Distill-Qwen-1.5B
    Llama-3.2-3B-Instruct
)

if [[ "$DO_HEF" == "1" ]]; then
    version="$(zoo_version)"
    base="https://dev-public.hailo.ai/v${version}/blob"
    say "HEFs for HailoRT $version into $HEF_DIR (from $base)"
    mkdir -p "$HEF_DIR"
    for pair in "${HEFS[@]}"; do
        local_name="${pair%%|*}"
        remote_name="${pair##*|}"
        dest="$HEF_DIR/$local_name"
        if [[ -s "$dest" ]]; then
            echo "have $local_name"
        else
            echo "downloading $remote_name"
            curl -fL --retry 3 --retry-delay 5 -C - -o "$dest.part" "$base/$remote_name"
            mv "$dest.part" "$dest"
        fi
        printf '  %s bytes, sha256 %s\n' "$(stat -c %s "$dest")" "$(sha256sum "$dest" | cut -d' ' -f1)"
    done
fi

if [[ "$DO_GGUF" == "1" ]]; then
    if [[ -x "$VENV/bin/pibench" ]]; then
        PIBENCH=("$VENV/bin/pibench")
    elif command -v pibench >/dev/null; then
        PIBENCH=(pibench)
    else
        echo "error: pibench not found: run scripts/pi-setup.sh first" >&2
        exit 1
    fi
    say "GGUFs (Q4_K_M) into ~/.cache/pibench/models/"
    for name in "${GGUFS[@]}"; do
        "${PIBENCH[@]}" models fetch "$name" --quant Q4_K_M
    done
fi
say "done"
