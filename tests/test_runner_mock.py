"""The runner end to end on the simulated device, on a virtual clock: exact figures."""

from __future__ import annotations

import json

import pytest

from bench.runner.session import Filters, start_run
from tests.conftest import SIM_CONFIG


def _records(result):
    return {r["case_id"]: r for r in result.run_dir.cases()}


def test_matrix_and_exact_figures(write_config, tmp_path):
    cfg = write_config(SIM_CONFIG)
    result = start_run(cfg, output_dir=tmp_path / "out", quiet=True)
    assert result.exit_code == 0
    recs = _records(result)
    assert len(recs) == 2 * 2 * 2
    npu = recs["Qwen2-1.5B-Instruct/npu/pp100-tg50"]
    s = npu["summary"]
    # Hailo table: 8.18 tokens/s, TTFT 0.32 s, load 7.37 s; no prompt speed published
    assert s["gen_tps"]["median"] == pytest.approx(8.18, rel=1e-6)
    assert s["gen_tps"]["stddev"] == pytest.approx(0.0, abs=1e-6)
    assert s["gen_tps"]["n"] == 3 and s["gen_tps"]["unit"] == "tokens/s"
    assert s["ttft_s"]["median"] == pytest.approx(0.32, abs=1e-6)
    assert s["prompt_tps"]["n"] == 0 and s["prompt_tps"]["median"] is None  # n/a, not 0
    assert npu["load_s"] == pytest.approx(7.37, abs=1e-6)
    assert s["e2e_s"]["median"] == pytest.approx(0.32 + 49 / 8.18, abs=1e-6)
    rep = npu["reps"][0]
    assert rep["gen_tokens"] == 50 and len(rep["token_t"]) == 50
    assert rep["token_t"][0] == pytest.approx(0.32, abs=1e-6)
    assert npu["labels"] == ["simulated"]
    assert npu["warmup"] == 1

    cpu = recs["Qwen2-1.5B-Instruct/cpu/pp100-tg50"]["summary"]
    ttft = 0.05 + 100 / 25.7
    assert cpu["ttft_s"]["median"] == pytest.approx(ttft, abs=1e-6)
    assert cpu["prompt_tps"]["median"] == pytest.approx(100 / ttft, rel=1e-5)
    assert cpu["gen_tps"]["median"] == pytest.approx(9.96, rel=1e-6)


def test_chat_workload_counts_and_prompts(write_config, tmp_path):
    cfg = write_config(SIM_CONFIG)
    result = start_run(cfg, Filters(workloads=["chat"], backends=["cpu"]),
                       output_dir=tmp_path, quiet=True)
    rec = _records(result)["Llama-3.2-3B-Instruct/cpu/chat"]
    reps = rec["reps"]
    assert [r["gen_tokens"] for r in reps] == [20, 20, 20]
    # repetition k uses prompt k mod 2: "say hello to the world" has 5 words, "two words" 2
    assert [r["prompt_tokens"] for r in reps] == [5, 2, 5]
    assert reps[0]["text"]


def test_jitter_is_deterministic_for_a_seed(write_config, tmp_path):
    text = SIM_CONFIG.replace("jitter: 0}", "jitter: 0.05}")
    a = start_run(write_config(text), output_dir=tmp_path / "a", quiet=True)
    b = start_run(write_config(text), output_dir=tmp_path / "b", quiet=True)
    ra, rb = _records(a), _records(b)
    key = "Qwen2-1.5B-Instruct/cpu/pp100-tg50"
    assert ra[key]["reps"][0]["token_t"] == rb[key]["reps"][0]["token_t"]
    assert ra[key]["summary"]["gen_tps"]["stddev"] > 0


def test_filters_and_bad_filter(write_config, tmp_path):
    from bench.errors import UserError

    cfg = write_config(SIM_CONFIG)
    result = start_run(cfg, Filters(models=["Qwen*"], backends=["npu"]), output_dir=tmp_path,
                       quiet=True)
    assert sorted(_records(result)) == ["Qwen2-1.5B-Instruct/npu/chat",
                                        "Qwen2-1.5B-Instruct/npu/pp100-tg50"]
    with pytest.raises(UserError, match="--backends 'gpu' matches no backend"):
        start_run(cfg, Filters(backends=["gpu"]), output_dir=tmp_path, quiet=True)


def test_run_folder_contents_and_no_overwrite(write_config, tmp_path):
    cfg = write_config(SIM_CONFIG)
    r1 = start_run(cfg, output_dir=tmp_path, quiet=True)
    r2 = start_run(cfg, output_dir=tmp_path, quiet=True)
    assert r1.run_dir.path != r2.run_dir.path
    p = r1.run_dir.path
    meta = json.loads((p / "run.json").read_text())
    assert meta["status"] == "finished" and meta["schema"] == 1
    assert meta["cases_ok"] == 8
    env = json.loads((p / "environment.json").read_text())
    for key in ("host", "cpu", "memory_total_mb", "os", "kernel", "python", "versions"):
        assert key in env
    resolved = json.loads((p / "resolved.json").read_text())
    assert resolved["backends"][0]["options"]["read_timeout_s"] == 10.0  # defaults filled in
    for line in (p / "cases.jsonl").read_text().splitlines():
        json.loads(line)
