"""Options of the ``hailo`` backend (the Hailo-10H through HailoRT GenAI). Imports nothing heavy."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from bench.backends.base import Capabilities, Options, require_file


class HailoOptions(Options):
    group_id: str = "SHARED"
    """VDevice group: "SHARED" lets a vision model use the card at the same time."""
    first_read_timeout_s: float = Field(default=120.0, gt=0)
    """Per-read timeout for the first item: it covers the whole prompt's prefill.
    HailoRT's own default (10 s) is too short for long prompts or the 3B model."""
    read_timeout_s: float = Field(default=30.0, gt=0)
    """Per-read timeout for every later item."""
    optimize_memory_on_device: bool = False
    """HailoRT's LLM option of that name, passed through as is (the reference material here does
    not document its effect; it is recorded with every result)."""
    lora_name: str = ""
    """A LoRA adapter compiled into the HEF ("" = none), passed to LLM()."""
    hash_model: bool = True
    """Record the HEF's sha256 (reads the whole file once, outside the device's load timing)."""


class HailoArtifact(Options):
    model_files: ClassVar[tuple[str, ...]] = ("hef",)

    hef: str
    """Path to the model's HEF compiled for the Hailo-10H (``~`` expanded)."""

    def preflight(self) -> None:
        require_file(self.hef, "HEF file")


CAPABILITIES = Capabilities(
    streams_tokens=True,
    exact_prompt_tokens=True,
    exact_gen_tokens=True,  # throughput: set_stop_tokens([]) removes every stop token
    chat=True,
    completion=True,  # generate() takes a raw string as is
    vision=False,
    internal_timings=False,  # HailoRT reports no timings
)
"""What this backend can take and report (read by the plan and the config check without
importing the runtime)."""
