"""Options of the ``ollama`` backend (Ollama, or hailo-ollama on port 8000); nothing heavy."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar, Literal

from pydantic import Field

from bench.backends._server import ServerOptions
from bench.backends.base import Capabilities, Options


class OllamaOptions(ServerOptions):
    base_url: str = "http://127.0.0.1:11434"
    """Ollama's default; hailo-ollama listens on http://127.0.0.1:8000."""
    flavour: Literal["auto", "ollama", "hailo-ollama"] = "auto"
    """Which server: "auto" asks GET /hailo/v1/list (only hailo-ollama answers it). hailo-ollama
    takes no completion workloads (it ignores raw and templates every prompt), reports a fixed
    version, and drops options it does not know (bench.backends.ollama.flavour)."""
    pull: bool = False
    """Pull a model the server does not have (otherwise: a clear error)."""
    unload_after: bool = False
    """Unload the model (keep_alive 0) when the backend closes, e.g. so the in-process hailo
    backend can take the NPU's KV cache from hailo-ollama."""
    keep_alive: int | str | None = None
    """Sent with every request when set (seconds, or Ollama durations like "10m")."""
    raw: bool = True
    """Throughput prompts through /api/generate with raw=true: no chat template added."""
    num_ctx: int | None = Field(default=None, gt=0)
    num_thread: int | None = Field(default=None, gt=0)
    probe_path: ClassVar[str] = "/api/version"  # Ollama and hailo-ollama both answer it


class OllamaArtifact(Options):
    model: str
    """The model name as the server knows it, e.g. "qwen2.5:1.5b" (hailo-ollama:
    "qwen2.5-instruct:1.5b")."""


CAPABILITIES = Capabilities(
    streams_tokens=True,
    exact_prompt_tokens=False,  # no tokenizer on the client; the server's count when given
    exact_gen_tokens=False,  # Ollama cannot suppress the end token
    chat=True,
    completion=True,  # /api/generate with raw: true
    internal_timings=True,
)
"""What this backend can take and report (read by the plan and the config check without
importing the runtime)."""

HAILO_OLLAMA_CAPABILITIES = replace(CAPABILITIES, completion=False)
"""hailo-ollama ignores ``raw``: /api/generate always applies the chat template, so it has no
raw completion (see flavour.py)."""


def capabilities_for(options: OllamaOptions) -> Capabilities:
    """The flags as the options declare them: ``flavour: hailo-ollama`` takes no completion
    workloads, so the plan skips them with the reason; ``auto`` is known only once the server
    answers (the backend then refuses them at run time)."""
    return HAILO_OLLAMA_CAPABILITIES if options.flavour == "hailo-ollama" else CAPABILITIES
