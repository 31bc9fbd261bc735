"""``pibench bench -m MODEL.gguf [-p ...] [-n ...] [-t ...] [-d ...] [-r N]``: a llama-bench
style run with no config file.

The config it makes is an ordinary one (one llama_cpp backend per thread count, one
throughput workload per prompt length x generation length x depth), written into the run
folder as config.yaml like any other run's: the folder resumes (``pibench run --resume``),
reports and compares like any other. It prints llama-bench's table with a depth column.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bench.cli import SubParsers


def _csv(value: str) -> list[str]:
    return [v for v in (s.strip() for s in value.split(",")) if v]


def register(sub: SubParsers) -> None:
    p = sub.add_parser(
        "bench", help="llama-bench-like run of GGUF files, no config needed",
        description="Measure GGUF files on this CPU like llama-bench: every combination of "
                    "threads, prompt length, generation length and depth. The config made is "
                    "saved in the run folder (resume with `pibench run --resume`).")
    p.add_argument("-m", "--model", action="append", required=True, metavar="GGUF",
                   help="a GGUF file (or synth:PRESET:QUANT, pypi:gemma3-270m); repeatable "
                        "or comma list")
    p.add_argument("-p", "--prompt-tokens", default="512", metavar="N,N",
                   help="prompt lengths (default 512)")
    p.add_argument("-n", "--gen-tokens", default="128", metavar="N,N",
                   help="generation lengths (default 128)")
    p.add_argument("-t", "--threads", metavar="N,N",
                   help="thread counts (default: the physical cores)")
    p.add_argument("-d", "--depth", default="0", metavar="N,N",
                   help="tokens of context in the cache before the prompt (default 0)")
    p.add_argument("-r", "--repetitions", type=int, default=5, metavar="N",
                   help="repetitions per test (default 5)")
    p.add_argument("--warmup", type=int, default=1, metavar="N",
                   help="warm-up generations per test (default 1)")
    p.add_argument("--n-ctx", type=int, metavar="N",
                   help="context size (default: depth + prompt + generation, at least 4096)")
    p.add_argument("--output", default="results", help="where the run folder goes")
    p.add_argument("--quiet", action="store_true",
                   help="only warnings, errors and the results path")
    p.set_defaults(func=bench_cmd)


def _model_name(spec: str, taken: set[str]) -> str:
    stem = Path(spec).name if ":" not in spec.split("/")[0] else spec.split(":")[-2]
    stem = re.sub(r"\.gguf$", "", stem, flags=re.IGNORECASE)
    name = re.sub(r"[^A-Za-z0-9._:+-]", "_", stem).lstrip("._:+-") or "model"
    base, k = name, 2
    while name in taken:
        name, k = f"{base}-{k}", k + 1
    taken.add(name)
    return name


def make_config(args: argparse.Namespace) -> dict[str, Any]:
    """The run config of a ``pibench bench`` command line."""
    from bench.config.overrides import int_list
    from bench.errors import UserError

    specs = [s for m in args.model for s in _csv(m)]
    if not specs:
        raise UserError("-m: name a GGUF file, e.g. -m ~/.cache/pibench/models/x.gguf")
    ps = int_list(args.prompt_tokens, "-p")
    ns = int_list(args.gen_tokens, "-n")
    ds = int_list(args.depth, "-d", low=0)
    threads = int_list(args.threads, "-t") if args.threads else ()
    if args.repetitions < 1 or args.warmup < 0:
        raise UserError("-r must be at least 1 and --warmup at least 0")
    n_ctx = args.n_ctx or max(4096, max(ds) + max(ps) + max(ns))
    backends = ([{"name": f"cpu-t{t}", "type": "llama_cpp",
                  "options": {"threads": t, "n_ctx": n_ctx}} for t in threads]
                or [{"name": "cpu", "type": "llama_cpp", "options": {"n_ctx": n_ctx}}])
    taken: set[str] = set()
    models: list[dict[str, Any]] = []
    for spec in specs:
        gguf = spec if ":" in spec.split("/")[0] else str(Path(spec).expanduser().resolve())
        models.append({"name": _model_name(spec, taken),
                       "artifacts": {"llama_cpp": {"gguf": gguf}}})
    workloads = [{"name": f"pp{p}-tg{n}" + (f"-d{d}" if len(ds) > 1 or d else ""),
                  "kind": "throughput", "prompt_tokens": p, "gen_tokens": n, "depth": d}
                 for p, n, d in itertools.product(ps, ns, ds)]
    first = str(models[0]["name"])
    name = "bench-" + (first if len(models) == 1 else f"{len(models)}-models")
    return {"name": name[:100], "description": "made by: pibench " + " ".join(sys.argv[1:])[:500],
            "repetitions": args.repetitions, "warmup": args.warmup,
            "models": models, "backends": backends, "workloads": workloads}


def bench_table(records: list[dict[str, Any]]) -> str:
    """llama-bench's table (model, size, params, backend, threads, test, t/s) with a depth
    column: the same rows and figures as report.md's table (bench.report.markdown.BENCH:
    t/s is the median over the repetitions (min–max) on the harness clock, the runtime's
    perf counters in their own columns), the depth in a column of its own."""
    from bench.report.columns import Column, markdown
    from bench.report.markdown import BENCH, TestRow, bench_test_rows

    by_header = {c.header: c for c in BENCH}

    def depth(t: TestRow) -> object:
        return (t.record.get("workload") or {}).get("depth") or 0

    def test(t: TestRow) -> str:  # the depth has its column: "tg64", not "tg64 @ d512"
        return t.test.replace(f" @ d{depth(t)}", "")

    cols: list[Column[TestRow]] = [
        by_header["model"], by_header["size"], by_header["params"],
        Column("backend", lambda t: (t.record.get("backend") or {}).get("type")),
        by_header["threads"], Column("depth", depth, "r"), Column("test", test),
        *(c for c in BENCH if c.header not in ("model", "backend", "device", "size",
                                                "params", "threads", "test"))]
    return markdown(cols, bench_test_rows(records))


def bench_cmd(args: argparse.Namespace) -> int:
    from bench.report.export import write_report
    from bench.report.rows import mark_origin
    from bench.runner.session import start_run

    config = make_config(args)
    with tempfile.TemporaryDirectory(prefix="pibench-bench-") as tmp:
        path = Path(tmp) / f"{config['name']}.yaml"
        path.write_text("# made by `pibench bench`; resume with pibench run --resume RUN_DIR\n"
                        + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        result = start_run(path, output_dir=args.output, quiet=args.quiet, keep_lock=True)
    run_dir = result.run_dir
    try:
        # the config's only lasting copy is the run folder's: a resume reads that one
        run_dir.update_meta(config_file=str((run_dir.path / "config.yaml").resolve()))
        records = run_dir.cases()
        mark_origin(records, run_dir.path.name, run_dir.path)  # run, host, board in the CSV
        if records:
            write_report(records, run_dir.path, f"pibench bench {run_dir.path.name}",
                         replace=True)
            if not args.quiet:
                print(bench_table(records))
        print(f"\nresults: {run_dir.path}")
    finally:
        run_dir.release()
    if result.outcome.interrupted:
        print(f"interrupted; finish with `pibench run --resume {run_dir.path}`", file=sys.stderr)
    return result.exit_code
