"""Options of the hailo_vlm backend (light: no hailo_platform import)."""

from __future__ import annotations

from pydantic import Field

from bench.backends.base import Capabilities, Options
from bench.backends.hailo.config import HailoArtifact


class HailoVLMOptions(Options):
    group_id: str = "SHARED"
    """VDevice group: "SHARED" lets a vision model use the same chip."""
    optimize_memory_on_device: bool = False
    """HailoRT's option: tokenize on the host to save device memory."""
    read_timeout_s: float = Field(default=60.0, gt=0)
    """Per-read timeout (HailoRT's default is 10 s); the first read covers the image's encoding
    and the prefill."""


class HailoVLMArtifact(HailoArtifact):
    """A VLM's HEF, like the hailo backend's artifact: ``hef``, e.g.
    ~/.cache/pibench/hef/Qwen2-VL-2B-Instruct.hef."""


CAPABILITIES = Capabilities(
    streams_tokens=True, exact_prompt_tokens=False, exact_gen_tokens=True, chat=True,
    vision=True,
)
"""What this backend can take and report (read by the plan and the config check without
importing the runtime)."""
