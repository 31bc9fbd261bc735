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
    p.add_argument("--title", default=None,
                   help="first line of every figure's title (default: the config's "
                   "description)")
    p.set_defaults(func=plot_cmd)


Written = list[tuple[Path, str]]


def make(runs_dirs: list[str], out: str | None, fmt: str, cases: list[str] | None,
         title: str | None = None) -> tuple[int, Written, list[str]]:
    """Write the plots: (exit code, the files and what each shows, notes on what was not
    drawn and why); the one-line message on stderr and exit 2 when matplotlib is missing."""
    from bench.plots import PlotsUnavailable, require_matplotlib
    from bench.report.rows import load_runs, run_names

    try:
        require_matplotlib()
    except PlotsUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2, [], []
    from bench.cli.report import warn
    from bench.plots.context import context_of
    from bench.plots.write import write_plots

    runs = load_runs(runs_dirs, warn)  # without raw arrays: a timeline reads its case again
    out_dir = Path(out) if out else runs[0][0].path
    paths = [run.path for run, _ in runs]
    names = run_names(paths)  # two hosts' runs of the same second: their paths
    ctx = context_of(paths, title, warn, names)
    written, notes = write_plots([(n, recs) for n, (_, recs) in zip(names, runs, strict=True)],
                                 out_dir, fmt, cases, warn, ctx)
    return 0, written, notes


def show(written: Written, notes: list[str]) -> None:
    for path, what in written:
        print(f"written: {path}  ({what})")
    for note in notes:
        print(f"note: {note}")


def section(written: Written, notes: list[str], out_dir: Path) -> str:
    """report.md's Plots section: each file and what it shows, then what was not drawn."""
    lines = ["## Plots", ""]
    for path, what in written:
        rel = path.name if path.parent == out_dir else str(path)
        lines.append(f"- `{rel}`: {what}")
    lines += [f"- not drawn: {note}" for note in notes]
    return "\n".join(lines) + "\n"


def write(runs_dirs: list[str], out: str | None, fmt: str, cases: list[str] | None,
          title: str | None = None) -> int:
    code, written, notes = make(runs_dirs, out, fmt, cases, title)
    show(written, notes)
    return code


def plot_cmd(args: argparse.Namespace) -> int:
    return write(args.runs, args.out, args.format, args.case, args.title)
