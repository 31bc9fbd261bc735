#!/usr/bin/env python3
"""Many processes on one run folder: does any case run twice?

Per round: a real-time mock run of 6 cases starts; while it runs, 4 `pibench run --resume`
are started on its folder; then the run is killed (kill -9) and 4 more resumes start at
once; a last resume finishes whatever is left. Printed per round: distinct cases of the 6
planned, duplicated lines in cases.jsonl, resumes refused with exit 2 ("in use by pibench
process PID"), exit codes and tracebacks. Before the run folder lock (issue 12) this gave
up to 10 duplicated lines for 12 cases.

    .venv/bin/python scripts/stress_run_lock.py [--rounds 5] [--resumes 4]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROFILE = """\
name: fast
device: fast simulated device
source: stress script
jitter: 0
power: {idle_w: 1.0, busy_w: 2.0, covers: test}
models:
  m1: {gen_tps: 100.0, prompt_tps: 1000.0, ttft_s: 0.01, load_s: 0.01}
  m2: {gen_tps: 100.0, prompt_tps: 1000.0, ttft_s: 0.01, load_s: 0.01}
"""
CONFIG = """\
name: stress
repetitions: 2
warmup: 0
models: [{name: m1}, {name: m2}]
backends:
  - {name: sim, type: mock, options: {profile: %s}}
workloads:
  - {name: w1, prompt_tokens: 10, gen_tokens: 40}
  - {name: w2, prompt_tokens: 10, gen_tokens: 40}
  - {name: w3, prompt_tokens: 10, gen_tokens: 40}
"""


def _pibench(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bench", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def one_round(resumes: int) -> tuple[int, int, int, list[int], int]:
    d = Path(tempfile.mkdtemp(prefix="pibench-stress-"))
    (d / "fast.yaml").write_text(PROFILE)
    (d / "cfg.yaml").write_text(CONFIG % (d / "fast.yaml"))
    run = _pibench("run", str(d / "cfg.yaml"), "--output", str(d / "out"), "--quiet")
    deadline = time.monotonic() + 60
    while not list((d / "out").glob("*/cases.jsonl")):
        if time.monotonic() > deadline:
            raise SystemExit("the run made no folder within 60 s")
        time.sleep(0.005)
    run_dir = next((d / "out").glob("*/cases.jsonl")).parent
    procs = [_pibench("run", "--resume", str(run_dir), "--quiet") for _ in range(resumes)]
    time.sleep(0.3)
    run.send_signal(signal.SIGKILL)
    run.wait()
    procs += [_pibench("run", "--resume", str(run_dir), "--quiet") for _ in range(resumes)]
    results = [(p.wait(), p.stderr.read() if p.stderr else "") for p in procs]
    last = _pibench("run", "--resume", str(run_dir), "--quiet")
    last.wait()
    ids = [json.loads(line)["case_id"]
           for line in (run_dir / "cases.jsonl").read_text().splitlines()]
    refused = sum(1 for code, err in results if code == 2 and "in use by pibench process" in err)
    tracebacks = sum(1 for _, err in results if "Traceback" in err)
    return len(set(ids)), len(ids) - len(set(ids)), refused, sorted(c for c, _ in results), \
        tracebacks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--resumes", type=int, default=4)
    args = ap.parse_args()
    dups_total = 0
    for k in range(args.rounds):
        cases, dups, refused, codes, tracebacks = one_round(args.resumes)
        dups_total += dups
        print(f"round {k + 1}: {cases}/6 cases, {dups} duplicated lines, {refused}/"
              f"{2 * args.resumes} resumes refused (exit 2), exit codes {codes}, "
              f"{tracebacks} tracebacks")
    print(f"total over {args.rounds} rounds: {dups_total} duplicated lines")


if __name__ == "__main__":
    main()
