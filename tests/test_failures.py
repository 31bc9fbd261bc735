"""Failure injection on the simulated device: the failing case is recorded, the run goes on."""

from __future__ import annotations

from bench.runner.session import start_run

BASE = """
name: fail
clock: virtual
repetitions: 2
warmup: 0
models:
  - {name: Qwen2-1.5B-Instruct}
  - {name: Qwen2.5-1.5B-Instruct}
backends:
  - name: npu
    type: mock
    options: {profile: hailo10h, jitter: 0, read_timeout_s: 30, fail: %s}
workloads:
  - {name: a, prompt_tokens: 16, gen_tokens: 8}
  - {name: b, prompt_tokens: 16, gen_tokens: 8}
"""


def _run(write_config, tmp_path, fail: str):
    result = start_run(write_config(BASE % fail), output_dir=tmp_path, quiet=True)
    return result, {r["case_id"]: r for r in result.run_dir.cases()}


def test_fail_at_load_fails_that_models_cases_only(write_config, tmp_path):
    result, recs = _run(write_config, tmp_path,
                        "{at: load, models: [Qwen2-1.5B-Instruct], message: no device}")
    assert result.exit_code == 1
    assert len(recs) == 4
    for w in ("a", "b"):
        bad = recs[f"Qwen2-1.5B-Instruct/npu/{w}"]
        assert bad["status"] == "failed"
        assert bad["error"]["phase"] == "load"
        assert "no device" in bad["error"]["message"]
        assert bad["labels"] == ["simulated"]
        assert recs[f"Qwen2.5-1.5B-Instruct/npu/{w}"]["status"] == "ok"


def test_fail_at_token_keeps_finished_reps(write_config, tmp_path):
    # generations count from 1 per case: warm-up 0, so rep 0 is call 1, rep 1 is call 2
    result, recs = _run(write_config, tmp_path, "{at: token, token: 3, rep: 2}")
    bad = recs["Qwen2-1.5B-Instruct/npu/a"]
    assert bad["status"] == "failed"
    assert bad["error"]["phase"] == "rep" and bad["error"]["rep"] == 1
    assert len(bad["reps"]) == 1 and bad["summary"]["gen_tps"]["n"] == 1
    assert "failing at token 3" in bad["error"]["message"]
    assert result.exit_code == 1


def test_fail_rep_counts_per_case_not_per_model_load(write_config, tmp_path):
    """Workloads a and b share one model load: rep 2 fails in each case, not only in a."""
    _result, recs = _run(write_config, tmp_path, "{at: token, token: 1, rep: 2}")
    assert len(recs) == 4
    for case_id, rec in recs.items():
        assert rec["status"] == "failed", case_id
        assert rec["error"]["rep"] == 1 and len(rec["reps"]) == 1, case_id


def test_hang_times_out_on_the_read_timeout(write_config, tmp_path):
    _result, recs = _run(write_config, tmp_path,
                        "{at: hang, token: 2, models: [Qwen2.5-1.5B-Instruct]}")
    bad = recs["Qwen2.5-1.5B-Instruct/npu/a"]
    assert bad["status"] == "failed"
    assert bad["error"]["type"] == "GenerationTimeout"
    assert "read timeout of 30.0 s" in bad["error"]["message"]
    # the hang cost exactly the read timeout on the virtual clock
    assert bad["error"]["elapsed_s"] >= 30.0
    assert recs["Qwen2-1.5B-Instruct/npu/a"]["status"] == "ok"


def test_missing_backend_library_fails_cases_not_run(write_config, tmp_path):
    from bench.registry import BACKENDS, BackendEntry

    entry = BACKENDS.get("mock")
    BACKENDS.register("mock", BackendEntry(
        entry.options, entry.artifact, "bench.backends.no_such_module:Nope", entry.summary),
        replace=True)
    try:
        _result, recs = _run(write_config, tmp_path, "null")
    finally:
        BACKENDS.register("mock", entry, replace=True)
    assert all(r["status"] == "failed" for r in recs.values())
    assert all(r["error"]["phase"] == "load" for r in recs.values())
    assert "No module named" in recs["Qwen2-1.5B-Instruct/npu/a"]["error"]["message"]
