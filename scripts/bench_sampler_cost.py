#!/usr/bin/env python3
"""What does the power sampler cost? Generation speed of the real llama.cpp backend with the
Pi 5 PMIC sampler at 10 Hz against no sampler, interleaved in one run: per round
A (no sampler), P (PMIC read by running vcgencmd, a process per reading) and
M (PMIC read through the mailbox device from this process, the default transport).

On a Raspberry Pi 5 both samplers read the real PMIC. Elsewhere there is no vcgencmd and no
/dev/vcio_gencmd or /dev/vcio, so stand-ins answer with real-shaped `pmic_read_adc` text:
for P a /bin/sh script (one process per reading, likely a little heavier than the real
vcgencmd binary), for M the fake kernel and firmware of tests/fakes/vcio.py (the vcio.c
tag check, the 4096-byte buffer, word [5]) behind the mailbox's open/ioctl (so M then
measures the Python side: building the message, parsing the answer, the sampling thread;
the real ioctl's wait for the firmware sleeps in the kernel). Every line printed says
which it was.
Speed = generated tokens after the first / (last token time - first token time), from the
backend's token events.

    .venv/bin/python scripts/bench_sampler_cost.py [--model PATH] [--rounds 8] [--gen 128]
        [--rate 10] [--threads N] [--only P|M] [--readings-only]

Prints per-condition medians, min-max spread and stdev, each sampler's ratio of medians to
A, the median of the paired per-round ratios, the achieved rate, and the CPU time of one
reading.
"""

from __future__ import annotations

import argparse
import os
import shutil
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
        f.write("#!/bin/sh\n"  # one process per question, like vcgencmd
                "[ \"$1\" = get_throttled ] && { echo throttled=0x0; exit 0; }\n"
                "printf '%s' '" + PMIC_TEXT + "'\n")
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


def sampler_cpu_s(meter: Any, min_cpu_s: float = 0.5,
                  max_n: int = 20000) -> tuple[float, float, int]:
    """CPU seconds (this process + its children) and wall seconds per reading, over enough
    readings for the kernel's 10 ms CPU-time ticks not to matter; and how many."""
    import time

    t0, c0 = time.perf_counter(), os.times()
    n = 0
    while n < max_n:
        meter.read_watts()
        n += 1
        c1 = os.times()
        if sum(c1[i] - c0[i] for i in range(4)) >= min_cpu_s:
            break
    t1 = time.perf_counter()
    cpu = sum(c1[i] - c0[i] for i in range(4))  # user, system, children user/system
    return cpu / n, (t1 - t0) / n, n


def build_samplers(rate: float, only: str | None) -> dict[str, tuple[Any, str]]:
    """{condition: (meter, what it reads)} for P (process) and M (mailbox)."""
    from bench.meters.gencmd import DEVICES
    from bench.meters.pmic import PmicMeter, PmicOptions

    on_pi = shutil.which("vcgencmd") is not None and any(os.path.exists(d) for d in DEVICES)
    out: dict[str, tuple[Any, str]] = {}
    if only in (None, "P"):
        if on_pi:
            opts = PmicOptions(transport="vcgencmd", rate_hz=rate)
            out["P"] = (PmicMeter(opts), "real vcgencmd, a process per reading")
        else:
            cmd = f"{fake_vcgencmd(tempfile.mkdtemp(prefix='pibench-vcgencmd-'))} pmic_read_adc"
            opts = PmicOptions(command=cmd, transport="vcgencmd", rate_hz=rate)
            out["P"] = (PmicMeter(opts), "STAND-IN /bin/sh vcgencmd, a process per reading")
    if only in (None, "M"):
        if on_pi:
            opts = PmicOptions(transport="mailbox", rate_hz=rate)
            out["M"] = (PmicMeter(opts), "real firmware through the mailbox, in process")
        else:
            from tests.fakes.vcio import FakeFirmware

            fw = FakeFirmware({"pmic_read_adc": PMIC_TEXT, "get_throttled": "throttled=0x0"})
            opts = PmicOptions(transport="mailbox", rate_hz=rate)
            out["M"] = (PmicMeter(opts, io=fw),
                        "STAND-IN kernel and firmware behind the mailbox (Python side only)")
    for meter, _ in out.values():
        meter.check()
    return out


class _ThrottlePoll:
    """The health monitor's throttle poll (one get_throttled) on a sampler's transport."""

    def __init__(self, meter: Any) -> None:
        self.ask = meter._open()

    def read_watts(self) -> float:
        from bench.meters.board import parse_throttled

        if parse_throttled(self.ask("get_throttled")) is None:
            raise RuntimeError("get_throttled gave no value")
        return 0.0


def throttle_cost(meter: Any, rate: float) -> None:
    """The health monitor's get_throttled poll on the meter's transport, at its default rate."""
    from bench.meters.health import MAILBOX_THROTTLE_HZ

    poll_hz = MAILBOX_THROTTLE_HZ if meter.describe()["transport"] != "vcgencmd" else 2.0
    cpu, wall, n = sampler_cpu_s(_ThrottlePoll(meter))
    print(f"  health throttle poll (get_throttled, mean of {n}): {1000 * cpu:.3f} ms CPU,"
          f" {1000 * wall:.3f} ms wall; at the default {poll_hz:g} Hz for this transport"
          f" {100 * cpu * poll_hz:.3f} % of one core")


def reading_cost(cond: str, meter: Any, what: str, rate: float) -> None:
    cpu, wall, n = sampler_cpu_s(meter)
    print(f"{cond}: PMIC via {meter.describe()['transport']} ({what})")
    print(f"  one pmic_read_adc reading (mean of {n}): {1000 * cpu:.3f} ms CPU (process +"
          f" children), {1000 * wall:.3f} ms wall; at {rate:g} Hz {100 * cpu * rate:.3f} %"
          " of one core")
    throttle_cost(meter, rate)


def readings_only(rate: float, only: str | None) -> int:
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for cond, (meter, what) in build_samplers(rate, only).items():
        reading_cost(cond, meter, what, rate)
        meter.close()
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--model", help="GGUF file (default: Gemma 3 270M or synthetic Qwen2.5-0.5B)")
    ap.add_argument("--rounds", type=int, default=8, help="rounds of A P M (default 8)")
    ap.add_argument("--gen", type=int, default=128, help="tokens generated per run")
    ap.add_argument("--prompt", type=int, default=16, help="prompt tokens per run")
    ap.add_argument("--rate", type=float, default=10.0, help="sampler rate, Hz")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--only", choices=["P", "M"], default=None, help="one sampler only")
    ap.add_argument("--readings-only", action="store_true",
                    help="only the CPU cost of one reading per transport (no model, no llama.cpp)")
    args = ap.parse_args()
    if args.readings_only:
        return readings_only(args.rate, args.only)

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
    from bench.runner.hostload import HostLoad

    samplers = build_samplers(args.rate, args.only)
    backend = LlamaCppBackend(LlamaCppOptions(threads=args.threads))
    backend.load(ModelRef(model.name, None, None, LlamaCppArtifact(gguf=str(model))))
    request = GenerationRequest(kind="throughput", prompt_tokens=args.prompt, max_tokens=args.gen)
    one_run(backend, request, nullcontext())  # warm-up, not recorded

    conds = ["A", *samplers]
    speeds: dict[str, list[float]] = {c: [] for c in conds}
    rates: dict[str, list[float]] = {c: [] for c in samplers}
    others: list[float] = []
    for r in range(args.rounds):
        order = conds[r % len(conds):] + conds[: r % len(conds)]  # rotate: no fixed position
        for cond in order:
            sampler = samplers[cond][0].track() if cond in samplers else nullcontext()
            with HostLoad() as load:
                s, rec = one_run(backend, request, sampler)
            speeds[cond].append(s)
            if (ld := load.summary()) is not None:
                others.append(ld["other_cpu_pct"])
            if rec is not None and len(rec.samples) > 1:
                span = rec.samples[-1].t - rec.samples[0].t
                rates[cond].append((len(rec.samples) - 1) / span)
                assert all(x.watts is not None for x in rec.samples), rec.errors
            print(f"round {r + 1} {cond}: {s:8.2f} tok/s", flush=True)
    backend.close()

    def show(name: str, v: list[float]) -> None:
        print(f"{name}: median {statistics.median(v):.2f} tok/s, min {min(v):.2f},"
              f" max {max(v):.2f}, stdev {statistics.stdev(v):.2f} (n={len(v)})")

    print(f"\nmodel {model.name}, threads {backend.threads}, {args.prompt} prompt + {args.gen}"
          f" generated tokens, samplers at {args.rate:g} Hz, {args.rounds} rounds")
    show("A no sampler", speeds["A"])
    for cond, (meter, what) in samplers.items():
        print(f"\n{cond}: PMIC via {meter.describe()['transport']} ({what})")
        show(f"{cond} sampler  ", speeds[cond])
        ratio = statistics.median(speeds[cond]) / statistics.median(speeds["A"])
        paired = [b / a for a, b in zip(speeds["A"], speeds[cond], strict=True)]
        print(f"{cond}/A ratio of medians {ratio:.4f} -> sampler cost {100 * (1 - ratio):+.2f} %")
        print(f"paired per-round {cond}/A: median {statistics.median(paired):.4f},"
              f" min {min(paired):.4f}, max {max(paired):.4f}")
        if rates[cond]:
            print(f"achieved {statistics.median(rates[cond]):.2f} Hz"
                  f" (median over {len(rates[cond])} runs)")
        cpu, wall, n = sampler_cpu_s(meter)
        ncpu = os.cpu_count() or 1
        print(f"one reading (mean of {n}): {1000 * cpu:.3f} ms CPU (process + children),"
              f" {1000 * wall:.3f} ms wall; at {args.rate:g} Hz that is"
              f" {100 * cpu * args.rate:.3f} % of one core"
              f" ({100 * cpu * args.rate / ncpu:.3f} % of {ncpu} cores)")
        throttle_cost(meter, args.rate)
        meter.close()
    if others:
        print(f"\nother processes used up to {max(others):.1f} % of all cores during a run"
              f" (median {statistics.median(others):.1f} %): above 5 %, distrust the figures")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
