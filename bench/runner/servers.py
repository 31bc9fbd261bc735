"""Servers answer: the part of the one pre-flight (bench.runner.inputs.preflight_problems) that
touches the network. ``pibench run`` always does it before a run folder exists (a stopped server
is one line per backend and exit 2, never a folder of failed cases); ``pibench validate
--online`` does the same check and lists it among the config's other problems.

A backend whose options name a server says so through ``Options.server_url()`` (Ollama,
OpenAI-compatible servers) and names a cheap GET of its API in ``Options.probe_path``
(Ollama and hailo-ollama: /api/version; OpenAI-compatible servers: /v1/models). This module
sends that one request and reads only its status: a connection refused, a timeout, a 404
(another kind of server on that port) or a 5xx is a problem; 401/403 is a server that answers
(the key is the backend's business at load).
"""

from __future__ import annotations

from bench.config.loader import ResolvedConfig
from bench.config.yamlfile import line_of
from bench.runner.inputs import Problem
from bench.runner.plan import Case

TIMEOUT_S = 5.0
"""Seconds a server has to answer the probe (the HTTP backends' default connect timeout)."""
HINT = "start it (`ollama serve`, hailo-ollama on port 8000, llama-server ...) or fix base_url"


def probe(url: str, path: str, timeout_s: float | None = None) -> str | None:
    """GET ``url + path``: None when the server answers as expected, else why not."""
    import httpx

    timeout_s = TIMEOUT_S if timeout_s is None else timeout_s
    target = url.rstrip("/") + path
    try:
        r = httpx.get(target, timeout=timeout_s, follow_redirects=True)
    except httpx.TimeoutException:
        return f"no answer at {url} to GET {path} within {timeout_s:g} s"
    except httpx.HTTPError as exc:
        return f"no server answers at {url} ({str(exc).strip() or type(exc).__name__})"
    if r.status_code == 404:
        return (f"the server at {url} answered GET {path} with 404: not this kind of server "
                "(wrong port or backend type?)")
    if r.status_code >= 500:
        return f"the server at {url} answered GET {path} with {r.status_code} {r.reason_phrase}"
    return None


def check_servers(cfg: ResolvedConfig, cases: list[Case]) -> list[Problem]:
    """One problem per backend of the cases whose server does not answer, with its line."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for case in cases:
        name = case.backend.name
        if name in seen:
            continue
        seen.add(name)
        opts = cfg.backend_options[name]
        url = opts.server_url()
        if not url:
            continue
        why = probe(url, opts.probe_path)
        if why is None:
            continue
        index = next(i for i, b in enumerate(cfg.run.backends) if b.name == name)
        loc = ("backends", index, "options", "base_url")
        problems.append(Problem(line_of(cfg.lines, loc),
                                f"{cfg.where(loc)}: backend {name!r}: {why}: {HINT}",
                                model_file=False))
    return problems
