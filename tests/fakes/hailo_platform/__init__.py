"""Fake hailo_platform for tests (HailoRT 5.x names). Never installed with pibench.

Tests put tests/fakes on sys.path (``monkeypatch.syspath_prepend``) and script the fake through
``hailo_platform._fake.STATE``. The real package's top level exports, among others, VDevice,
HailoRTException, HailoCommunicationClosedException, FormatType and FormatOrder; the more
specific exceptions live in ``hailo_platform.pyhailort.pyhailort``, the LLM API in
``hailo_platform.genai``. The vision side (InferModel, VLM, FormatType, FormatOrder) is faked in
``_infer`` and imported on first use.
"""

from typing import Any

from hailo_platform.pyhailort.pyhailort import (
    HailoCommunicationClosedException,
    HailoRTException,
    HailoSchedulingAlgorithm,
    VDevice,
)

# v5.1.1 hailo_platform/__init__.py line 41 has this literal; ``_fake.set_version`` changes it
__version__ = "5.1.1"

__all__ = [
    "FormatOrder",
    "FormatType",
    "HailoCommunicationClosedException",
    "HailoRTException",
    "HailoSchedulingAlgorithm",
    "VDevice",
]


def __getattr__(name: str) -> Any:
    if name in ("FormatType", "FormatOrder"):
        from hailo_platform import _infer

        return getattr(_infer, name)
    raise AttributeError(f"module 'hailo_platform' has no attribute {name!r}")
