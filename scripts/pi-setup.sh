#!/usr/bin/env bash
# One-time set-up of a Raspberry Pi 5 (Raspberry Pi OS Trixie, 64-bit) with the AI HAT+ 2
# (Hailo-10H) for pibench. Safe to run again: each step checks what is already there.
#
#   1. apt: the Hailo-10H stack (dkms hailo-h10-all: driver, HailoRT 5.x, its Python binding
#      hailo_platform) and the tools to build llama.cpp.
#   2. a venv (.venv in the repo) created with --system-site-packages, so it sees the system's
#      hailo_platform (HailoRT's Python binding is not on PyPI).
#   3. llama-cpp-python built from source for the Pi 5's Cortex-A76
#      (armv8.2-a + dotprod + fp16), then pibench itself with the [llama] extra.
#   4. a check: hailo_platform's version, `hailortcli scan`, llama.cpp's CPU features.
#
# Usage: bash scripts/pi-setup.sh            (from the repository root; asks for sudo)
# Env:   PIBENCH_VENV (default .venv), SKIP_APT=1 to skip the apt step.
set -euo pipefail

say() { printf '\n==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PIBENCH_VENV:-$ROOT/.venv}"
LLAMA_VERSION="0.3.36"
# Cortex-A76: Armv8.2-A with the dot-product and half-precision extensions (no i8mm, no SVE).
# Explicit flags (GGML_NATIVE off) so the build does not depend on what -mcpu=native detects.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16"

arch="$(uname -m)"
if [[ "$arch" != "aarch64" ]]; then
    warn "this is $arch, not a 64-bit Raspberry Pi: the Hailo packages and the A76 build flags will not fit"
fi
if [[ -r /proc/device-tree/model ]] && ! grep -qa "Raspberry Pi 5" /proc/device-tree/model; then
    warn "not a Raspberry Pi 5 ($(tr -d '\0' < /proc/device-tree/model))"
fi

# ---- 1. apt ----------------------------------------------------------------------------
if [[ "${SKIP_APT:-0}" != "1" ]]; then
    if dpkg-query -W -f='${Status}' hailo-all 2>/dev/null | grep -q "install ok installed"; then
        echo "error: hailo-all (the Hailo-8/8L stack) is installed and conflicts with hailo-h10-all:" >&2
        echo "       remove it first: sudo apt remove hailo-all" >&2
        exit 1
    fi
    say "apt: Hailo-10H stack (dkms hailo-h10-all) and build tools"
    sudo apt-get update
    sudo apt-get install -y dkms hailo-h10-all python3-venv python3-dev build-essential \
        cmake git curl
else
    say "apt step skipped (SKIP_APT=1)"
fi

# ---- 2. venv that sees the system's hailo_platform ---------------------------------------
if [[ -f "$VENV/pyvenv.cfg" ]] && ! grep -q "include-system-site-packages = true" "$VENV/pyvenv.cfg"; then
    echo "error: $VENV exists without --system-site-packages, so it cannot see hailo_platform." >&2
    echo "       remove it (rm -rf $VENV) and run this script again." >&2
    exit 1
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV with --system-site-packages"
    python3 -m venv --system-site-packages "$VENV"
else
    say "venv $VENV already there"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --upgrade pip >/dev/null

# ---- 3. llama-cpp-python for the Cortex-A76, then pibench --------------------------------
marker="$VENV/.pibench-llama-build"
want="llama-cpp-python==$LLAMA_VERSION $LLAMA_CMAKE_ARGS"
if [[ -f "$marker" && "$(cat "$marker")" == "$want" ]] && "$PY" -c "import llama_cpp" 2>/dev/null; then
    say "llama-cpp-python $LLAMA_VERSION already built with: $LLAMA_CMAKE_ARGS"
else
    say "building llama-cpp-python $LLAMA_VERSION from source ($LLAMA_CMAKE_ARGS); takes a while"
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" "$PY" -m pip install --no-cache-dir --force-reinstall \
        --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_VERSION"
    printf '%s' "$want" > "$marker"
fi
say "installing pibench (editable) with the [llama] extra"
"$PY" -m pip install -e "${ROOT}[llama]"

# ---- 4. checks ---------------------------------------------------------------------------
say "checks"
if "$PY" -c "import hailo_platform, sys; print('hailo_platform', hailo_platform.__version__)"; then
    :
else
    warn "hailo_platform does not import in $VENV: is hailo-h10-all installed? (reboot after a new driver)"
fi
if command -v hailortcli >/dev/null; then
    hailortcli scan || warn "hailortcli scan failed: reboot if the driver was just installed; check 'dmesg | grep hailo'"
else
    warn "hailortcli not found (part of hailo-h10-all)"
fi
"$PY" -c "import llama_cpp; print('llama.cpp:', llama_cpp.llama_print_system_info().decode())"
say "done. If dkms built a new Hailo driver, reboot before the first run."
echo "Next: bash scripts/fetch-pi-models.sh, then $VENV/bin/pibench run configs/review-hailo.yaml"
