#!/usr/bin/env python3
"""The harness's llama.cpp backend against llama.cpp's own llama-bench, on the same files.

For each model, rounds alternate A (llama-bench: pp N and tg M, -r R) and B (the harness's
LlamaCppBackend, driven through its public API, R repetitions of pp N and of tg M), A first
in even rounds and B first in odd ones, with the same threads, batch sizes, flash attention
("auto") and KV type. Both sides load the model afresh each round, warm up, and clear the KV
cache before every repetition. Medians are taken over all repetitions of all rounds, then
the ratio harness / llama-bench of the medians (goal: >= 0.98).

What each figure is:
- llama-bench pp/tg: its ``samples_ts`` (tokens / wall time of one repetition).
- harness pp (perf): llama.cpp's own counters, ``prompt_tokens / prompt_ms``, the way
  llama-bench times a prompt (decode until synchronize).
- harness pp (wall): prompt tokens / (first token time - request time), on the harness clock
  (includes building the prompt and sampling the first token).
- harness tg: a 1-token prompt (BOS, as llama-bench) then M single-token decodes; perf =
  ``gen_tokens / gen_ms`` from the counters, wall = M / (last token time - request time)
  (includes sampling every token, which llama-bench does not do).

Usage:
  .venv/bin/python scripts/bench_vs_llama_bench.py [MODEL.gguf ...] [-p 512] [-n 128]
      [-t THREADS] [-r 3] [--rounds 3] [--llama-bench PATH] [--json OUT]
Defaults: the synthetic Qwen2.5-0.5B and 1.5B Q4_K_M files under ~/.cache/pibench/models/synth.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.backends.base import GenerationRequest, ModelRef  # noqa: E402
from bench.backends.llama_cpp.backend import LlamaCppBackend, physical_cores  # noqa: E402
from bench.backends.llama_cpp.config import LlamaCppArtifact, LlamaCppOptions  # noqa: E402
from bench.runner.hostload import HostLoad  # noqa: E402

SYNTH = Path.home() / ".cache" / "pibench" / "models" / "synth"
DEFAULT_MODELS = [
    SYNTH / "qwen2.5-0.5b-instruct-q4_k_m.gguf",
    SYNTH / "qwen2.5-1.5b-instruct-q4_k_m.gguf",
]


def find_llama_bench(given: str | None) -> str:
    if given:
        return given
    out = subprocess.run(
        [str(ROOT / "scripts" / "build_llama_bench.sh"), sys.executable],
        check=True, capture_output=True, text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def run_llama_bench(exe: str, model: Path, n_prompt: int, n_gen: int, threads: int,
                    reps: int) -> dict[str, list[float]]:
    cmd = [exe, "-m", str(model), "-p", str(n_prompt), "-n", str(n_gen), "-t", str(threads),
           "-r", str(reps), "-o", "json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    rows = json.loads(out.stdout)
    result: dict[str, list[float]] = {"pp": [], "tg": []}
    for row in rows:
        kind = "pp" if row["n_prompt"] > 0 and row["n_gen"] == 0 else "tg"
        result[kind].extend(float(x) for x in row["samples_ts"])
    return result


def run_request(backend: LlamaCppBackend, request: GenerationRequest) -> tuple[list[float], Any]:
    gen = backend.generate(request)
    times: list[float] = []
    while True:
        try:
            times.append(next(gen).t)
        except StopIteration as stop:
            return times, stop.value


def run_harness(backend: LlamaCppBackend, n_prompt: int, n_gen: int, reps: int,
                variant0: int) -> dict[str, list[float]]:
    res: dict[str, list[float]] = {"pp_perf": [], "pp_wall": [], "tg_perf": [], "tg_wall": []}
    for i in range(reps):
        backend.reset()
        pp = GenerationRequest(kind="throughput", prompt_tokens=n_prompt, max_tokens=1,
                               variant=variant0 + i)
        times, st = run_request(backend, pp)
        res["pp_perf"].append(st.internal["prompt_tokens"] / st.internal["prompt_ms"] * 1e3)
        res["pp_wall"].append(st.prompt_tokens / (times[0] - st.t_request))
    for _ in range(reps):
        backend.reset()
        tg = GenerationRequest(kind="throughput", prompt_tokens=1, max_tokens=n_gen)
        times, st = run_request(backend, tg)
        assert st.gen_tokens == n_gen and st.internal["gen_tokens"] == n_gen, st
        res["tg_perf"].append(st.internal["gen_tokens"] / st.internal["gen_ms"] * 1e3)
        res["tg_wall"].append(n_gen / (times[-1] - st.t_request))
    return res


def harness_round(opts: LlamaCppOptions, model: Path, n_prompt: int, n_gen: int, reps: int,
                  variant0: int) -> dict[str, list[float]]:
    """One round of the harness: a fresh load (llama-bench loads the model in every round too),
    a warm-up, then the measured repetitions."""
    backend = LlamaCppBackend(opts)
    backend.load(ModelRef(model.stem, None, None, LlamaCppArtifact(gguf=str(model))))
    try:
        run_harness(backend, n_prompt, min(n_gen, 16), 1, 10_000)  # warm-up
        return run_harness(backend, n_prompt, n_gen, reps, variant0)
    finally:
        backend.close()


def summary(values: list[float]) -> str:
    med = statistics.median(values)
    return f"{med:8.2f} t/s (n={len(values)}, min {min(values):.2f}, max {max(values):.2f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="*", type=Path, default=DEFAULT_MODELS)
    ap.add_argument("-p", "--n-prompt", type=int, default=512)
    ap.add_argument("-n", "--n-gen", type=int, default=128)
    ap.add_argument("-t", "--threads", type=int, default=physical_cores())
    ap.add_argument("-r", "--reps", type=int, default=3, help="repetitions per side per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--llama-bench", default=None, help="llama-bench binary (default: build it)")
    ap.add_argument("--json", type=Path, default=None, help="write all samples here")
    args = ap.parse_args()

    exe = find_llama_bench(args.llama_bench)
    print(f"llama-bench: {exe}")
    print(f"pp{args.n_prompt} / tg{args.n_gen}, threads {args.threads}, {args.reps} reps x "
          f"{args.rounds} rounds per side, alternating llama-bench / harness\n")
    report: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "models": {}}
    for model in args.models:
        if not model.exists():
            print(f"skip {model}: not found (make it with: pibench models synth ...)")
            continue
        opts = LlamaCppOptions(threads=args.threads, n_batch=2048, n_ubatch=512,
                               n_ctx=args.n_prompt + args.n_gen, flash_attn="auto")
        lb: dict[str, list[float]] = {"pp": [], "tg": []}
        hs: dict[str, list[float]] = {"pp_perf": [], "pp_wall": [], "tg_perf": [], "tg_wall": []}
        others: list[float] = []
        paired: dict[str, list[float]] = {"pp_perf": [], "tg_perf": [], "tg_wall": []}
        for rnd in range(args.rounds):
            # the order flips every round: this VM's speed drifts by several % over minutes,
            # and a fixed order would hand the drift to one side
            loads: dict[str, HostLoad] = {"a": HostLoad(), "b": HostLoad()}
            got: dict[str, dict[str, list[float]]] = {}
            for side in ("a", "b") if rnd % 2 == 0 else ("b", "a"):
                with loads[side]:
                    got[side] = (
                        run_llama_bench(exe, model, args.n_prompt, args.n_gen, args.threads,
                                        args.reps) if side == "a"
                        else harness_round(opts, model, args.n_prompt, args.n_gen, args.reps,
                                           rnd * args.reps))
            a, b = got["a"], got["b"]
            busy = [x for ld in (loads["a"].summary(), loads["b"].summary())
                    if ld and (x := ld["other_cpu_pct"]) is not None]  # null: under 1 s
            others += busy
            for k in lb:
                lb[k] += a[k]
            for k in hs:
                hs[k] += b[k]
            med = statistics.median
            for k in paired:
                paired[k].append(med(b[k]) / med(a[k[:2]]))
            print(f"  {model.name} round {rnd + 1}: llama-bench pp {med(a['pp']):.2f}"
                  f" tg {med(a['tg']):.2f} | harness pp {med(b['pp_perf']):.2f}"
                  f" tg {med(b['tg_perf']):.2f} t/s | tg ratio {paired['tg_perf'][-1]:.3f}"
                  " | other processes"
                  f" {' / '.join(f'{x:.1f}' for x in busy)} % CPU", flush=True)
        print(f"\n{model.name}")
        print(f"  llama-bench  pp{args.n_prompt}: {summary(lb['pp'])}")
        print(f"  harness perf pp{args.n_prompt}: {summary(hs['pp_perf'])}")
        print(f"  harness wall pp{args.n_prompt}: {summary(hs['pp_wall'])}")
        print(f"  llama-bench  tg{args.n_gen}: {summary(lb['tg'])}")
        print(f"  harness perf tg{args.n_gen}: {summary(hs['tg_perf'])}")
        print(f"  harness wall tg{args.n_gen}: {summary(hs['tg_wall'])}")
        ratios = {
            "pp_perf": statistics.median(hs["pp_perf"]) / statistics.median(lb["pp"]),
            "pp_wall": statistics.median(hs["pp_wall"]) / statistics.median(lb["pp"]),
            "tg_perf": statistics.median(hs["tg_perf"]) / statistics.median(lb["tg"]),
            "tg_wall": statistics.median(hs["tg_wall"]) / statistics.median(lb["tg"]),
        }
        if others:
            print(f"  other processes used up to {max(others):.1f} % of all cores in a round"
                  f" (median {statistics.median(others):.1f} %): above 5 %, distrust the ratios")
        print("  ratio harness/llama-bench of medians (goal >= 0.98): "
              + ", ".join(f"{k} {v:.3f}" for k, v in ratios.items()))
        # the machine's speed drifts between rounds; a ratio taken within each round and
        # then the median over rounds is blind to that drift
        by_round = {k: statistics.median(v) for k, v in paired.items()}
        print("  median over rounds of the ratio within each round: "
              + ", ".join(f"{k} {v:.3f} (min {min(paired[k]):.3f}, max {max(paired[k]):.3f})"
                          for k, v in by_round.items()) + "\n")
        report["models"][model.name] = {"llama_bench": lb, "harness": hs, "ratios": ratios,
                                        "ratios_by_round": paired, "other_cpu_pct": others}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
