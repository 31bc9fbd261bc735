"""HailoRT's version without importing hailo_platform, and the minimum pibench needs."""

from __future__ import annotations

import importlib.metadata
import re
import sys

from bench.errors import BackendUnavailable

MIN_VERSION = (5, 1, 0)
"""``LLM(vdevice, model_path, lora_name, optimize_memory_on_device)`` and
``VLM(vdevice, model_path, optimize_memory_on_device)`` exist from HailoRT 5.1.0 (5.0.x has no
4th / 3rd argument, and no max_context_capacity())."""


def hailort_version() -> str | None:
    """HailoRT's version from the wheel's metadata ("hailort"), else hailo_platform.__version__.

    Never imports hailo_platform: None until something else has imported it.
    """
    try:
        return importlib.metadata.version("hailort")
    except importlib.metadata.PackageNotFoundError:
        pass
    module = sys.modules.get("hailo_platform")
    version = getattr(module, "__version__", None)
    return str(version) if version is not None else None


def parse(version: str | None) -> tuple[int, ...] | None:
    if not version:
        return None
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if not m:
        return None
    return tuple(int(x) for x in m.groups(default="0"))


def check_version(version: str | None, who: str) -> None:
    """Refuse HailoRT older than 5.1.0 with one line (an unknown version passes: the load
    itself then says what is wrong)."""
    parsed = parse(version)
    if parsed is not None and parsed < MIN_VERSION:
        raise BackendUnavailable(
            f"{who}: HailoRT {version} is installed; pibench needs HailoRT >= 5.1.0 (the "
            "LLM/VLM signatures it uses): `sudo apt update && sudo apt install hailo-h10-all`"
        )
