"""Write a report: Markdown, CSV and JSON beside each other.

Each file is written whole or not at all (a temporary file, then a rename; never through a
symlink: bench.results.safe_io). ``pibench report`` never overwrites (report-2.md beside an
existing report.md); the run's own report, written by ``pibench run``, is replaced whole, so
after a resume report.md covers every case.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from bench.report import markdown
from bench.report.rows import generated_counts, length_label, power_of, record_labels, summary

METRICS = ["ttft_s", "prompt_tps", "gen_tps", "e2e_s", "internal_prompt_tps", "internal_gen_tps"]
STATS = ["mean", "median", "stddev", "min", "max", "n"]


def flat_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for r in records:
        b = r.get("backend") or {}
        info = (r.get("model") or {}).get("info") or {}
        w = r.get("workload") or {}
        p = power_of(r)
        row: dict[str, Any] = {
            "case_id": r["case_id"], "status": r["status"], "model": r["model"]["name"],
            "backend": b.get("name"), "backend_type": b.get("type"), "device": b.get("device"),
            "threads": b.get("threads"), "weights": info.get("weights"),
            "quant": info.get("quant"), "file_bytes": info.get("file_bytes"),
            "workload": w.get("name"), "kind": w.get("kind"),
            "prompt_tokens": w.get("prompt_tokens"), "gen_tokens": w.get("gen_tokens"),
            # what the repetitions really generated ("23", or "20-25" when they differ)
            "gen_tokens_generated": _counts(r) if generated_counts(r) else None,
            "length_label": length_label(r),
            "load_s": r.get("load_s"), "peak_rss_mb": r.get("peak_rss_mb"),
        }
        for m in METRICS:
            s = summary(r, m) or {}
            for st in STATS:
                row[f"{m}_{st}"] = s.get(st)
        row.update({"idle_w": p.idle_w, "gen_mean_w": p.gen_mean_w,
                    "gen_mean_w_stdev": p.gen_mean_w_sd, "peak_w": p.peak_w,
                    "j_per_token": p.j_per_token, "tokens_per_j": p.tokens_per_j,
                    "power_source": p.source if p.gen_mean_w is not None else None,
                    "labels": "; ".join(record_labels(r)),
                    "error": (r.get("error") or {}).get("message")})
        rows.append(row)
    return rows


def _counts(record: dict[str, Any]) -> str:
    counts = generated_counts(record)
    lo, hi = min(counts), max(counts)
    return str(lo) if lo == hi else f"{lo}-{hi}"


def to_csv(records: list[dict[str, Any]]) -> str:
    rows = flat_rows(records)
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:  # empty cell = not measured
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


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
             "json": json.dumps({"title": title, "rows": flat_rows(records)}, indent=2) + "\n"}
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
