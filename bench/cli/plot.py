"""``pibench plot``: figures of run folders (PNG or SVG). Needs matplotlib (``pibench[plots]``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.cli import SubParsers


def register(sub: SubParsers) -> None:
    p = sub.add_parser("plot", help="plots of run folders (PNG or SVG; needs pibench[plots])",
                       description="Plot one or more runs: generation and prompt tokens/s, "
                       "time to first token, power (where measured), a per-token timeline "
                       "and mixed mode. Never overwrites a file.")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", help="where to write the files (default: the first run folder)")
    p.add_argument("--format", choices=["png", "svg"], default="png")
    p.add_argument("--case", action="append", metavar="PATTERN", default=None,
                   help="draw the per-token timeline of the cases matching PATTERN "
                   "(case id, * allowed; repeatable); default: one case per run")
    p.set_defaults(func=plot_cmd)


def write(runs_dirs: list[str], out: str | None, fmt: str, cases: list[str] | None) -> int:
    """Write the plots; the one-line message and exit 2 when matplotlib is missing."""
    from bench.plots import PlotsUnavailable, require_matplotlib
    from bench.report.rows import load_runs

    try:
        require_matplotlib()
    except PlotsUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    from bench.cli.report import warn
    from bench.plots.write import write_plots

    runs = load_runs(runs_dirs, warn)  # without raw arrays: a timeline reads its case again
    out_dir = Path(out) if out else runs[0][0].path
    written, notes = write_plots([(run.path.name, recs) for run, recs in runs], out_dir,
                                 fmt, cases, warn)
    for path, what in written:
        print(f"written: {path}  ({what})")
    for note in notes:
        print(f"note: {note}")
    return 0


def plot_cmd(args: argparse.Namespace) -> int:
    return write(args.runs, args.out, args.format, args.case)
