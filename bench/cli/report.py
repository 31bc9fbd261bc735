"""``pibench report`` and ``pibench compare``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench.cli import SubParsers


def register(sub: SubParsers) -> None:
    p = sub.add_parser("report", help="tables from run folders (Markdown, CSV, JSON)",
                       description="Print a Markdown report of one or more runs and write "
                       "report.md/.csv/.json (never overwriting).")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--out", help="where to write the files (default: the first run folder)")
    p.add_argument("--title", default=None,
                   help="the report's title, and the first line of every plot's title "
                   "(plots default: the config's description)")
    p.add_argument("--no-write", action="store_true",
                   help="print only (an --html file is still written)")
    p.add_argument("--html", metavar="OUT.html", default=None,
                   help="also write one self-contained HTML page: the tables (sortable), the "
                   "plots as inline SVG (with pibench[plots]), the labels' legend and the "
                   "system context; never over an existing file (OUT-2.html beside it)")
    p.add_argument("--plots", action="store_true",
                   help="also write the plots beside report.md (as `pibench plot`; needs "
                   "matplotlib: pip install 'pibench[plots]')")
    p.set_defaults(func=report_cmd)

    c = sub.add_parser("compare", help="ratio B/A per case, flagged beyond the noise",
                       description="Compare two runs case by case (B relative to A), and list "
                       "per case what differs between the two measurements: model file, "
                       "workload, backend and run settings, environment.")
    c.add_argument("run_a", metavar="RUN_A")
    c.add_argument("run_b", metavar="RUN_B")
    c.add_argument("--allow-different", action="store_true",
                   help="give a verdict even where the workload or the model file differ "
                   "(default: 'not comparable')")
    c.add_argument("--strict", action="store_true",
                   help="for CI: exit 1 if any case differs in anything listed, is in one run "
                   "only, or failed")
    c.set_defaults(func=compare_cmd)


def warn(message: str) -> None:
    """A damaged line or file that is skipped: one line on stderr, the command goes on."""
    print(f"pibench: warning: {message}", file=sys.stderr)


def report_cmd(args: argparse.Namespace) -> int:
    from bench.report.export import write_report
    from bench.report.markdown import render
    from bench.report.rows import load_runs

    runs = load_runs(args.runs, warn)
    records = [r for _, recs in runs for r in recs]
    title = args.title or "pibench report: " + ", ".join(run.path.name for run, _ in runs)
    print(render(records, title))
    if args.html:
        from bench.report.html import write_html

        path, notes = write_html(runs, Path(args.html), title, warn, args.title)
        print(f"written: {path}")
        for note in notes:
            print(f"note: {note}")
    if not args.no_write:
        out = Path(args.out) if args.out else runs[0][0].path
        from bench.report.system import system_of_runs

        system = system_of_runs([run.path for run, _ in runs], warn)
        if args.plots:  # first, so that report.md lists them and says what was not drawn
            from bench.cli.plot import make, section, show

            code, written, notes = make(args.runs, str(out), "png", None, args.title)
            system += "\n" + section(written, notes, out) if code == 0 else ""
        files = write_report(records, out, title, system=system)
        print("written: " + ", ".join(str(f) for f in files.values()))
        if args.plots:
            show(written, notes)
            return code
    return 0


def _json(path: Path) -> dict[str, Any]:
    """A run's environment.json or resolved.json; {} when missing, {} and a warning when
    damaged (``bench.results.reader.read_json``)."""
    from bench.results.reader import read_json

    return read_json(path, warn)


def compare_cmd(args: argparse.Namespace) -> int:
    from bench.report.compare import (
        KEYS,
        MIXED_KEYS,
        compare,
        env_differences,
        strict_problem,
        table_rows,
    )
    from bench.report.markdown import _table
    from bench.report.rows import load_runs

    (run_a, a), (run_b, b) = load_runs([args.run_a, args.run_b], warn)
    env_a, env_b = _json(run_a.path / "environment.json"), _json(run_b.path / "environment.json")
    results = compare(a, b, env_a=env_a, env_b=env_b,
                      resolved_a=_json(run_a.path / "resolved.json"),
                      resolved_b=_json(run_b.path / "resolved.json"),
                      allow_different=args.allow_different)
    print(f"A: {run_a.path}\nB: {run_b.path}\n")
    env_diffs = env_differences(env_a, env_b)
    if env_diffs:
        print("environment differs (every case): " + "; ".join(env_diffs) + "\n")
    header = ["case"]
    for _, label, _ in KEYS:
        header += [f"{label} B/A", "verdict"]
    print(_table([*header, "differs"], table_rows(results), "lrlrlrll"))
    mixed_rows = table_rows(results, mixed=True)
    if mixed_rows:
        mheader = ["mixed case"]
        for _, label, _ in MIXED_KEYS:
            mheader += [f"{label} B/A", "verdict"]
        print("\nMixed cases (vision + LLM at once), figures under load:\n")
        print(_table([*mheader, "fps mixed/alone A→B", "differs"], mixed_rows, "lrlrlrlll"))
    print("\nverdict: ~ within noise (Welch t test at 99 %, or within 1 %); ? too few "
          "repetitions for a spread; better/WORSE beyond the noise; not comparable: the "
          "workload or the model file differ (--allow-different to judge anyway).\n"
          "differs: what is not the same in B as in A (model, workload, backend and run "
          "settings; the environment's differences are listed once above the table).")
    problem = strict_problem(results)
    if args.strict and problem:
        print(f"pibench: compare --strict: {problem}", file=sys.stderr)
        return 1
    return 0
