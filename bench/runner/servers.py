"""Pre-flight of `pibench run`: every server a case needs accepts a connection, before a run
folder exists (a stopped server is one line per backend and exit 2, never a folder of failed
cases). `pibench validate` does not touch the network.

A backend whose options name a server says so through ``Options.server_url()`` (Ollama,
OpenAI-compatible servers); this module only opens a TCP connection to it and closes it.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from bench.config.loader import ResolvedConfig
from bench.runner.plan import Case

TIMEOUT_S = 3.0


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_servers(cfg: ResolvedConfig, cases: list[Case]) -> list[str]:
    """One line per backend of the cases whose server does not accept a connection."""
    problems: list[str] = []
    seen: set[str] = set()
    for case in cases:
        name = case.backend.name
        if name in seen:
            continue
        seen.add(name)
        url = cfg.backend_options[name].server_url()
        if not url:
            continue
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        index = next(i for i, b in enumerate(cfg.run.backends) if b.name == name)
        where = cfg.where(("backends", index, "options", "base_url"))
        try:
            with socket.create_connection((parts.hostname or "127.0.0.1", port), TIMEOUT_S):
                pass
        except OSError as exc:
            problems.append(f"{where}: backend {name!r}: no server answers at {url} "
                            f"({_reason(exc)}): start it (`ollama serve`, hailo-ollama on "
                            "port 8000, llama-server ...) or fix base_url")
    return problems
