"""``pibench report`` and ``pibench compare``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="tables from run folders (Markdown, CSV, JSON)",
                       description="Print a Markdown report of one or more runs and write "
                       "report.md/.csv/.json (never overwriting).")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", help="where to write the files (default: the first run folder)")
    p.add_argument("--title", default=None)
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--plots", action="store_true",
                   help="also write the plots beside report.md (as `pibench plot`; needs "
                   "matplotlib: pip install 'pibench[plots]')")
    p.set_defaults(func=report_cmd)

    c = sub.add_parser("compare", help="ratio B/A per case, flagged beyond the noise",
                       description="Compare two runs case by case (B relative to A).")
    c.add_argument("run_a", metavar="RUN_A")
    c.add_argument("run_b", metavar="RUN_B")
    c.set_defaults(func=compare_cmd)


def report_cmd(args: argparse.Namespace) -> int:
    from bench.report.export import write_report
    from bench.report.markdown import render
    from bench.report.rows import load_runs

    runs = load_runs(args.runs)
    records = [r for _, recs in runs for r in recs]
    title = args.title or "pibench report: " + ", ".join(run.path.name for run, _ in runs)
    print(render(records, title))
    if not args.no_write:
        out = Path(args.out) if args.out else runs[0][0].path
        files = write_report(records, out, title)
        print("written: " + ", ".join(str(f) for f in files.values()))
        if args.plots:
            from bench.cli.plot import write

            return write(args.runs, str(out), "png", None)
    return 0


def _env(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((path / "environment.json").read_text())
        return data
    except (OSError, json.JSONDecodeError):
        return {}


def compare_cmd(args: argparse.Namespace) -> int:
    from bench.report.compare import KEYS, compare, env_differences
    from bench.report.markdown import _table
    from bench.report.rows import load_runs

    (run_a, a), (run_b, b) = load_runs([args.run_a, args.run_b])
    print(f"A: {run_a.path}\nB: {run_b.path}\n")
    for d in env_differences(_env(run_a.path), _env(run_b.path)):
        print(f"note: environments differ: {d}")
    header = ["case"]
    for _, label, _ in KEYS:
        header += [f"{label} B/A", "verdict"]
    print(_table(header, compare(a, b), "lrlrlrl"))
    print("\nverdict: ~ within noise (2 x standard error of the difference, or within 1 %); "
          "? too few repetitions for a spread; better/WORSE beyond the noise.")
    return 0
