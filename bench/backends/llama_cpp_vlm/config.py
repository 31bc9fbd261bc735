"""Options and per-model artifact of the ``llama_cpp_vlm`` backend (light: pydantic only).

The options are the ``llama_cpp`` backend's (threads, batch sizes, context, flash attention,
mmap, KV type, seed: the text model runs the same way) plus libmtmd's image-token limits.
The artifact names the two files llama.cpp runs a VLM from: the text model GGUF and its
vision projector ("mmproj"). For a synthetic preset (``gguf: synth:PRESET:QUANT``) the mmproj
is made with it and may be left out.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from pydantic import Field, model_validator

from bench.backends.base import require_file
from bench.backends.llama_cpp.config import CAPABILITIES as LLAMA_CPP_CAPABILITIES
from bench.backends.llama_cpp.config import LlamaCppArtifact, LlamaCppOptions


class LlamaCppVLMOptions(LlamaCppOptions):
    image_min_tokens: int | None = Field(default=None, gt=0)
    """libmtmd's lower bound of tokens per image; None = the model's (Qwen2-VL: 8)."""
    image_max_tokens: int | None = Field(default=None, gt=0)
    """libmtmd's upper bound of tokens per image; None = the model's (Qwen2-VL: 4096). A
    bigger image is scaled down to fit."""


class LlamaCppVLMArtifact(LlamaCppArtifact):
    model_files: ClassVar[tuple[str, ...]] = ("gguf", "mmproj")

    mmproj: str | None = None
    """The vision projector GGUF (llama.cpp's ``--mmproj``). Required with a GGUF path;
    optional with ``synth:PRESET:QUANT``, whose mmproj is made beside the model."""

    @model_validator(mode="after")
    def _needs_mmproj(self) -> LlamaCppVLMArtifact:
        if self.mmproj is None and not self.gguf.startswith("synth:"):
            raise ValueError("a VLM needs its vision projector: set mmproj (the mmproj GGUF "
                             "file) beside gguf")
        return self

    def preflight(self) -> None:
        super().preflight()
        if self.mmproj is not None:
            require_file(self.mmproj, "mmproj (vision projector) file")


CAPABILITIES = replace(LLAMA_CPP_CAPABILITIES, completion=False, vision=True, depth=False)
"""The text backend's flags, but images instead of raw completions (read by the plan and the
config check without importing the runtime)."""
