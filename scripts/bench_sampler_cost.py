#!/usr/bin/env python3
"""What does the power sampler cost? Generation speed of the real llama.cpp backend with the
Pi 5 PMIC sampler at 10 Hz (B) against no sampler (A), interleaved A B A B ... in one run.

There is no vcgencmd off a Pi: a stand-in script prints real-shaped `pmic_read_adc` output,
so each sample still costs what matters, one process spawned per reading (a /bin/sh script,
likely a little heavier than the real vcgencmd binary). Speed = generated tokens after the
first / (last token time - first token time), from the backend's token events.

    .venv/bin/python scripts/bench_sampler_cost.py [--model PATH] [--rounds 8] [--gen 128]

Prints per-condition medians, min-max spread and stdev, the B/A ratio of medians, the
median of the paired per-round ratios, and the sampler's achieved rate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MODELS = Path.home() / ".cache/pibench/models"
CANDIDATES = [
    MODELS / "gemma3-270m-q4_k_m.gguf",
    MODELS / "synth/qwen2.5-0.5b-instruct-q4_k_m.gguf",
]

# real-shaped `vcgencmd pmic_read_adc` output, shared with the PMIC parser tests
PMIC_TEXT = (Path(__file__).resolve().parent.parent / "tests/data/pmic_read_adc.txt").read_text()


def fake_vcgencmd(folder: str) -> str:
    path = os.path.join(folder, "vcgencmd")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nprintf '%s' '" + PMIC_TEXT + "'\n")  # one process, like vcgencmd
    os.chmod(path, 0o755)
    return path


def one_run(backend: Any, request: Any, sampler: AbstractContextManager[Any]) -> tuple[float, Any]:
    times: list[float] = []
    with sampler as rec:
        gen = backend.generate(request)
        try:
            while True:
                times.append(next(gen).t)
        except StopIteration:
            pass
    return (len(times) - 1) / (times[-1] - times[0]), rec


def sampler_cpu_s(meter: Any, n: int = 100) -> tuple[float, float]:
    """CPU seconds (this process + its children) and wall seconds per reading."""
    import time

    t0, c0 = time.perf_counter(), os.times()
    for _ in range(n):
        meter.read_watts()
    t1, c1 = time.perf_counter(), os.times()
    cpu = sum(c1[i] - c0[i] for i in range(4))  # user, system, children user/system
    return cpu / n, (t1 - t0) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="GGUF file (default: Gemma 3 270M or synthetic Qwen2.5-0.5B)")
    ap.add_argument("--rounds", type=int, default=8, help="A/B pairs (default 8)")
    ap.add_argument("--gen", type=int, default=128, help="tokens generated per run")
    ap.add_argument("--prompt", type=int, default=16, help="prompt tokens per run")
    ap.add_argument("--rate", type=float, default=10.0, help="sampler rate, Hz")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()

    model = Path(args.model) if args.model else next((p for p in CANDIDATES if p.exists()), None)
    if model is None or not model.exists():
        print("no model: pass --model PATH.gguf", file=sys.stderr)
        return 2
    try:
        from bench.backends.llama_cpp.backend import LlamaCppBackend
    except ImportError as exc:
        print(f"the llama.cpp backend is not available: {exc}", file=sys.stderr)
        return 2
    from bench.backends.base import GenerationRequest, ModelRef
    from bench.backends.llama_cpp.config import LlamaCppArtifact, LlamaCppOptions
    from bench.meters.pmic import PmicMeter, PmicOptions

    tmp = tempfile.mkdtemp(prefix="pibench-vcgencmd-")
    meter = PmicMeter(PmicOptions(command=f"{fake_vcgencmd(tmp)} pmic_read_adc", rate_hz=args.rate))
    meter.check()
    backend = LlamaCppBackend(LlamaCppOptions(threads=args.threads))
    backend.load(ModelRef(model.name, None, None, LlamaCppArtifact(gguf=str(model))))
    request = GenerationRequest(kind="throughput", prompt_tokens=args.prompt, max_tokens=args.gen)
    one_run(backend, request, nullcontext())  # warm-up, not recorded

    speeds: dict[str, list[float]] = {"A": [], "B": []}
    rates: list[float] = []
    for r in range(args.rounds):
        for cond in "AB":
            s, rec = one_run(backend, request, meter.track() if cond == "B" else nullcontext())
            speeds[cond].append(s)
            if rec is not None and len(rec.samples) > 1:
                span = rec.samples[-1].t - rec.samples[0].t
                rates.append((len(rec.samples) - 1) / span)
                assert all(x.watts is not None for x in rec.samples), rec.errors
            print(f"round {r + 1} {cond}: {s:8.2f} tok/s", flush=True)
    backend.close()

    def show(name: str, v: list[float]) -> None:
        print(f"{name}: median {statistics.median(v):.2f} tok/s, min {min(v):.2f},"
              f" max {max(v):.2f}, stdev {statistics.stdev(v):.2f} (n={len(v)})")

    print(f"\nmodel {model.name}, threads {backend.threads}, {args.prompt} prompt + {args.gen}"
          f" generated tokens, sampler {args.rate:g} Hz (process per sample)")
    show("A no sampler ", speeds["A"])
    show(f"B PMIC {args.rate:g} Hz", speeds["B"])
    ratio = statistics.median(speeds["B"]) / statistics.median(speeds["A"])
    paired = [b / a for a, b in zip(speeds["A"], speeds["B"], strict=True)]
    print(f"B/A ratio of medians {ratio:.4f} -> sampler cost {100 * (1 - ratio):+.2f} %")
    print(f"paired per-round B/A: median {statistics.median(paired):.4f},"
          f" min {min(paired):.4f}, max {max(paired):.4f}")
    if rates:
        print(f"sampler achieved {statistics.median(rates):.2f} Hz (median over {len(rates)} runs)")
    cpu, wall = sampler_cpu_s(meter)
    print(f"one reading: {1000 * cpu:.2f} ms CPU (process + child), {1000 * wall:.2f} ms wall;"
          f" at {args.rate:g} Hz that is {100 * cpu * args.rate:.2f} % of one core"
          f" ({100 * cpu * args.rate / (os.cpu_count() or 1):.2f} % of {os.cpu_count()} cores)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
