"""Write a report: Markdown, CSV and JSON beside each other.

Each file is written whole or not at all (a temporary file, then a rename; never through a
symlink: bench.results.safe_io). ``pibench report`` never overwrites (report-2.md beside an
existing report.md); the run's own report, written by ``pibench run``, is replaced whole, so
after a resume report.md covers every case.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import columns, markdown
from bench.report.columns import Column
from bench.report.rows import (
    Power,
    generated_counts,
    length_label,
    origin,
    power_of,
    record_labels,
    summary,
)

METRICS = ["ttft_s", "prompt_tps", "gen_tps", "e2e_s", "internal_prompt_tps", "internal_gen_tps"]
STATS = ["mean", "median", "stddev", "min", "max", "n"]


Flat = tuple[dict[str, Any], Power]
"""A case record and its first meter's figures (computed once per record)."""


def _b(key: str) -> Callable[[Flat], Any]:
    return lambda f: (f[0].get("backend") or {}).get(key)


def _info(key: str) -> Callable[[Flat], Any]:
    return lambda f: ((f[0].get("model") or {}).get("info") or {}).get(key)


def _w(key: str) -> Callable[[Flat], Any]:
    return lambda f: (f[0].get("workload") or {}).get(key)


def _stat(metric: str, stat: str) -> Callable[[Flat], Any]:
    return lambda f: (summary(f[0], metric) or {}).get(stat)


FLAT: list[Column[Flat]] = [
    Column("case_id", lambda f: f[0]["case_id"]),
    # where the row comes from (bench.report.rows.origin): always, so merged files can be told
    Column("run", lambda f: origin(f[0]).run),
    Column("host", lambda f: origin(f[0]).host),
    Column("board", lambda f: origin(f[0]).board),
    Column("status", lambda f: f[0]["status"]),
    Column("model", lambda f: f[0]["model"]["name"]),
    Column("backend", _b("name")),
    Column("backend_type", _b("type")),
    Column("device", _b("device")),
    Column("threads", _b("threads"), "r"),
    Column("weights", _info("weights")),
    Column("quant", _info("quant")),
    Column("file_bytes", _info("file_bytes"), "r"),
    Column("workload", _w("name")),
    Column("kind", _w("kind")),
    Column("prompt_tokens", _w("prompt_tokens"), "r"),
    Column("gen_tokens", _w("gen_tokens"), "r"),
    # what the repetitions really generated ("23", or "20-25" when they differ)
    Column("gen_tokens_generated", lambda f: _counts(f[0]) if generated_counts(f[0]) else None),
    Column("length_label", lambda f: length_label(f[0])),
    Column("load_s", lambda f: f[0].get("load_s"), "r"),
    Column("peak_rss_mb", lambda f: f[0].get("peak_rss_mb"), "r"),
    *(Column(f"{m}_{st}", _stat(m, st), "r") for m in METRICS for st in STATS),
    # the clock of the figures above: ttft_s, prompt_tps, gen_tps, e2e_s (the ones tables and
    # plots show, their *_median) are the harness clock's; internal_* the runtime's counters
    Column("clock", lambda f: (summary(f[0], "gen_tps") or {}).get("source")),
    Column("internal_clock", lambda f: _internal_clock(f[0])),
    Column("idle_w", lambda f: f[1].idle_w, "r"),
    Column("gen_mean_w", lambda f: f[1].gen_mean_w, "r"),
    Column("gen_mean_w_stdev", lambda f: f[1].gen_mean_w_sd, "r"),
    Column("peak_w", lambda f: f[1].peak_w, "r"),
    Column("j_per_token", lambda f: f[1].j_per_token, "r"),
    Column("tokens_per_j", lambda f: f[1].tokens_per_j, "r"),
    Column("power_source", lambda f: f[1].source if f[1].gen_mean_w is not None else None),
    Column("labels", lambda f: "; ".join(record_labels(f[0]))),
    Column("error", lambda f: (f[0].get("error") or {}).get("message")),
]
"""The flat table of report.csv and report.json: one row per case, every figure raw."""


def _internal_clock(record: dict[str, Any]) -> str | None:
    for key in ("internal_gen_tps", "internal_prompt_tps"):
        s = summary(record, key)
        if s and s.get("n"):
            return str(s.get("source"))
    return None


FIGURES = {
    "statistic": f"{columns.STATISTIC}: *_median, spread *_min..*_max over *_n repetitions "
                 "(warm-ups excluded); tables, the ✓ line and the plots show *_median",
    "clock": f"ttft_s, prompt_tps, gen_tps, e2e_s: {columns.CLOCK} (column clock), the same "
             "for every device; internal_*: the runtime's own counters (column internal_clock)",
}
"""What report.json says about its figures (docs/results.md, "Which figure")."""


def _flat(records: list[dict[str, Any]]) -> list[Flat]:
    return [(r, power_of(r)) for r in records]


def flat_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return columns.records(FLAT, _flat(records))


def _counts(record: dict[str, Any]) -> str:
    counts = generated_counts(record)
    lo, hi = min(counts), max(counts)
    return str(lo) if lo == hi else f"{lo}-{hi}"


def to_csv(records: list[dict[str, Any]]) -> str:
    return columns.to_csv(FLAT, _flat(records))


def _free(path: Path) -> Path:
    if not os.path.lexists(path):
        return path
    k = 2
    while os.path.lexists(path.with_name(f"{path.stem}-{k}{path.suffix}")):
        k += 1
    return path.with_name(f"{path.stem}-{k}{path.suffix}")


def write_report(records: list[dict[str, Any]], out_dir: Path, title: str,
                 stem: str = "report", replace: bool = False,
                 system: str = "") -> dict[str, Path]:
    """report.md, .csv, .json in ``out_dir``; ``replace``: over the existing ones (the run's
    own report), else beside them under a free name (report-2.md...). ``system``: the
    System section (bench.report.system), at the end of report.md."""
    from bench.results.safe_io import storage_error, write_atomic, write_new

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, out_dir / f"{stem}.md") from None
    md = markdown.render(records, title) + ("\n" + system if system else "")
    texts = {"md": md, "csv": to_csv(records),
             "json": json.dumps({"title": title, "figures": FIGURES, "rows": flat_rows(records)},
                                indent=2) + "\n"}
    files: dict[str, Path] = {}
    for kind, text in texts.items():
        path = out_dir / f"{stem}.{kind}"
        if replace:
            write_atomic(path, text)
        else:
            path = _free(path)
            write_new(path, text)
        files[kind] = path
    return files
