"""Fake of the compiled binding's names that the Python layer exposes (enums, version)."""

from __future__ import annotations

import enum

__version__ = "5.1.1"


class LLMGeneratorCompletionStatus(enum.Enum):
    """Same member names as the pybind11 enum of HailoRT 5.x."""

    GENERATING = 0
    LOGICAL_END_OF_GENERATION = 1
    MAX_TOKENS_REACHED = 2
    ABORTED = 3


class SchedulingAlgorithm(enum.Enum):
    NONE = 0
    ROUND_ROBIN = 1
