"""``pibench bench``: a llama-bench-like run with no config file (issue 14)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bench.cli.bench import make_config

GEMMA = Path("~/.cache/pibench/models/gemma3-270m-q4_k_m.gguf").expanduser()


def _args(**kw: object) -> argparse.Namespace:
    base: dict[str, object] = {"model": ["/x/My Model.Q4_K_M.gguf"], "prompt_tokens": "512",
                               "gen_tokens": "128", "depth": "0", "threads": None,
                               "repetitions": 5, "warmup": 1, "n_ctx": None}
    base.update(kw)
    return argparse.Namespace(**base)


def test_the_config_made_is_the_llama_bench_matrix():
    cfg = make_config(_args(prompt_tokens="64,128", gen_tokens="16", depth="0,256",
                            threads="1,2", repetitions=3))
    assert [b["name"] for b in cfg["backends"]] == ["cpu-t1", "cpu-t2"]
    assert [b["options"]["threads"] for b in cfg["backends"]] == [1, 2]
    assert [w["name"] for w in cfg["workloads"]] == [
        "pp64-tg16-d0", "pp64-tg16-d256", "pp128-tg16-d0", "pp128-tg16-d256"]
    assert cfg["repetitions"] == 3
    assert cfg["models"][0]["name"] == "My_Model.Q4_K_M"
    assert cfg["models"][0]["artifacts"]["llama_cpp"]["gguf"] == "/x/My Model.Q4_K_M.gguf"


def test_no_threads_means_the_backends_default():
    cfg = make_config(_args())
    assert cfg["backends"] == [{"name": "cpu", "type": "llama_cpp", "options": {"n_ctx": 4096}}]
    assert [w["name"] for w in cfg["workloads"]] == ["pp512-tg128"]


def test_a_missing_model_file_exits_2_before_a_folder(cli, tmp_path):
    code, _, err = cli("bench", "-m", tmp_path / "none.gguf", "-p", "8", "-n", "4",
                       "--output", tmp_path / "out")
    assert code == 2 and "none.gguf" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_bad_lists_are_one_line(cli, tmp_path):
    code, _, err = cli("bench", "-m", GEMMA, "-t", "1,two", "--output", tmp_path)
    assert code == 2 and "-t '1,two'" in err


@pytest.mark.skipif(not GEMMA.is_file(), reason=f"Gemma 3 270M GGUF not found at {GEMMA}")
def test_bench_prints_a_table_with_a_depth_column_and_resumes(cli, tmp_path):
    code, out, err = cli("bench", "-m", GEMMA, "-p", "8", "-n", "4", "-d", "0,32", "-t", "1",
                         "-r", "2", "--warmup", "0", "--output", tmp_path / "out")
    assert code == 0, err
    lines = out.splitlines()
    header = [c.strip() for c in lines[0].split("|")]
    assert header[1:-1] == ["model", "size", "params", "backend", "threads", "depth", "test",
                            "t/s median (min–max)", "n", "runtime t/s median",
                            "runtime clock", "labels"]
    rows = [[c.strip() for c in x.split("|")][1:-1] for x in lines[2:6]]
    assert [(r[4], r[5], r[6], r[8]) for r in rows] == [
        ("1", "0", "pp8", "2"), ("1", "0", "tg4", "2"), ("1", "32", "pp8", "2"),
        ("1", "32", "tg4", "2")]
    # t/s on the harness clock, the perf counters in their own columns
    assert all(r[10] == "llama.cpp perf counters" and r[9] != "n/a" for r in rows)
    records = [json.loads(x) for x in (next((tmp_path / "out").iterdir()) / "cases.jsonl")
               .read_text().splitlines()]
    for r, case in zip(rows[1::2], records, strict=True):
        assert r[7].split(" ")[0] == f"{case['summary']['gen_tps']['median']:.2f}"
        # the depth context: decoded once (the first repetition; no warm-up), then restored
        depth = [rep["internal"].get("depth_context") for rep in case["reps"]]
        assert depth == ([None, None] if r[5] == "0" else ["decoded", "restored"])
    run_dir = next((tmp_path / "out").iterdir())
    assert f"results: {run_dir}" in out
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["config_file"] == str((run_dir / "config.yaml").resolve())
    assert "pp8-tg4-d32" in (run_dir / "config.yaml").read_text()
    assert (run_dir / "report.md").is_file()
    code, _, err = cli("run", "--resume", run_dir)
    assert code == 0 and "2 case(s) done, 0 to run" in err, err
