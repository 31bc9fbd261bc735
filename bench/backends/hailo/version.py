"""HailoRT's version without importing hailo_platform, and the minimum pibench needs."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

from bench.errors import BackendUnavailable

MIN_VERSION = (5, 1, 0)
"""``LLM(vdevice, model_path, lora_name, optimize_memory_on_device)`` and
``VLM(vdevice, model_path, optimize_memory_on_device)`` exist from HailoRT 5.1.0 (5.0.x has no
4th / 3rd argument, and no max_context_capacity())."""


_LITERAL = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.M)


def hailort_version() -> str | None:
    """HailoRT's version: the wheel's metadata ("hailort"), else hailo_platform.__version__ when
    something imported it, else the ``__version__ = "5.1.1"`` literal of hailo_platform's
    ``__init__.py`` (hailo-ai/hailort v5.1.1 hailo_platform/__init__.py line 41), read as text.

    Never imports hailo_platform (importing it loads the C++ library and checks its version).
    """
    try:
        return importlib.metadata.version("hailort")
    except importlib.metadata.PackageNotFoundError:
        pass
    module = sys.modules.get("hailo_platform")
    version = getattr(module, "__version__", None)
    if version is not None:
        return str(version)
    try:
        spec = importlib.util.find_spec("hailo_platform")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    try:
        m = _LITERAL.search(Path(spec.origin).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    return m.group(1) if m else None


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
