"""The vision process: figures come back; a segfault, an abort, a hang or an exception is
recorded as the vision side's failure with its time, and the frames until then are kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("numpy")
pytest.importorskip("cv2")

from bench.clock import RealClock, VirtualClock
from bench.errors import UserError
from bench.vision.config import (
    GeneratedSource,
    HailoDetectorOptions,
    MockDetectorOptions,
    MockFault,
    VideoSource,
    VisionOptions,
)
from bench.vision.worker import VisionWorker

SMALL = GeneratedSource(width=64, height=48, fps=100)


def mock_vision(fault: MockFault | None = None, latency_ms: float = 5,
                **kw: object) -> VisionOptions:
    det = MockDetectorOptions(type="mock", latency_ms=latency_ms, jitter_ms=0, fault=fault)
    return VisionOptions(source=SMALL, detector=det, **kw)


def run_for(worker: VisionWorker, seconds: float) -> None:
    clock = RealClock()
    t0 = clock.now()
    while clock.now() - t0 < seconds and worker.alive:
        clock.sleep(0.05)


def test_worker_reports_frames_and_stops_cleanly() -> None:
    with VisionWorker(mock_vision()) as worker:
        assert worker.start()
        run_for(worker, 0.6)
        run = worker.stop()
    assert run.failure is None and run.ended == "stopped"
    assert len(run.records) > 10
    assert run.info["simulated"] is True and run.info["device"] == "npu"
    assert all(r.t_end >= r.t_start >= r.t_frame - 1e-6 for r in run.records)
    assert "exit code 0" in run.device_released


@pytest.mark.parametrize("kind, signal_name", [("segfault", "SIGSEGV"), ("abort", "SIGABRT")])
def test_worker_crash_is_recorded_and_frames_kept(kind: str, signal_name: str) -> None:
    clock = RealClock()
    t_start = clock.now()
    with VisionWorker(mock_vision(MockFault(kind=kind, after_frames=20))) as worker:
        assert worker.start()
        run_for(worker, 5.0)
        run = worker.stop()
    assert run.failure is not None and run.failure.kind == "crash"
    assert signal_name in run.failure.message
    assert t_start < run.failure.t <= clock.now()
    assert run.ended == "failed"
    # the frames before the crash; those of its last 0.1 s may be lost with the process
    assert 1 <= len(run.records) <= 20
    assert signal_name[3:] in run.device_released or "signal" in run.device_released


def test_worker_hang_is_killed_after_the_heartbeat_timeout() -> None:
    opts = mock_vision(MockFault(kind="hang", after_frames=5), latency_ms=50,
                       heartbeat_timeout_s=1.0)
    with VisionWorker(opts) as worker:
        assert worker.start()
        run_for(worker, 6.0)
        run = worker.stop()
    assert run.failure is not None and run.failure.kind == "hang"
    assert "no heartbeat" in run.failure.message and "killed" in run.failure.message
    assert run.failure.exitcode is not None and run.failure.exitcode < 0  # SIGKILL
    assert 2 <= len(run.records) <= 5  # sent at most 0.1 s after they finished


def test_worker_exception_is_recorded_with_its_message() -> None:
    with VisionWorker(mock_vision(MockFault(kind="raise", after_frames=3))) as worker:
        assert worker.start()
        run_for(worker, 5.0)
        run = worker.stop()
    assert run.failure is not None and run.failure.kind == "error"
    assert "simulated detector failure" in run.failure.message
    assert len(run.records) == 3


def test_bad_source_path_is_a_user_error(tmp_path: Path) -> None:
    opts = VisionOptions(source=VideoSource(kind="video", path=str(tmp_path / "none.mp4")),
                         detector=MockDetectorOptions(type="mock"))
    with VisionWorker(opts) as worker, pytest.raises(UserError, match=r"none\.mp4"):
        worker.start()


def test_missing_runtime_is_a_start_failure_not_an_exception(tmp_path: Path) -> None:
    hef = tmp_path / "yolo.hef"
    hef.write_text(json.dumps({"fake_hef": "infer"}))
    opts = VisionOptions(source=SMALL, detector=HailoDetectorOptions(type="hailo", hef=str(hef)))
    with VisionWorker(opts) as worker:  # no hailo_platform on this machine's path
        assert worker.start() is False
        run = worker.stop()
    assert run.failure is not None and run.failure.kind == "start"
    assert "hailo-h10-all" in run.failure.message


def test_virtual_clock_is_refused() -> None:
    with pytest.raises(UserError, match="real clock"):
        VisionWorker(mock_vision(), clock=VirtualClock())


def test_hailo_detector_segfault_in_the_worker(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fakes = Path(__file__).parent / "fakes"
    monkeypatch.syspath_prepend(str(fakes))  # the spawned process gets this sys.path too
    import importlib

    hp = importlib.import_module("hailo_platform")
    if not hasattr(hp, "FormatType"):
        pytest.skip("the fake hailo_platform does not export FormatType at top level yet "
                    "(the real one does): add it from hailo_platform._infer")
    hef = tmp_path / "yolo.hef"
    hef.write_text(json.dumps({"fake_hef": "infer", "input_shape": [32, 32, 3], "classes": 2,
                               "boxes": [[0, 0.9, 0.1, 0.1, 0.5, 0.5]], "latency_ms": 5,
                               "fail": {"kind": "segfault", "after_runs": 8}}))
    opts = VisionOptions(source=SMALL, detector=HailoDetectorOptions(type="hailo", hef=str(hef)))
    with VisionWorker(opts) as worker:
        assert worker.start()
        run_for(worker, 5.0)
        run = worker.stop()
    assert run.failure is not None and "SIGSEGV" in run.failure.message
    assert run.info["detector"]["group_id"] == "SHARED"
    assert all(r.detections == 1 for r in run.records)
