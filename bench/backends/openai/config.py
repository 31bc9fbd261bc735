"""Options of the ``openai`` backend (any OpenAI-compatible server). Imports nothing heavy."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from bench.backends._server import ServerOptions
from bench.backends.base import Capabilities, Options


class OpenAIOptions(ServerOptions):
    base_url: str = "http://127.0.0.1:8080"
    """The server's root, without /v1 (llama-server: 8080, llama-cpp-python's server: 8000)."""
    api_key_env: str | None = None
    """Name of an environment variable holding the API key (the key is never recorded)."""
    tokenize: Literal["auto", "llama-server", "llama-cpp-python", "vllm", "none"] = "auto"
    """Endpoint used to fit throughput prompts exactly: llama-server POST /tokenize,
    llama-cpp-python POST /extras/tokenize, vLLM POST /tokenize; "auto" probes them at load."""
    force_length: bool = False
    """Ask the server to generate exactly max_tokens: sends min_tokens = max_tokens and
    ignore_eos = true (understood by llama-cpp-python's server, llama-server, vLLM), for
    throughput and chat requests; completion requests still stop at the end of generation."""
    extra_body: dict[str, Any] = Field(default_factory=dict)
    """Extra fields sent with every generation request (server specific)."""
    probe_path: ClassVar[str] = "/v1/models"  # the OpenAI API's model list (load asks it too)


class OpenAIArtifact(Options):
    model: str
    """The model name sent in requests (the server's id or alias for it)."""


CAPABILITIES = Capabilities(
    streams_tokens=True,
    exact_prompt_tokens=False,  # exact only when the server has a tokenize endpoint
    exact_gen_tokens=False,  # only if the server honours force_length
    chat=True,
    completion=True,  # /v1/completions takes the raw text
    internal_timings=False,  # llama-server's timings are kept when sent, others send none
)
"""What this backend can take and report (read by the plan and the config check without
importing the runtime)."""
