"""Options shared by the HTTP backends that name their server's processes (light: no httpx).

A server on this machine (Ollama, hailo-ollama, llama-server) does the generation in another
process. The runner counts that process's CPU time as the workload, not as "other processes"
(bench.runner.hostload); it finds it by the port of ``base_url``, or by ``server_pid`` /
``server_process`` when the port does not lead to it (a proxy, a container).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field

from bench.backends.base import Options, RunsOn, ServerAddress


class ServerOptions(Options):
    """The options every HTTP backend takes (its server, where it runs, timeouts, prompt
    sizing); an HTTP backend's options derive from this and add their own."""

    base_url: str
    device: str | None = None
    """What the server runs on, recorded with results, e.g. "Pi 5 CPU" or "Hailo-10H"."""
    runs_on: RunsOn = "unknown"
    """Where the server generates: "cpu" (Ollama, llama-server on the Pi), "npu"
    (hailo-ollama). The API does not say, so it is declared here; "unknown" is reported as such
    in mixed tables, never guessed."""
    fresh_context: Literal["flush", "none"] = "flush"
    """"flush": reset() sends a short unrelated prompt (1 token generated) so that no prefix
    of the next prompt is still cached (Ollama and llama-server reuse a cached prefix;
    hailo-ollama reuses the context when a prompt starts with the previous one). Requests to
    llama-server also carry cache_prompt: false: its host-memory prompt cache would otherwise
    restore a prompt of an earlier run past the flush. A repetition whose prompt was still
    partly served from a cache gets no prompt speed and a label."""
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=600.0, gt=0)
    """Per read: covers loading the model and the whole prefill before the first chunk."""
    tokens_per_word: float = Field(default=1.35, gt=0)
    """Starting guess to size throughput prompts when the server cannot count them exactly
    (learned from the server's own prompt counts; the recorded count is always the server's,
    or null)."""
    server_pid: int | None = Field(default=None, gt=0)
    """The server's process id on this machine (its children count with it), when the
    process listening on base_url's port is not the one that generates."""
    server_process: str | None = None
    """The server's process name on this machine (e.g. "ollama", "hailo-ollama",
    "llama-server"): every process of that name counts, with its children."""

    def server_url(self) -> str | None:
        return self.base_url


def server_address(opts: ServerOptions) -> ServerAddress:
    """The address of the server ``opts`` names (port from the URL, or its scheme default)."""
    parts = urlsplit(opts.base_url if "//" in opts.base_url else f"http://{opts.base_url}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = {"http": 80, "https": 443}.get(parts.scheme)
    return ServerAddress(url=opts.base_url, host=parts.hostname or "", port=port,
                         pid=opts.server_pid, process_name=opts.server_process)
