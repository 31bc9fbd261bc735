"""Fake of hailo_platform.genai (a package in HailoRT; a module here, same import names).

v5.1.1 hailort/libhailort/bindings/python/platform/hailo_platform/genai/__init__.py exports
VDevice, LLM, VLM (and Speech2Text). ``LLM`` and ``VLM`` are looked up on every access so that
they follow the HailoRT version the test fakes (``STATE.version``).
"""

from typing import Any

from hailo_platform import VDevice

__all__ = ["LLM", "VLM", "VDevice"]  # noqa: F822 - LLM and VLM come from __getattr__


def __getattr__(name: str) -> Any:
    if name in ("LLM", "VLM"):
        from hailo_platform.pyhailort import pyhailort

        return getattr(pyhailort, name)
    raise AttributeError(f"module 'hailo_platform.genai' has no attribute {name!r}")
