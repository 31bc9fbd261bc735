"""The servers behind HTTP backends: their CPU time and memory per case (host_load.server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.report.rows import NA, fmt

LEGEND = ("server: the backend's server on this machine (found by its port, server_pid or "
          "server_process; children such as Ollama's runners included). CPU % is its CPU "
          "time over the measured repetitions as a share of all cores (cores = how many it "
          "kept busy on average), RSS at the end of the repetitions; its CPU time is the "
          "workload, not counted in \"other %\". not seen: a server on another host, or one "
          "that could not be found (then its CPU time stays in other %).")


def server_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if ((r.get("host_load") or {}).get("server"))]


def server_table(records: list[dict[str, Any]],
                 table: Callable[[list[str], list[list[str]], str], str]) -> str:
    header = ["case", "server", "found by", "CPU % (all cores)", "cores", "RSS MiB",
              "other %", "labels"]
    rows = []
    for r in records:
        load = r.get("host_load") or {}
        s = load.get("server") or {}
        names = ", ".join(s.get("names") or []) or NA
        if s.get("seen"):
            n = len(s.get("pids") or [])
            who = f"{names} ({n} process{'' if n == 1 else 'es'})"
            found = str(s.get("found_by") or NA)
        else:
            who, found = f"not seen: {s.get('reason') or 'unknown'}", NA
        rows.append([r["case_id"], who, found, fmt(s.get("cpu_pct"), 1),
                     fmt(s.get("cpu_cores"), 2), fmt(s.get("rss_mb"), 0),
                     fmt(load.get("other_cpu_pct"), 1), ", ".join(r.get("labels") or [])])
    return table(header, rows, "lllrrrrl")
