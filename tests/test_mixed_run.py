"""run_mixed: three phases, interference ratios, and either side failing without losing the
other side's figures."""

from __future__ import annotations

from collections.abc import Generator

import pytest

pytest.importorskip("numpy")
pytest.importorskip("cv2")

from bench.backends.base import (
    Backend,
    Capabilities,
    GenerationRequest,
    GenerationStats,
    ModelInfo,
    ModelRef,
    TokenEvent,
)
from bench.clock import RealClock, VirtualClock
from bench.errors import UserError
from bench.vision.config import (
    GeneratedSource,
    HogDetectorOptions,
    MockDetectorOptions,
    MockFault,
    VisionOptions,
)
from bench.vision.llm_side import LLMSideResult
from bench.vision.mixed import run_mixed
from bench.vision.report import render_mixed_table

CLOCK = RealClock()


def sleepy_llm(seconds: float = 0.6, tps: float = 10.0) -> LLMSideResult:
    t0 = CLOCK.now()
    CLOCK.sleep(seconds)
    return LLMSideResult(gen_tps_median=tps, prompt_tps_median=100.0, ttft_median=0.1, n=1,
                         t_start=t0, t_end=CLOCK.now())


def vision(fault: MockFault | None = None, **kw: object) -> VisionOptions:
    det = MockDetectorOptions(type="mock", latency_ms=10, jitter_ms=0, fault=fault,
                              shared_slowdown=2.0, device="npu")
    return VisionOptions(source=GeneratedSource(width=64, height=48, fps=200), detector=det,
                         **kw)


def test_three_phases_give_figures_and_interference() -> None:
    out = run_mixed(vision(), sleepy_llm, clock=CLOCK, placement="npu+npu", llm_device="npu",
                    vision_alone_s=0.5, settle_s=0.1)
    va, vm = out["vision"]["alone"], out["vision"]["mixed"]
    assert va["fps"]["value"] > 0 and vm["fps"]["value"] > 0
    assert va["fps"]["unit"] == "frames/s" and va["fps"]["n"] == va["frames"]
    # the simulated detector is twice as slow while the LLM shares its device
    assert vm["latency_median"]["value"] == pytest.approx(20.0, rel=0.5)
    assert va["latency_median"]["value"] == pytest.approx(10.0, rel=0.5)
    assert out["interference"]["vision_fps"]["value"] < 1.0
    assert out["interference"]["llm_gen_tps"]["value"] == pytest.approx(1.0)
    assert out["simulated"] == {"vision": True, "llm": False}
    assert out["failures"] == []
    assert set(out["phases"]) == {"vision_alone", "llm_alone", "mixed"}


def test_the_llm_side_is_told_while_vision_shares_its_device() -> None:
    calls: list[object] = []
    seen: list[bool] = []

    def tell(active: object) -> None:
        calls.append(active)

    def llm() -> LLMSideResult:
        active = calls[-1] if calls else None
        seen.append(callable(active) and active())  # type: ignore[operator]
        return sleepy_llm(0.3)

    run_mixed(vision(), llm, clock=CLOCK, placement="npu+npu", llm_device="npu",
              vision_alone_s=0.3, settle_s=0.1, llm_co_tenant=tell)
    # phase (b) alone: not told; phase (c): told, the vision process running; then None
    assert seen == [False, True]
    assert len(calls) == 2 and callable(calls[0]) and calls[1] is None
    assert calls[0]() is False  # type: ignore[operator]  # the vision process has stopped
    calls.clear()
    seen.clear()
    run_mixed(vision(), llm, clock=CLOCK, placement="npu+cpu", llm_device="cpu",
              vision_alone_s=0.3, settle_s=0.1, llm_co_tenant=tell)
    assert seen == [False, False] and calls == []  # another device: never told


def test_an_undeclared_llm_device_is_unknown_not_guessed() -> None:
    out = run_mixed(vision(), sleepy_llm, clock=CLOCK, placement="npu+server",
                    llm_device="unknown", vision_alone_s=0.3, settle_s=0.1)
    assert out["llm_device"] == "unknown" and out["same_device"] is None
    # the simulated detector is not slowed on a guess
    assert out["vision"]["mixed"]["latency_median"]["value"] == pytest.approx(
        out["vision"]["alone"]["latency_median"]["value"], rel=0.5)
    row = render_mixed_table([out]).splitlines()[2]
    assert [c.strip() for c in row.strip("|").split("|")][2] == "unknown"
    assert "LLM unknown: the backend did not declare where it runs" in render_mixed_table([out])


def test_vision_segfault_during_the_llm_is_recorded_and_llm_figures_kept() -> None:
    out = run_mixed(vision(MockFault(kind="segfault", after_frames=10)), sleepy_llm,
                    clock=CLOCK, placement="npu+npu", llm_device="npu", vision_alone_s=0.3,
                    settle_s=0.0)
    vision_failures = [f for f in out["failures"] if f["side"] == "vision"]
    assert {f["phase"] for f in vision_failures} == {"vision_alone", "mixed"}
    assert all(f["kind"] == "crash" and "SIGSEGV" in f["message"] for f in vision_failures)
    assert all(f["t_in_phase_s"] is not None and f["t_in_phase_s"] >= 0
               for f in vision_failures)
    assert out["llm"]["mixed"]["ok"] and out["llm"]["mixed"]["gen_tps_median"] == 10.0
    assert out["vision"]["mixed"]["frames"] >= 0  # figures up to the crash, not an exception
    assert "signal" in out["vision"]["mixed"]["device_released"]
    assert "vision crash" in render_mixed_table([out])


def test_vision_hang_is_killed_and_the_run_goes_on() -> None:
    opts = vision(MockFault(kind="hang", after_frames=10), heartbeat_timeout_s=0.5)
    out = run_mixed(opts, lambda: sleepy_llm(1.0), clock=CLOCK, placement="npu+cpu",
                    llm_device="cpu", vision_alone_s=0.3, settle_s=0.0)
    kinds = {(f["side"], f["phase"], f["kind"]) for f in out["failures"]}
    assert ("vision", "mixed", "hang") in kinds
    assert out["llm"]["mixed"]["ok"] is True


def test_llm_failure_keeps_the_vision_figures() -> None:
    def broken() -> LLMSideResult:
        CLOCK.sleep(0.3)
        raise RuntimeError("KV-Cache is already in use by another model!")

    out = run_mixed(vision(), broken, clock=CLOCK, placement="npu+npu", llm_device="npu",
                    vision_alone_s=0.3, settle_s=0.1)
    llm_failures = [f for f in out["failures"] if f["side"] == "llm"]
    assert [f["phase"] for f in llm_failures] == ["llm_alone", "mixed"]
    assert "KV-Cache" in llm_failures[1]["message"]
    assert out["vision"]["mixed"]["fps"]["value"] > 0
    assert out["interference"]["llm_gen_tps"]["value"] is None


def test_hog_on_generated_frames_gives_real_fps() -> None:
    opts = VisionOptions(source=GeneratedSource(width=320, height=240, fps=30),
                         detector=HogDetectorOptions(type="hog"))
    out = run_mixed(opts, lambda: sleepy_llm(0.6), clock=CLOCK, placement="cpu+cpu",
                    llm_device="cpu", vision_alone_s=0.6, settle_s=0.1)
    assert out["vision"]["alone"]["fps"]["value"] > 0
    assert out["vision"]["alone"]["latency_p99"]["value"] > 0
    assert out["simulated"]["vision"] is False
    assert "simulated" not in out["vision"]["alone"]["fps"]


def test_mixed_mode_needs_the_real_clock() -> None:
    with pytest.raises(UserError, match="real clock"):
        run_mixed(vision(), sleepy_llm, clock=VirtualClock(), placement="x", vision_alone_s=0.1)


# ---- the LLM side from a Backend -------------------------------------------------------------


class ScriptedBackend(Backend):
    """A real Backend subclass on a virtual clock: 0.5 s to the first token, then 0.1 s each."""

    name = "scripted"
    capabilities = Capabilities(simulated=True)

    def load(self, model: ModelRef) -> ModelInfo:
        return ModelInfo(weights="simulated")

    def generate(self, request: GenerationRequest) -> Generator[TokenEvent, None, GenerationStats]:
        t0 = self.clock.now()
        self.clock.sleep(0.5)
        for _ in range(request.max_tokens):
            yield TokenEvent(self.clock.now())
            self.clock.sleep(0.1)
        return GenerationStats(t0, request.prompt_tokens, "exact", request.max_tokens, "exact")

    def close(self) -> None:
        pass


