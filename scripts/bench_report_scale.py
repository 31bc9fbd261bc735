#!/usr/bin/env python3
"""Time `pibench report`, `compare` and `plot` on a generated run folder of about 200 MB.

The folder is made outside the repository (a temporary folder, removed at the end unless
--keep): first a real run of the simulated device (mock backend, virtual clock, a mock power
meter), then its cases.jsonl is grown from those records to the target size. Each generated
case is a real record of that run with another case id (model x backend x workload), its
repetitions repeated to --reps, each repetition's token times stretched to --tokens tokens at
the record's own speed (with 1 % noise), and its power samples stretched over the same time;
its summaries are recomputed from the repetitions by the runner's own code. run.json,
config.yaml, resolved.json and environment.json are the real run's.

Shapes (--shape): "long" (default) has few cases with long generations (10 repetitions of
4,096 tokens: ~0.6 MB a case, ~330 cases); "wide" has many short ones (3 repetitions of 128
tokens: ~15 KB a case, ~13,000 cases).

Each command runs as its own process (`python -m bench ...`, imports included), --repeat
times; the script prints every time and the median. compare reads two such runs: the
generated one and a byte-for-byte copy (the same amount of reading and matching).

Usage:
  .venv/bin/python scripts/bench_report_scale.py [--size-mb 200] [--shape long|wide]
      [--repeat 3] [--keep] [--dir DIR]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results.metrics import case_summary  # noqa: E402
from bench.runner.session import start_run  # noqa: E402

CONFIG = """
name: scale
clock: virtual
repetitions: 3
warmup: 0
idle_s: 1
models:
  - {name: Qwen2-1.5B-Instruct, params_b: 1.54}
backends:
  - {name: cpu, type: mock, options: {profile: pi5-cpu, jitter: 0.02}}
  - {name: npu, type: mock, options: {profile: hailo10h, jitter: 0.02}}
workloads:
  - {name: pp100-tg50, kind: throughput, prompt_tokens: 100, gen_tokens: 50}
meters:
  - {type: mock, rate_hz: 10}
"""
SHAPES = {"long": (10, 4096), "wide": (3, 128)}


def stretch_rep(rep: dict[str, Any], tokens: int, rng: random.Random) -> dict[str, Any]:
    """The repetition with ``tokens`` token times at its own speed (1 % noise per token)."""
    out = copy.deepcopy(rep)
    t = rep["token_t"]
    step = (t[-1] - t[0]) / max(1, len(t) - 1) if len(t) > 1 else 0.05
    now, times = t[0], []
    for _ in range(tokens):
        times.append(round(now, 6))
        now += step * rng.uniform(0.99, 1.01)
    out["token_t"] = times
    out.pop("token_n", None)
    out["gen_tokens"] = tokens
    span = times[-1] - times[0]
    out["gen_tps"] = round((tokens - 1) / span, 4) if span > 0 else None
    out["e2e_s"] = times[-1]
    return out


def grow_case(record: dict[str, Any], case_id: str, reps: int, tokens: int,
              rng: random.Random) -> dict[str, Any]:
    r = copy.deepcopy(record)
    model, backend, workload = case_id.split("/")
    r["case_id"] = case_id
    r["model"]["name"] = model
    r["backend"]["name"] = backend
    r["workload"]["name"] = workload
    r["workload"]["gen_tokens"] = tokens
    base = record["reps"]
    r["reps"] = [dict(stretch_rep(base[i % len(base)], tokens, rng), rep=i) for i in range(reps)]
    r["summary"] = case_summary(r["reps"], None)
    for p in r.get("power") or []:
        samples = p.get("samples") or []
        if samples:
            total = sum(rep["e2e_s"] for rep in r["reps"])
            rate = float(p.get("rate_hz_target") or 10.0)
            w = [s[1] for s in samples if s[1] is not None] or [1.0]
            p["samples"] = [[round(i / rate, 3), round(rng.choice(w), 4)]
                            for i in range(int(total * rate))]
    return r


def make_run(base: Path, size_mb: float, reps: int, tokens: int) -> Path:
    (base / "scale.yaml").write_text(CONFIG)
    result = start_run(base / "scale.yaml", output_dir=base / "runs", quiet=True)
    run = result.run_dir.path
    templates = [r for r in result.run_dir.cases() if r["status"] == "ok"]
    rng = random.Random(0)
    target = int(size_mb * 1e6)
    models, backends = 8, 5
    n = written = 0
    with open(run / "cases.jsonl", "w", encoding="utf-8") as f:
        while written < target:
            m, b, w = n % models, n // models % backends, n // (models * backends)
            record = grow_case(templates[n % len(templates)],
                               f"model-{m}/backend-{b}/wl-{w}", reps, tokens, rng)
            line = json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"
            f.write(line)
            written += len(line)
            n += 1
    print(f"made {run}: {n} cases, {written / 1e6:.1f} MB cases.jsonl "
          f"({reps} repetitions x {tokens} tokens a case)", flush=True)
    return run


def timed(args: list[str], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT,
                           capture_output=True, text=True)
        out.append(time.perf_counter() - t0)
        if p.returncode != 0:
            raise SystemExit(f"pibench {' '.join(args)} exited {p.returncode}: "
                             f"{p.stderr.strip()[-500:]}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=200.0)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="long")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the generated folders")
    ap.add_argument("--dir", help="make the folders here (default: a temporary folder)")
    args = ap.parse_args()
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="pibench-scale-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        reps, tokens = SHAPES[args.shape]
        run = make_run(base, args.size_mb, reps, tokens)
        copy_b = base / "copy" / run.name
        shutil.copytree(run, copy_b)
        out = base / "out"
        commands = {
            "report": ["report", str(run), "--out", str(out / "report")],
            "compare": ["compare", str(run), str(copy_b)],
            "plot": ["plot", str(run), "--out", str(out / "plots")],
        }
        print(f"each command {args.repeat} times, as its own process (imports included):")
        for name, cmd in commands.items():
            times = timed(cmd, args.repeat)
            shown = ", ".join(f"{t:.2f}" for t in times)
            print(f"  {name:<8} median {statistics.median(times):6.2f} s   ({shown} s)",
                  flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"kept: {base}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
