#!/usr/bin/env python3
"""What restoring a depth's context saves, per repetition, on this machine.

A throughput request with ``depth`` puts that many tokens of context in the cleared cache
before its timed window (bench.backends.llama_cpp.depth): the first time by decoding them
(what every repetition did before the state was saved), then by restoring the saved sequence
state. This script loads a GGUF once and alternates the two, --rounds times: a request whose
saved state was dropped first (decoded), then the same request again (restored). It prints
each time (wall clock and this process's CPU time) and their medians: the difference is what
each repetition after the first saves. Alternating keeps a drifting machine load from
falling on one side only.

Usage:
  .venv/bin/python scripts/bench_depth_restore.py GGUF [--depth 512] [--rounds 5]
      [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gguf")
    ap.add_argument("--depth", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    from bench.backends.base import GenerationRequest, ModelRef
    from bench.backends.llama_cpp.backend import LlamaCppBackend
    from bench.backends.llama_cpp.config import LlamaCppArtifact, LlamaCppOptions

    backend = LlamaCppBackend(LlamaCppOptions(threads=args.threads,
                                              n_ctx=max(2048, args.depth + 64)))
    path = str(Path(args.gguf).expanduser())
    backend.load(ModelRef("m", None, None, LlamaCppArtifact(gguf=path)))
    times: dict[str, list[tuple[float, float]]] = {"decoded": [], "restored": []}
    saved = 0
    try:
        for i in range(args.rounds):
            for forget in (True, False):
                if forget:
                    backend._depth.forget()
                req = GenerationRequest(kind="throughput", max_tokens=1, prompt_tokens=8,
                                        depth=args.depth, variant=i)
                cpu0 = time.process_time()
                gen = backend.generate(req)
                try:
                    while True:
                        next(gen)
                except StopIteration as stop:
                    stats = stop.value
                cpu = (time.process_time() - cpu0) * 1000.0
                internal = stats.internal or {}
                how = str(internal["depth_context"])
                wall = float(internal["depth_context_ms"])
                times[how].append((wall, cpu))
                saved = max(saved, backend._depth.bytes)
                print(f"round {i + 1}: {how:8s} {wall:10.1f} ms wall "
                      f"(request incl. prompt and 1 token: {cpu:8.1f} ms CPU)", flush=True)
    finally:
        backend.close()
    print(f"\ndepth {args.depth}, {args.threads} thread(s), {args.rounds} rounds "
          f"({saved / 2**20:.1f} MiB of saved state):")
    for how, vals in times.items():
        if vals:
            print(f"  {how:8s} median {statistics.median(v[0] for v in vals):10.1f} ms wall, "
                  f"min {min(v[0] for v in vals):.1f}, max {max(v[0] for v in vals):.1f}, "
                  f"n={len(vals)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
