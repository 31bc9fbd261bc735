"""Mixed cases through the runner: the `mixed:` section gives one case per placement."""

from __future__ import annotations

import pytest

from bench.runner.session import start_run

CONFIG = """
name: mixed-test
repetitions: 2
warmup: 1
models: [{name: m1}]
backends:
  - {name: sim, type: mock, options: {profile: %s}}
workloads:
  - {name: w1, prompt_tokens: 10, gen_tokens: 20}
mixed:
  source: {kind: generated, width: 160, height: 120, fps: 20}
  vision_alone_s: 0.5
  settle_s: 0.2
  placements:
    - {name: vis-mock, detector: {type: mock, profile: yolov8s-npu}, backend: sim}
    - {name: vis-crash, backend: sim,
       detector: {type: mock, profile: yolov8s-npu, fault: {kind: segfault, after_frames: 3}}}
"""


@pytest.mark.timeout(180)
def test_mixed_cases_are_recorded_and_reported(write_config, tmp_path, cli, fast_profile):
    result = start_run(write_config(CONFIG % fast_profile), output_dir=tmp_path / "out", quiet=True)
    recs = {r["case_id"]: r for r in result.run_dir.cases()}
    assert sorted(recs) == ["m1/sim/w1", "m1/sim/w1@vis-crash", "m1/sim/w1@vis-mock"]
    ok = recs["m1/sim/w1@vis-mock"]
    assert ok["status"] == "ok" and "simulated" in ok["labels"]
    assert ok["mixed"]["simulated"] == {"vision": True, "llm": True}
    mixed = ok["mixed"]
    assert mixed["llm"]["alone"]["n"] == 2 and mixed["llm"]["mixed"]["n"] == 2
    crash = recs["m1/sim/w1@vis-crash"]
    assert crash["status"] == "failed" and crash["error"]["phase"] == "mixed"
    assert "vision" in crash["error"]["type"]
    # the LLM side's figures survive the vision crash
    assert crash["mixed"]["llm"]["mixed"]["n"] == 2
    assert result.exit_code == 1
    code, out, _ = cli("report", result.run_dir.path, "--no-write")
    assert code == 0
    assert "## Mixed mode" in out and "vis-mock" in out and "vis-crash" in out



def test_mixed_simulated_label_follows_the_sides():
    from bench.runner.record import mixed_is_simulated

    assert mixed_is_simulated({"simulated": {"vision": False, "llm": False}}) is False
    assert mixed_is_simulated({"simulated": {"vision": True, "llm": False}}) is True
    assert mixed_is_simulated({}) is False
