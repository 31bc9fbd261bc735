"""The servers behind HTTP backends: their CPU time and memory per case (host_load.server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.report.columns import Column, markdown
from bench.report.rows import NA, fmt

LEGEND = ("server: the backend's server on this machine (found by its port, server_pid or "
          "server_process; children such as Ollama's runners included). CPU % is its CPU "
          "time over the measured repetitions as a share of all cores (cores = how many it "
          "kept busy on average), RSS at the end of the repetitions; its CPU time is the "
          "workload, not counted in \"other %\". not seen: a server on another host, or one "
          "that could not be found (then its CPU time stays in other %).")


def server_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if ((r.get("host_load") or {}).get("server"))]


def _server(r: dict[str, Any]) -> dict[str, Any]:
    return (r.get("host_load") or {}).get("server") or {}


def _who(r: dict[str, Any]) -> str:
    s = _server(r)
    if not s.get("seen"):
        return f"not seen: {s.get('reason') or 'unknown'}"
    names = ", ".join(s.get("names") or []) or NA
    n = len(s.get("pids") or [])
    return f"{names} ({n} process{'' if n == 1 else 'es'})"


def _found(r: dict[str, Any]) -> str:
    s = _server(r)
    return str(s.get("found_by") or NA) if s.get("seen") else NA


def _f(digits: int) -> Callable[[Any], str]:
    return lambda x: fmt(x, digits)


SERVERS: list[Column[dict[str, Any]]] = [
    Column("case", lambda r: r["case_id"]),
    Column("server", _who),
    Column("found by", _found),
    Column("CPU % (all cores)", lambda r: _server(r).get("cpu_pct"), "r", _f(1)),
    Column("cores", lambda r: _server(r).get("cpu_cores"), "r", _f(2)),
    Column("RSS MiB", lambda r: _server(r).get("rss_mb"), "r", _f(0)),
    Column("other %", lambda r: (r.get("host_load") or {}).get("other_cpu_pct"), "r", _f(1)),
    Column("labels", lambda r: ", ".join(r.get("labels") or [])),
]
"""One row per case whose backend's server runs on this machine."""


def server_table(records: list[dict[str, Any]]) -> str:
    return markdown(SERVERS, records)
