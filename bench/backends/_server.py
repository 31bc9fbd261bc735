"""Options shared by the HTTP backends that name their server's processes (light: no httpx).

A server on this machine (Ollama, hailo-ollama, llama-server) does the generation in another
process. The runner counts that process's CPU time as the workload, not as "other processes"
(bench.runner.hostload); it finds it by the port of ``base_url``, or by ``server_pid`` /
``server_process`` when the port does not lead to it (a proxy, a container).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field

from bench.backends.base import Options, ServerAddress


class ServerOptions(Options):
    """The server-process options; an HTTP backend's options derive from this."""

    base_url: str
    server_pid: int | None = Field(default=None, gt=0)
    """The server's process id on this machine (its children count with it), when the
    process listening on base_url's port is not the one that generates."""
    server_process: str | None = None
    """The server's process name on this machine (e.g. "ollama", "hailo-ollama",
    "llama-server"): every process of that name counts, with its children."""


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
