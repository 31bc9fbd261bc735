"""Fake of hailo_platform.genai (a package in HailoRT; a module here, same import names).

``VLM`` comes from the vision fake (``_infer``), imported on first use.
"""

from typing import Any

from hailo_platform import VDevice
from hailo_platform.pyhailort.pyhailort import LLM

__all__ = ["LLM", "VLM", "VDevice"]  # noqa: F822 - VLM comes from __getattr__


def __getattr__(name: str) -> Any:
    if name == "VLM":
        from hailo_platform import _infer

        return _infer.VLM
    raise AttributeError(f"module 'hailo_platform.genai' has no attribute {name!r}")
