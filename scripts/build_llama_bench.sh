#!/usr/bin/env bash
# Build llama.cpp's own `llama-bench` from the SAME llama.cpp source as the installed
# llama-cpp-python (the vendor/llama.cpp tree inside its PyPI source distribution), so that
# scripts/bench_vs_llama_bench.py compares the harness with llama-bench on identical kernels.
#
# Build settings follow the python package's build: CMake Release, shared libraries,
# GGML_NATIVE left at its default (ON: -march=native), OpenMP at its default, no CURL/OpenSSL.
# Only the llama-bench target is built.
#
# Usage: scripts/build_llama_bench.sh [PYTHON]      (PYTHON defaults to .venv/bin/python)
# Prints the path of the llama-bench binary on its last line. Skips the build when present.
set -euo pipefail

PY="${1:-$(dirname "$0")/../.venv/bin/python}"
CACHE="${PIBENCH_CACHE:-$HOME/.cache/pibench}"
JOBS="${JOBS:-$(nproc)}"

VERSION="$("$PY" -c 'import llama_cpp; print(llama_cpp.__version__)' 2>/dev/null)" || {
    echo "build_llama_bench: llama_cpp is not importable with $PY; install llama-cpp-python first" >&2
    exit 2
}
DEST="$CACHE/llama-bench/$VERSION"
BIN="$DEST/build/bin/llama-bench"
if [[ -x "$BIN" ]]; then
    echo "build_llama_bench: already built for llama-cpp-python $VERSION" >&2
    echo "$BIN"
    exit 0
fi

SDIST="$CACHE/sdist/llama_cpp_python-$VERSION.tar.gz"
if [[ ! -f "$SDIST" ]]; then
    echo "build_llama_bench: fetching the llama-cpp-python $VERSION sdist from PyPI" >&2
    mkdir -p "$CACHE/sdist"
    "$PY" -m pip download --no-deps --no-binary :all: --no-build-isolation \
        -d "$CACHE/sdist" "llama-cpp-python==$VERSION" >&2
fi

mkdir -p "$DEST"
if [[ ! -d "$DEST/src" ]]; then
    echo "build_llama_bench: unpacking $SDIST" >&2
    tmp="$(mktemp -d "$DEST/unpack.XXXXXX")"
    tar -xzf "$SDIST" -C "$tmp"
    mv "$tmp/llama_cpp_python-$VERSION/vendor/llama.cpp" "$DEST/src"
    rm -rf "$tmp"
fi

GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
echo "build_llama_bench: configuring ($DEST/build)" >&2
cmake -S "$DEST/src" -B "$DEST/build" "${GEN[@]}" \
    -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON \
    -DLLAMA_CURL=OFF \
    -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=OFF \
    -DLLAMA_BUILD_TOOLS=ON >&2
echo "build_llama_bench: building llama-bench with $JOBS jobs" >&2
cmake --build "$DEST/build" --target llama-bench -j "$JOBS" >&2
test -x "$BIN"
echo "$BIN"
