#!/usr/bin/env bash
# Download the models of configs/review-hailo.yaml onto the Pi (run once; safe to re-run):
#   - the Hailo-10H HEFs of Hailo's model zoo GenAI into ~/.cache/pibench/hef/, those of the
#     zoo version matching the installed HailoRT (bench/models/hailo_zoo.json: which models
#     exist in that version, their URLs and the sha256 hailo-ollama's manifests publish), and
#   - the matching Q4_K_M GGUFs into ~/.cache/pibench/models/ with `pibench models fetch`
#     (Hugging Face; the sha256 is checked where configs/models.yaml knows it).
# Existing complete files are kept; an interrupted download resumes from its .part file.
# Every HEF (new or already there) is checked against its published sha256; a mismatch
# (broken download, or a HEF of another zoo version) is kept aside as NAME.sha256-mismatch
# and the script exits 1. HEFs without a published hash (the VLM) are printed unchecked.
#
# Usage: bash scripts/fetch-pi-models.sh [--hef-only | --gguf-only]
# Env:   HAILO_ZOO_VERSION (default: the installed HailoRT's, from `hailortcli --version`):
#        HEFs are built per HailoRT release; there is no silent default.
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
    if command -v hailortcli >/dev/null; then
        hailortcli --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true
    fi
}

# names in configs/models.yaml (pibench models fetch NAME)
GGUFS=(
    Qwen2-1.5B-Instruct
    Qwen2.5-1.5B-Instruct
    Qwen2.5-Coder-1.5B-Instruct
    DeepSeek-R1-Distill-Qwen-1.5B
    Llama-3.2-3B-Instruct
)

FAILED=0
if [[ "$DO_HEF" == "1" ]]; then
    version="$(zoo_version)"
    if [[ -z "$version" ]]; then
        echo "error: HailoRT not found (no hailortcli): install it first (sudo apt install" \
             "dkms hailo-h10-all), or set HAILO_ZOO_VERSION to the HailoRT version the HEFs" \
             "are for" >&2
        exit 2
    fi
    if ! table="$(python3 "$ROOT/bench/models/hailo_zoo.py" tsv "$version")"; then
        echo "error: HEFs are built per HailoRT release and pibench has no model table for" \
             "$version; HailoRT 5.1.x is what it knows (pibench models hefs)" >&2
        exit 2
    fi
    say "HEFs of Hailo's model zoo $version into $HEF_DIR"
    mkdir -p "$HEF_DIR"
    while IFS=$'\t' read -r file url sha; do
        dest="$HEF_DIR/$file"
        if [[ -s "$dest" ]]; then
            echo "have $file"
        else
            echo "downloading $url"
            curl -fL --retry 3 --retry-delay 5 -C - -o "$dest.part" "$url"
            mv "$dest.part" "$dest"
        fi
        got="$(sha256sum "$dest" | cut -d' ' -f1)"
        size="$(stat -c %s "$dest")"
        if [[ "$sha" == "-" ]]; then
            printf '  %s bytes, sha256 %s (no published hash: unchecked)\n' "$size" "$got"
        elif [[ "$got" == "$sha" ]]; then
            printf '  %s bytes, sha256 %s ok\n' "$size" "$got"
        else
            mv "$dest" "$dest.sha256-mismatch"
            printf '  MISMATCH: sha256 %s, expected %s (zoo %s): kept as %s;' \
                "$got" "$sha" "$version" "$dest.sha256-mismatch" >&2
            printf ' delete it and run this script again\n' >&2
            FAILED=1
        fi
    done <<< "$table"
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
if [[ "$FAILED" == "1" ]]; then
    echo "error: some HEFs did not match their published sha256 (see above)" >&2
    exit 1
fi
say "done"
