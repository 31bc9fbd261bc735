"""Options of the hailo_vlm backend (light: no hailo_platform import)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from bench.backends.base import Capabilities, Options, require_file


class HailoVLMOptions(Options):
    group_id: str = "SHARED"
    """VDevice group: "SHARED" lets a vision model use the same chip."""
    optimize_memory_on_device: bool = False
    """HailoRT's option: tokenize on the host to save device memory."""
    read_timeout_s: float = Field(default=60.0, gt=0)
    """Per-read timeout (HailoRT's default is 10 s); the first read covers the image's encoding
    and the prefill."""


class HailoVLMArtifact(Options):
    model_files: ClassVar[tuple[str, ...]] = ("hef",)

    hef: str
    """Path to the VLM HEF, e.g. ~/.cache/pibench/hef/Qwen2-VL-2B-Instruct.hef."""

    def preflight(self) -> None:
        require_file(self.hef, "HEF file")


CAPABILITIES = Capabilities(
    streams_tokens=True, exact_prompt_tokens=False, exact_gen_tokens=True, chat=True,
    vision=True,
)
"""What this backend can take and report (read by the plan and the config check without
importing the runtime)."""
