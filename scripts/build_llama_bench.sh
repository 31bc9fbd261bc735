#!/usr/bin/env bash
# Build llama.cpp's own `llama-bench` (or `llama-server`) from the SAME llama.cpp source as the
# installed llama-cpp-python (the vendor/llama.cpp tree inside its PyPI source distribution),
# so that scripts/bench_vs_llama_bench.py compares the harness with llama-bench, and
# tests/test_llama_server.py the in-process backend with llama-server, on identical kernels.
#
# Build settings follow the python package's build: CMake Release, shared libraries,
# GGML_NATIVE left at its default (ON: -march=native), OpenMP at its default, no CURL/OpenSSL.
# llama-server is built without its web UI (no npm, no download of prebuilt UI assets).
# Only the target asked for is built; both share one build tree.
#
# Usage: scripts/build_llama_bench.sh [PYTHON] [TARGET]
#   PYTHON defaults to .venv/bin/python; TARGET is llama-bench (default) or llama-server.
# Prints the path of the binary on its last line. Skips the build when present.
set -euo pipefail

PY="${1:-$(dirname "$0")/../.venv/bin/python}"
CACHE="${PIBENCH_CACHE:-$HOME/.cache/pibench}"
JOBS="${JOBS:-$(nproc)}"
TARGET="${2:-llama-bench}"
case "$TARGET" in
    llama-bench|llama-server) ;;
    *) echo "build_llama_bench: unknown target '$TARGET' (llama-bench or llama-server)" >&2
       exit 2 ;;
esac

VERSION="$("$PY" -c 'import llama_cpp; print(llama_cpp.__version__)' 2>/dev/null)" || {
    echo "build_llama_bench: llama_cpp is not importable with $PY; install llama-cpp-python first" >&2
    exit 2
}
DEST="$CACHE/llama-bench/$VERSION"
BIN="$DEST/build/bin/$TARGET"
if [[ -x "$BIN" ]]; then
    echo "build_llama_bench: $TARGET already built for llama-cpp-python $VERSION" >&2
    echo "$BIN"
    exit 0
fi

SDIST="$CACHE/sdist/llama_cpp_python-$VERSION.tar.gz"
if [[ ! -f "$SDIST" ]]; then
    echo "build_llama_bench: fetching the llama-cpp-python $VERSION sdist from PyPI" >&2
    mkdir -p "$CACHE/sdist"
    # with build isolation: pip prepares the sdist's metadata with its build backend
    # (scikit-build-core), which the venv does not have on a fresh machine
    "$PY" -m pip download --no-deps --no-binary :all: \
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
    -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_BUILD_TOOLS=ON >&2
echo "build_llama_bench: building $TARGET with $JOBS jobs" >&2
start=$SECONDS
cmake --build "$DEST/build" --target "$TARGET" -j "$JOBS" >&2
echo "build_llama_bench: $TARGET built in $((SECONDS - start)) s" >&2
test -x "$BIN"
echo "$BIN"
