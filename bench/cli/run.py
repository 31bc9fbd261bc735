"""``pibench run`` and ``pibench validate``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench.cli import SubParsers


def _csv(value: str) -> list[str]:
    return [v for v in (s.strip() for s in value.split(",")) if v]


def add_sweep_args(p: argparse.ArgumentParser) -> None:
    """llama-bench-like options (bench.config.overrides), shared by run and bench."""
    g = p.add_argument_group("overrides and sweeps (recorded in run.json and resolved.json)")
    g.add_argument("-r", "--repetitions", type=int, metavar="N",
                   help="measured repetitions per case")
    g.add_argument("--warmup", type=int, metavar="N", help="warm-up generations per case")
    g.add_argument("--rounds", type=int, metavar="R",
                   help="visit the matrix R times, each case's repetitions spread over them")
    g.add_argument("--order", choices=("blocks", "shuffle", "interleave-devices"),
                   help="order of the cases in a round (shuffle: seed recorded in run.json)")
    g.add_argument("-t", "--threads", metavar="N,N",
                   help="thread counts: one llama.cpp backend per count (cpu-t1, cpu-t2, ...)")
    g.add_argument("-p", "--prompt-tokens", metavar="N,N",
                   help="prompt lengths of the throughput workloads")
    g.add_argument("-n", "--gen-tokens", metavar="N,N",
                   help="generation lengths of the throughput workloads")
    g.add_argument("-d", "--depth", metavar="N,N",
                   help="tokens of context already in the cache before the prompt "
                        "(llama-bench -d)")


def overrides_from(args: argparse.Namespace) -> Any:
    from bench.config.overrides import Overrides, int_list
    from bench.errors import UserError

    rounds = getattr(args, "rounds", None)
    for opt, value, low in (("--repetitions", args.repetitions, 1),
                            ("--warmup", args.warmup, 0), ("--rounds", rounds, 1)):
        if value is not None and value < low:
            raise UserError(f"{opt} {value}: must be at least {low}")
    return Overrides(
        repetitions=args.repetitions, warmup=args.warmup, rounds=rounds,
        order=getattr(args, "order", None),
        threads=int_list(args.threads, "--threads") if args.threads else (),
        prompt_tokens=int_list(args.prompt_tokens, "-p") if args.prompt_tokens else (),
        gen_tokens=int_list(args.gen_tokens, "-n") if args.gen_tokens else (),
        depth=int_list(args.depth, "-d", low=0) if args.depth else (),
        sets=tuple(getattr(args, "set", None) or ()))


def register(sub: SubParsers) -> None:
    p = sub.add_parser("run", help="run a config: every model x backend x workload",
                       description="Run the matrix of a config and write a results folder.")
    p.add_argument("config", nargs="?", help="the YAML config (e.g. configs/quickstart.yaml)")
    p.add_argument("--models", type=_csv, help="only these models (comma list, * patterns)")
    p.add_argument("--backends", type=_csv, help="only these backends (comma list, * patterns)")
    p.add_argument("--workloads", type=_csv, help="only these workloads (comma list)")
    p.add_argument("--output", help="output folder (default: the config's output_dir)")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="finish an interrupted run; refuses if its config changed")
    p.add_argument("--quiet", action="store_true",
                   help="only warnings, errors and the results path")
    add_sweep_args(p)
    p.add_argument("--set", action="append", metavar="KEY.PATH=VALUE",
                   help="set any config field, e.g. --set backends.cpu.options.n_batch=256 "
                        "(a list item by index or name; repeatable)")
    p.set_defaults(func=run_cmd)

    v = sub.add_parser("validate", help="check configs without running anything",
                       description="Validate configs: every error with file, line and field.")
    v.add_argument("configs", nargs="+")
    v.add_argument("--online", action="store_true",
                   help="also check that every server a config names answers (the same "
                        "request `pibench run` sends before making a run folder)")
    v.add_argument("--strict", action="store_true",
                   help="a model file missing on this machine is an error too, as for "
                        "`pibench run` (default: a note, the file may be on the Pi only)")
    v.set_defaults(func=validate_cmd)


def run_cmd(args: argparse.Namespace) -> int:
    from bench.errors import UserError
    from bench.report.markdown import render
    from bench.runner.session import Filters, resume_run, start_run

    if args.resume:
        if args.models or args.backends or args.workloads or args.output:
            raise UserError("--resume takes the run's own filters and folder; drop "
                            "--models/--backends/--workloads/--output")
        result = resume_run(args.resume, args.config, quiet=args.quiet, keep_lock=True,
                            overrides=overrides_from(args))
    else:
        if not args.config:
            raise UserError("pibench run needs a CONFIG (or --resume RUN_DIR); "
                            "try: pibench run configs/quickstart.yaml")
        result = start_run(args.config, Filters(args.models, args.backends, args.workloads),
                           args.output, quiet=args.quiet, keep_lock=True,
                           overrides=overrides_from(args))
    run_dir = result.run_dir
    try:  # the folder stays locked until its report is written
        records = run_dir.cases()
        if records:
            from bench.report.export import write_report
            from bench.report.rows import mark_origin
            from bench.report.system import system_of_runs

            mark_origin(records, run_dir.path.name, run_dir.path)  # run, host, board in the CSV

            # the run's own report is made whole again after a resume (replaced atomically)
            files = write_report(records, run_dir.path, f"pibench run {run_dir.path.name}",
                                 replace=True, system=system_of_runs([run_dir.path]))
            if not args.quiet and sys.stdout.isatty():
                terminal_summary(records)  # the files keep their Markdown
            elif not args.quiet:
                print(render(records, f"pibench run {run_dir.path.name}"))
            print(f"\nresults: {run_dir.path}  (report: {files['md'].name}, cases.jsonl)")
    finally:
        run_dir.release()
    o = result.outcome
    if o.interrupted:
        part = (f", {o.partial} with the repetitions it finished (measured again in full "
                "on resume)" if o.partial else "")
        print(f"interrupted: {o.ok + o.failed} case(s) of this session saved{part}; finish "
              f"with `pibench run --resume {run_dir.path}`", file=sys.stderr)
    elif o.failed:
        print(f"{o.failed} case(s) failed (see the error column)", file=sys.stderr)
    return result.exit_code


def terminal_summary(records: list[dict[str, Any]], console: Any = None) -> None:
    """The llama-bench table as a rich table that fits the terminal's width (cells wrap
    instead of lines), with the same rows and figures as report.md's."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from bench.report.columns import FIGURE_NOTE, NA
    from bench.report.markdown import RUNTIME_COLUMNS, bench_columns, bench_rows

    columns = bench_columns(records)  # run/host/board first when the records' runs differ
    header = [c.header for c in columns]
    rows = bench_rows(records)
    # no runtime counters in any row: their columns stay in report.md, not on a narrow screen
    keep = [i for i, name in enumerate(header)
            if name not in RUNTIME_COLUMNS or any(r[i] not in (NA, "-") for r in rows)]
    table = Table(title=f"t/s: {FIGURE_NOTE}, n repetitions (warm-ups excluded)"
                        + ("; runtime t/s: the runtime's own counters"
                           if len(keep) == len(header) else ""),
                  title_justify="left", expand=False)
    for i in keep:
        table.add_column(header[i], justify="right" if columns[i].align == "r" else "left",
                         overflow="fold", no_wrap=header[i] in ("n", "threads"))
    for row in rows:  # Text: a cell such as "tg8 [long]" is not rich markup
        table.add_row(*(Text(row[i]) for i in keep))
    (console or Console()).print(table)


def validate_cmd(args: argparse.Namespace) -> int:
    from bench.config.loader import ConfigErrors, load_config
    from bench.errors import UserError
    from bench.runner.inputs import preflight_problems
    from bench.runner.mixed import build_mixed_plan
    from bench.runner.plan import build_plan, skipped_lines

    status = 0
    for path in args.configs:
        if _is_catalog(Path(path)):
            from bench.models.catalog import load_catalog

            try:
                files = load_catalog(Path(path))
            except UserError as exc:
                print(f"{exc}", file=sys.stderr)
                status = 2
                continue
            print(f"{Path(path)}: ok: the model catalog, {len({f.model for f in files})} models, "
                  f"{len(files)} files")
            continue
        try:
            cfg = load_config(path)
            cases, skipped = build_plan(cfg)
            # the pre-flight of `pibench run`; servers only with --online
            problems = preflight_problems(cfg, cases, online=args.online)
            hard = [p for p in problems if args.strict or not p.model_file]
            if hard:
                raise ConfigErrors([p.text for p in hard])
        except ConfigErrors as exc:
            for line in exc.lines:
                print(line, file=sys.stderr)
            status = 2
            continue
        except UserError as exc:
            print(f"{exc}", file=sys.stderr)
            status = 2
            continue
        mixed = build_mixed_plan(cfg, cases)
        print(f"{Path(path)}: ok: {len(cfg.run.models)} models, {len(cfg.run.backends)} "
              f"backends, {len(cfg.run.workloads)} workloads -> {len(cases)} cases"
              + (f" + {len(mixed)} mixed" if mixed else "")
              + (f" ({len(skipped)} skipped)" if skipped else "")
              + (f", {cfg.run.rounds} rounds ({cfg.run.order})" if cfg.run.rounds > 1 else ""))
        for line in skipped_lines(skipped):
            print(f"  {line}")
        for p in problems:  # model files: maybe only on the machine that runs it
            print(f"  note: {p.text} (needed on the machine that runs this config)")
    return status


def _is_catalog(path: Path) -> bool:
    """The model catalog (configs/models.yaml) is no run config: it has ``version`` and
    models with ``files``, and no backends."""
    from bench.config.yamlfile import read_text, safe_parse
    from bench.errors import UserError

    try:
        data, _ = safe_parse(read_text(path, "config"), path)
    except (UserError, ValueError):
        return False  # load_config says what is wrong
    return (isinstance(data, dict) and "backends" not in data and "version" in data
            and isinstance(data.get("models"), list)
            and any(isinstance(m, dict) and "files" in m for m in data["models"]))
