"""The four placements through the real runner, on simulated devices with a mock meter:
same-device placements slow both sides down by their profiles' factors, cross-device ones do
not, and every mixed row carries power over the mixed window, down to the Markdown table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("numpy")
pytest.importorskip("cv2")

from bench.backends.mock.profile import load_profile
from bench.report.markdown import render
from bench.runner.session import start_run

LLM_SLOWDOWN = {"npu": 1.5, "cpu": 2.0}
"""Contention factors of the two test profiles (different, so a mix-up shows)."""

DETECTOR = ("{type: mock, profile: yolov8s-%s, latency_ms: 20, jitter_ms: 0, power_w: 0.5, "
            "shared_slowdown: 2.0}")

CONFIG = """
name: contention
repetitions: 2
warmup: 0
idle_s: 0
models: [{name: m1}]
backends:
  - {name: npu, type: mock, options: {profile: %(npu)s, jitter: 0}}
  - {name: cpu, type: mock, options: {profile: %(cpu)s, jitter: 0}}
workloads:
  - {name: w, prompt_tokens: 10, gen_tokens: 11}
meters:
  - {type: mock, rate_hz: 50, noise_w: 0}
mixed:
  source: {kind: generated, width: 64, height: 48, fps: null}
  vision_alone_s: 0.5
  settle_s: 0.2
  placements:
    - {name: vision-npu+llm-npu, detector: %(det_npu)s, backend: npu}
    - {name: vision-npu+llm-cpu, detector: %(det_npu)s, backend: cpu}
    - {name: vision-cpu+llm-npu, detector: %(det_cpu)s, backend: npu}
    - {name: vision-cpu+llm-cpu, detector: %(det_cpu)s, backend: cpu}
"""


def profile_on(fast_profile: Path, runs_on: str) -> Path:
    p = fast_profile.with_name(f"fast-{runs_on}.yaml")
    p.write_text(fast_profile.read_text().replace("name: fast", f"name: fast-{runs_on}")
                 + f"runs_on: {runs_on}\ncontention: {{slowdown: {LLM_SLOWDOWN[runs_on]}, "
                 "assumption: test factor}\n")
    return p


def _records(tmp_path: Path, fast_profile: Path) -> tuple[dict[str, dict], object]:
    npu, cpu = profile_on(fast_profile, "npu"), profile_on(fast_profile, "cpu")
    cfg = tmp_path / "contention.yaml"
    cfg.write_text(CONFIG % {"npu": npu, "cpu": cpu, "det_npu": DETECTOR % "npu",
                             "det_cpu": DETECTOR % "cpu"})
    result = start_run(cfg, output_dir=tmp_path / "out", quiet=True)
    return {r["case_id"]: r for r in result.run_dir.cases()}, result


@pytest.mark.timeout(300)
def test_four_placements_show_contention_only_on_a_shared_device(
        tmp_path: Path, fast_profile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import simdevice as simdev

    monkeypatch.setattr(simdev, "ACTIVE", [])  # only this run's simulated devices draw power
    recs, result = _records(tmp_path, fast_profile)
    assert result.exit_code == 0  # type: ignore[attr-defined]
    profile = load_profile(str(profile_on(fast_profile, "npu")))
    busy_w, idle_w = profile.busy_w, profile.idle_w

    # ordinary cases on the real clock: the mock meter sees the device busy while generating
    for dev in ("npu", "cpu"):
        plain = recs[f"m1/{dev}/w"]
        assert plain["backend"]["runs_on"] == dev
        assert plain["power"][0]["generation"]["mean_w"] == pytest.approx(busy_w, rel=0.02)

    for dev_v in ("npu", "cpu"):
        for dev_l in ("npu", "cpu"):
            rec = recs[f"m1/{dev_l}/w@vision-{dev_v}+llm-{dev_l}"]
            m = rec["mixed"]
            assert rec["status"] == "ok" and "simulated" in rec["labels"]
            assert (m["vision_device"], m["llm_device"]) == (dev_v, dev_l)
            assert m["same_device"] is (dev_v == dev_l)
            llm = m["interference"]["llm_gen_tps"]["value"]
            fps = m["interference"]["vision_fps"]["value"]
            if dev_v == dev_l:  # both slowed by their own profile's factor
                assert llm == pytest.approx(1 / LLM_SLOWDOWN[dev_l], rel=0.2)
                assert fps == pytest.approx(1 / 2.0, rel=0.25)
            else:  # cross-device: no interference beyond timing noise
                assert llm == pytest.approx(1.0, rel=0.15)
                assert fps == pytest.approx(1.0, rel=0.2)

            # power over each phase: mean W of the mock meter's samples, with their count
            power = m["power"]
            mixed, alone = power["mixed"][0], power["llm_alone"][0]
            window = m["phases"]["mixed"][1] - m["phases"]["mixed"][0]
            assert mixed["unit"] == "W" and mixed["simulated"] is True
            assert mixed["source"] == "mock"
            assert mixed["n"] == pytest.approx(window * 50, abs=2)
            assert alone["value"] == pytest.approx(busy_w, rel=0.05)  # the LLM alone
            if dev_v == dev_l:  # one device, one budget: capped at the LLM's busy watts
                assert mixed["value"] == pytest.approx(busy_w, rel=0.05)
            else:  # the detector adds its power_w while it works (most of the window)
                assert 0.25 * 0.5 < mixed["value"] - alone["value"] <= 0.5 + 0.01
            vision_alone = power["vision_alone"][0]["value"]  # the LLM's device idles
            assert idle_w + 0.25 * 0.5 < vision_alone <= idle_w + 0.5 + 0.01

    # the Markdown mixed table: one row per placement, W with its sample count, simulated
    md = render(list(recs.values()), "contention")
    rows = [line for line in md.splitlines() if line.startswith("| vision-")]
    assert len(rows) == 4
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert "(simulated: vision, llm)" in cells[0]
        mixed_w = recs[next(k for k in recs if k.endswith("@" + cells[0].split(" ")[0]))][
            "mixed"]["power"]["mixed"][0]
        assert cells[10] == f"{mixed_w['value']:.1f} W, n={mixed_w['n']} (mock, simulated)"
        assert re.fullmatch(r"\d+\.\d W, n=\d+ \(mock, simulated\)", cells[10])
    assert "contention factor its profile states as an assumption" in md
    assert "\n\n## Mixed mode" in md  # not glued to the legend above
