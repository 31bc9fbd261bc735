#!/usr/bin/env python3
"""What does the power sampler cost? Generation speed of the real llama.cpp backend, every core
generating, with the Pi 5 PMIC sampler at several rates against no sampler, interleaved in one
run. Conditions per round (their order rotates from round to round):
  A        no sampler
  P@R      PMIC read by running a program, a process per reading, R readings a second
  M@R      PMIC read through the mailbox device from this process (the default transport)

On a Raspberry Pi 5 both samplers read the real PMIC. Elsewhere (no vcgencmd, no
/dev/vcio_gencmd or /dev/vcio) stand-ins do the part of the work that exists here:
- P: `cat` of a file holding real-shaped `pmic_read_adc` text (tests/data/pmic_read_adc.txt,
  910 bytes, the size of a real answer): a small C program, one fork and exec per reading,
  the same pipe, read and parse in pibench. A Pi adds vcgencmd's own open() and ioctl() and
  the firmware's answer time (the process waits, asleep, for the VideoCore).
- M: real system calls on a pipe for each reading (an ioctl, then the 4 KiB message written
  into and read back from the pipe: the two copies vcio.c makes) around the fake kernel and
  firmware of tests/fakes/vcio.py (its tag check and answer run in Python here; on a Pi they
  run in the kernel and on the VideoCore), then the same parsing. A Pi adds the mailbox round
  trip, during which the sampling thread sleeps in the kernel.
Every line printed says which it was.
Speed = generated tokens after the first / (last token time - first token time), from the
backend's token events.

    .venv/bin/python scripts/bench_sampler_cost.py [--model PATH] [--rounds 6] [--gen 128]
        [--rates 2,5,10,20] [--m-rates R,..] [--threads N] [--only P|M] [--readings-only]
        [--json OUT]

Prints per condition the median tokens/s, min-max spread, stdev and n; the cost as 1 - the
ratio of medians to A and as the median of the paired per-round ratios; the achieved rate;
the CPU time of one reading (this process + children) and the share of all cores it takes at
that rate (the cost a sampler must have when every core is busy).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import statistics
import sys
import termios
import time
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
PMIC_FILE = Path(__file__).resolve().parent.parent / "tests/data/pmic_read_adc.txt"
PMIC_TEXT = PMIC_FILE.read_text()


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


def sampler_cpu_s(read: Any, min_cpu_s: float = 0.5,
                  max_n: int = 20000) -> tuple[float, float, int]:
    """CPU seconds (this process + its children) and wall seconds per reading, over enough
    readings for the kernel's 10 ms CPU-time ticks not to matter; and how many."""
    t0, c0 = time.perf_counter(), os.times()
    n = 0
    c1 = c0
    while n < max_n:
        read()
        n += 1
        c1 = os.times()
        if sum(c1[i] - c0[i] for i in range(4)) >= min_cpu_s:
            break
    t1 = time.perf_counter()
    cpu = sum(c1[i] - c0[i] for i in range(4))  # user, system, children user/system
    return cpu / n, (t1 - t0) / n, n


class SyscallFirmware:
    """The fake kernel and firmware of tests/fakes/vcio.py behind real system calls: per
    ioctl, one ioctl(FIONREAD) on a pipe, and the message written into the pipe and read back
    (vcio.c copies it in from and out to the user). Stands in for /dev/vcio_gencmd."""

    def __init__(self, answers: dict[str, str]) -> None:
        from tests.fakes.vcio import FakeFirmware

        self.fw = FakeFirmware(answers)
        self._r, self._w = os.pipe()
        fcntl.fcntl(self._w, fcntl.F_SETPIPE_SZ, 1 << 16)
        self._count = bytearray(4)

    def open(self, path: str) -> int:
        return self.fw.open(path)

    def close(self, fd: int) -> None:
        self.fw.close(fd)

    def ioctl(self, fd: int, request: int, buf: bytearray) -> int:
        fcntl.ioctl(self._r, termios.FIONREAD, self._count, True)
        os.write(self._w, buf)  # copy_from_user of the message
        view = memoryview(buf)
        got = 0
        while got < len(buf):  # copy_to_user (the answer is then written over it)
            got += os.readv(self._r, [view[got:]])
        return self.fw.ioctl(fd, request, buf)


def build_samplers(rates: list[float], only: str | None, m_rates: list[float] | None = None
                   ) -> tuple[dict[str, Any], dict[str, str]]:
    """({condition: meter}, {transport letter: what it reads}) for P at each of ``rates`` and
    M at each of ``m_rates`` (default: the same)."""
    from bench.meters.gencmd import DEVICES
    from bench.meters.pmic import PmicMeter, PmicOptions

    on_pi = shutil.which("vcgencmd") is not None and any(os.path.exists(d) for d in DEVICES)
    meters: dict[str, Any] = {}
    what: dict[str, str] = {}
    if only in (None, "P"):
        if on_pi:
            what["P"] = "real vcgencmd, a process per reading"
            kw: dict[str, Any] = {"transport": "vcgencmd"}
        else:
            what["P"] = (f"STAND-IN: /bin/cat of {PMIC_FILE.stat().st_size} bytes of real-shaped"
                         " pmic_read_adc text, a process per reading")
            kw = {"command": f"{shutil.which('cat')} {PMIC_FILE}", "transport": "vcgencmd"}
        for r in rates:
            meters[f"P@{r:g}"] = PmicMeter(PmicOptions(rate_hz=r, **kw))
    if only in (None, "M"):
        if on_pi:
            what["M"] = "real firmware through the mailbox, in process"
            for r in m_rates or rates:
                meters[f"M@{r:g}"] = PmicMeter(PmicOptions(transport="mailbox", rate_hz=r))
        else:
            what["M"] = ("STAND-IN: real syscalls on a pipe (ioctl + the 4 KiB message in and out)"
                         " around the fake vcio kernel and firmware, in process")
            for r in m_rates or rates:
                fw = SyscallFirmware({"pmic_read_adc": PMIC_TEXT,
                                      "get_throttled": "throttled=0x0"})
                meters[f"M@{r:g}"] = PmicMeter(PmicOptions(transport="mailbox", rate_hz=r),
                                               io=fw)
    for meter in meters.values():
        meter.check()
    return meters, what


def reading_costs(meters: dict[str, Any], what: dict[str, str]) -> dict[str, dict[str, float]]:
    """CPU and wall time of one reading per transport (measured on the first meter of each)."""
    out: dict[str, dict[str, float]] = {}
    for letter in what:
        meter = next(m for c, m in meters.items() if c.startswith(letter))
        cpu, wall, n = sampler_cpu_s(meter.read_watts)
        out[letter] = {"cpu_ms": 1000 * cpu, "wall_ms": 1000 * wall, "n": n}
        print(f"{letter}: PMIC via {meter.describe()['transport']} ({what[letter]})")
        print(f"  one reading (mean of {n}): {1000 * cpu:.3f} ms CPU (process + children),"
              f" {1000 * wall:.3f} ms wall", flush=True)
    return out


def readings_only(rates: list[float], only: str | None) -> int:
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    meters, what = build_samplers(rates[:1], only)
    costs = reading_costs(meters, what)
    ncpu = os.cpu_count() or 1
    for letter, c in costs.items():
        for r in rates:
            print(f"  {letter} at {r:g} Hz: {c['cpu_ms'] * r / 10:.3f} % of one core,"
                  f" {c['cpu_ms'] * r / 10 / ncpu:.3f} % of {ncpu} cores")
    for m in meters.values():
        m.close()
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def _stats(v: list[float]) -> dict[str, float]:
    return {"median": statistics.median(v), "min": min(v), "max": max(v),
            "stdev": statistics.stdev(v) if len(v) > 1 else float("nan"), "n": len(v)}


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[1])
    ap.add_argument("--model", help="GGUF file (default: Gemma 3 270M or synthetic Qwen2.5-0.5B)")
    ap.add_argument("--rounds", type=int, default=6, help="rounds of every condition (default 6)")
    ap.add_argument("--gen", type=int, default=128, help="tokens generated per run")
    ap.add_argument("--prompt", type=int, default=16, help="prompt tokens per run")
    ap.add_argument("--rates", default="2,5,10,20", help="sampler rates, Hz (default 2,5,10,20)")
    ap.add_argument("--m-rates", default=None,
                    help="rates of the mailbox sampler, Hz (default: --rates)")
    ap.add_argument("--threads", type=int, default=None,
                    help="llama.cpp threads (default: every logical core)")
    ap.add_argument("--only", choices=["P", "M"], default=None, help="one transport only")
    ap.add_argument("--readings-only", action="store_true",
                    help="only the CPU cost of one reading per transport (no model, no llama.cpp)")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    rates = [float(x) for x in args.rates.split(",") if x.strip()]
    m_rates = [float(x) for x in args.m_rates.split(",") if x.strip()] if args.m_rates else None
    if args.readings_only:
        return readings_only(rates, args.only)

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

    ncpu = os.cpu_count() or 1
    load_start = os.getloadavg()
    meters, what = build_samplers(rates, args.only, m_rates)
    backend = LlamaCppBackend(LlamaCppOptions(threads=args.threads or ncpu))
    backend.load(ModelRef(model.name, None, None, LlamaCppArtifact(gguf=str(model))))
    request = GenerationRequest(kind="throughput", prompt_tokens=args.prompt, max_tokens=args.gen)
    one_run(backend, request, nullcontext())  # warm-up, not recorded

    conds = ["A", *meters]
    speeds: dict[str, list[float]] = {c: [] for c in conds}
    achieved: dict[str, list[float]] = {c: [] for c in meters}
    others: list[float] = []
    for r in range(args.rounds):
        k = r % len(conds)
        order = conds[k:] + conds[:k]  # rotate: no condition keeps a fixed position
        for cond in order:
            sampler = meters[cond].track() if cond in meters else nullcontext()
            with HostLoad() as load:
                s, rec = one_run(backend, request, sampler)
            speeds[cond].append(s)
            ld = load.summary()
            if ld is not None and ld["other_cpu_pct"] is not None:  # null: under 1 s
                others.append(ld["other_cpu_pct"])
            if rec is not None and len(rec.samples) > 1:
                span = rec.samples[-1].t - rec.samples[0].t
                achieved[cond].append((len(rec.samples) - 1) / span)
                assert all(x.watts is not None for x in rec.samples), rec.errors
            print(f"round {r + 1} {cond}: {s:8.2f} tok/s", flush=True)
    backend.close()

    print(f"\nmodel {model.name}, {backend.threads} threads on {ncpu} logical cores,"
          f" {args.prompt} prompt + {args.gen} generated tokens, {args.rounds} rounds")
    print(f"load average at the start {' '.join(f'{x:.2f}' for x in load_start)}, at the end"
          f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if others:
        print(f"other processes used up to {max(others):.1f} % of all cores during a run"
              f" (median {statistics.median(others):.1f} %)")
    costs = reading_costs(meters, what)
    a = speeds["A"]
    out: dict[str, Any] = {"model": model.name, "threads": backend.threads, "cores": ncpu,
                           "gen_tokens": args.gen, "rounds": args.rounds, "what": what,
                           "reading": costs, "conditions": {"A": _stats(a)}}
    print(f"\n{'condition':9} {'median t/s':>10} {'min':>7} {'max':>7} {'stdev':>6} {'n':>3}"
          f" {'cost %':>7} {'paired %':>9} {'paired range %':>16} {'Hz':>6} {'CPU %':>6}")
    sa = _stats(a)
    print(f"{'A':9} {sa['median']:10.2f} {sa['min']:7.2f} {sa['max']:7.2f} {sa['stdev']:6.2f}"
          f" {len(a):3d}")
    for cond, meter in meters.items():
        v = speeds[cond]
        st = _stats(v)
        cost = 100 * (1 - st["median"] / sa["median"])
        paired = [100 * (1 - b / x) for x, b in zip(a, v, strict=True)]
        hz = statistics.median(achieved[cond]) if achieved[cond] else float("nan")
        cpu_pct = costs[cond[0]]["cpu_ms"] * meter.rate_hz / 10 / ncpu
        print(f"{cond:9} {st['median']:10.2f} {st['min']:7.2f} {st['max']:7.2f}"
              f" {st['stdev']:6.2f}"
              f" {len(v):3d} {cost:+7.2f} {statistics.median(paired):+9.2f}"
              f" {min(paired):+7.2f}..{max(paired):+6.2f} {hz:6.2f} {cpu_pct:6.3f}")
        out["conditions"][cond] = {**st, "cost_pct": cost,
                                   "paired_cost_pct_median": statistics.median(paired),
                                   "paired_cost_pct_min": min(paired),
                                   "paired_cost_pct_max": max(paired),
                                   "achieved_hz": hz, "cpu_pct_of_all_cores": cpu_pct}
        meter.close()
    print("cost %: 1 - median(condition) / median(A); paired %: the same per round, median and"
          " range; CPU %: one reading's CPU time x rate / cores (what it takes from busy cores)")
    for letter, text in what.items():
        print(f"{letter}: {text}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
