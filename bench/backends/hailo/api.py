"""The part of HailoRT's Python GenAI API (``hailo_platform.genai``) pibench calls, as types.

Names and signatures follow hailo-ai/hailort v5.1.1
``hailort/libhailort/bindings/python/platform/hailo_platform/pyhailort/pyhailort.py``
(``VDevice``, ``LLM``, ``VLM``, ``LLMGeneratorCompletion``); tests/fakes/hailo_platform
implements the same names. Only for type checking: importing this module imports no HailoRT.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Protocol

from bench.common import Json

Prompt = str | Sequence[Json]
"""A raw string (used as is), or chat messages (the model's template applied on the card)."""


class VDeviceParams(Protocol):
    group_id: str


class VDevice(Protocol):
    def release(self) -> None: ...


class VDeviceClass(Protocol):
    def __call__(self, params: VDeviceParams) -> VDevice: ...
    def create_params(self) -> VDeviceParams: ...


class Completion(Protocol):
    """``LLMGeneratorCompletion``: the stream of one ``generate`` call, read item by item."""

    @property
    def generation_status(self) -> Enum: ...
    def read(self, timeout_ms: int) -> str: ...
    def __enter__(self) -> Completion: ...
    def __exit__(self, *exc: object) -> object: ...


class GenAIModel(Protocol):
    """What ``LLM`` and ``VLM`` share."""

    def tokenize(self, text: str) -> list[int]: ...
    def clear_context(self) -> None: ...
    def get_stop_tokens(self) -> list[str]: ...
    def set_stop_tokens(self, stop_tokens: list[str]) -> None: ...
    def release(self) -> None: ...


class LLM(GenAIModel, Protocol):
    def generate(self, prompt: Prompt, **kwargs: float | int | bool) -> Completion: ...
    def max_context_capacity(self) -> int: ...


class VLM(GenAIModel, Protocol):
    def generate(
        self, prompt: Prompt, frames: Sequence[object], **kwargs: float | int | bool
    ) -> Completion: ...
    def input_frame_shape(self) -> Sequence[int]: ...
