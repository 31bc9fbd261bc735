"""Rounds on real llama.cpp (Gemma 3 270M from PyPI, the model the llama tests use): one
record per case holding the repetitions of every round, and ``pibench compare`` of two such
runs judging on the round means and giving each side's per-round spread (issue 16)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llama_cpp")

from bench.runner.session import start_run

pytestmark = pytest.mark.llama

GEMMA = Path.home() / ".cache" / "pibench" / "models" / "gemma3-270m-q4_k_m.gguf"

CONFIG = f"""
name: rounds-llama
repetitions: 3
warmup: 0
rounds: 3
order: interleave-devices
models:
  - name: gemma3-270m
    params_b: 0.27
    artifacts:
      cpu-a: {{gguf: "{GEMMA}"}}
      cpu-b: {{gguf: "{GEMMA}"}}
backends:
  - {{name: cpu-a, type: llama_cpp, options: {{threads: 1, n_ctx: 256}}}}
  - {{name: cpu-b, type: llama_cpp, options: {{threads: 1, n_ctx: 256}}}}
workloads:
  - {{name: pp8-tg8, kind: throughput, prompt_tokens: 8, gen_tokens: 8}}
"""


@pytest.mark.skipif(not GEMMA.is_file(), reason=f"{GEMMA} missing: pibench models install "
                                                "gemma3-270m")
def test_three_rounds_give_one_record_per_case_and_compare_shows_round_spread(
        tmp_path: Path, write_config: Any, cli: Any) -> None:
    cfg = write_config(CONFIG)
    runs = []
    for name in ("a", "b"):
        res = start_run(cfg, output_dir=tmp_path / name, quiet=True)
        assert res.exit_code == 0
        runs.append(res.run_dir)
    records = runs[0].cases()
    assert sorted(r["case_id"] for r in records) == ["gemma3-270m/cpu-a/pp8-tg8",
                                                     "gemma3-270m/cpu-b/pp8-tg8"]
    # every line but the two complete ones is a partial record written after a round
    lines = (runs[0].path / "cases.jsonl").read_text().splitlines()
    assert len(lines) == 2 * 3
    for r in records:
        assert r["status"] == "ok"
        assert [x["round"] for x in r["reps"]] == [1, 2, 3]
        assert [(x["round"], x["n_reps"], x["complete"]) for x in r["rounds"]] == [
            (1, 1, True), (2, 1, True), (3, 1, True)]
        assert all(x["summary"]["gen_tps"]["n"] == 1 for x in r["rounds"])
        assert r["summary"]["gen_tps"]["n"] == 3
        assert r["load_s"] is not None and r["rounds"][0]["load_s"] is not None
        assert r["rounds"][1]["load_s"] is None  # stayed loaded (reload_per_round: false)
    code, out, _err = cli("compare", str(runs[0].path), str(runs[1].path))
    assert code == 0
    for backend in ("cpu-a", "cpu-b"):
        row = next(line for line in out.splitlines() if f"/{backend}/" in line)
        assert "per round tg: A " in row and ", B " in row and "(spread " in row
