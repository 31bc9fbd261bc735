"""The environment of a run, recorded automatically: host, CPU, memory, OS, versions, files."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from bench.meters.board import board_facts
from bench.registry import backend_versions
from bench.results.system import ask_firmware, collect_system

# distribution names, not import names: llama-cpp-python is imported as llama_cpp,
# hailort as hailo_platform. The backends' runtimes come from their registry entries.
DISTRIBUTIONS = ["pibench", "pydantic", "pyyaml", "rich", "psutil", "httpx",
                 *backend_versions(), "numpy", "gguf", "opencv-python-headless"]


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").strip("\x00\n ")
    except OSError:
        return None


def cpu_model() -> str | None:
    """The CPU's name; on a Pi the board model. Never cpuinfo's `Hardware` line, which the
    Pi kernel hard-codes to BCM2835 (the SoC is in `soc`)."""
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model"):
            return value.strip()
    return platform.processor() or None


def _vcgencmd(*args: str) -> str | None:
    if not shutil.which("vcgencmd"):
        return None
    try:
        return subprocess.run(["vcgencmd", *args], capture_output=True, text=True,
                              timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for dist in DISTRIBUTIONS:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    if "hailort" in out and out["hailort"] is None:
        # Debian's python3-h10-hailort may carry no "hailort" metadata: the same lookup as the
        # hailo backend's record (never imports hailo_platform)
        from bench.backends.hailo.version import hailort_version

        out["hailort"] = hailort_version()
    return out


SOURCE_ROOT = Path(__file__).resolve().parents[2]


def source_commit(root: Path = SOURCE_ROOT) -> str | None:
    """The git commit of the pibench source that runs, "-dirty" when it has uncommitted
    changes; None outside a git checkout (an installed wheel: its version says it)."""
    if not (root / ".git").exists() or not shutil.which("git"):
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty",
                              "--abbrev=12", "--exclude", "*"],
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


COMMIT_ENV = "PIBENCH_COMMIT"
"""The commit of a copy without .git, given by whoever installed it: the fleet playbook sets
it to the controller's ``git rev-parse HEAD``, the commit it packed with ``git archive``."""


def pibench_commit(root: Path | None = None,
                   environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(commit, where it comes from) of the pibench that runs; (None, why) when unknown.
    A git checkout says it itself (``source_commit``); a copy without .git (a fleet host)
    takes ``PIBENCH_COMMIT`` when it is a commit hash, shortened as ``git describe`` does."""
    root = SOURCE_ROOT if root is None else root
    environ = os.environ if environ is None else environ
    commit = source_commit(root)
    if commit is not None:
        return commit, f"git describe of the checkout {root}"
    given = environ.get(COMMIT_ENV, "").strip()
    if re.fullmatch(r"[0-9a-f]{7,40}", given):
        return given[:12], (f"{COMMIT_ENV} (set by the fleet playbook: the controller's "
                            "commit, installed from its git archive)")
    if given:
        return None, f"not a git checkout, and {COMMIT_ENV}={given[:60]!r} is no commit hash"
    return None, f"not a git checkout, no {COMMIT_ENV} (the version says which release)"


def collect() -> dict[str, Any]:
    vm = psutil.virtual_memory()
    uname = platform.uname()
    governor = _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    facts = board_facts()
    vers, (commit, commit_source) = versions(), pibench_commit()
    ask, ask_failure, close = ask_firmware()
    try:
        system = collect_system(ask=ask, ask_failure=ask_failure, versions=vers,
                                commit=commit, commit_source=commit_source)
    finally:
        close()
    return {
        "host": uname.node,
        "board": _read("/proc/device-tree/model"),
        "cpu": cpu_model(),
        "soc": facts["soc"],
        "soc_source": facts["soc_source"],
        "board_revision": facts["revision"],
        "cpu_physical_cores": psutil.cpu_count(logical=False),
        "cpu_logical_cores": psutil.cpu_count(logical=True),
        "cpu_governor": governor,
        "memory_total_mb": round(vm.total / 2**20),
        "os": platform.platform(),
        "os_release": _os_release(),
        "kernel": uname.release,
        "machine": uname.machine,
        "python": sys.version.split()[0],
        "versions": vers,
        "pibench_commit": commit,
        "firmware": _vcgencmd("version"),
        "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "system": system,
    }


def _os_release() -> str | None:
    text = _read("/etc/os-release") or ""
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return None
