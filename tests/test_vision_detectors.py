"""Detectors: HOG on generated frames, the mock profile, YOLO NMS parsing, Hailo InferModel."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("cv2")

from bench.clock import VirtualClock  # noqa: E402
from bench.errors import BackendUnavailable, UserError  # noqa: E402
from bench.vision.config import (  # noqa: E402
    GeneratedSource,
    HailoDetectorOptions,
    HogDetectorOptions,
    MockDetectorOptions,
    MockFault,
    OnnxDetectorOptions,
)
from bench.vision.detectors import make_detector  # noqa: E402
from bench.vision.detectors.nms import decode_yolov8, parse_hailo_nms  # noqa: E402
from bench.vision.frames import make_source  # noqa: E402
from bench.vision.loop import run_vision_loop  # noqa: E402
from bench.vision.stats import summarize  # noqa: E402

FAKES = Path(__file__).parent / "fakes"


def test_hog_finds_the_generated_people() -> None:
    src = make_source(GeneratedSource(width=640, height=480, seed=0), VirtualClock())
    src.open()
    det = make_detector(HogDetectorOptions(type="hog"))
    info = det.load()
    assert info["opencv"].startswith("4.")
    found = det.detect(src.render(10))
    assert len(found) >= 1
    for d in found:
        assert 0 <= d.x0 < d.x1 <= 640 + 16 and 0 <= d.y0 < d.y1 <= 480 + 16
        assert isinstance(d.score, float) and d.label == 0


def test_hog_resize_scales_boxes_back() -> None:
    src = make_source(GeneratedSource(width=640, height=480, seed=0), VirtualClock())
    src.open()
    det = make_detector(HogDetectorOptions(type="hog", resize_width=320))
    det.load()
    found = det.detect(src.render(10))
    assert found and max(d.x1 for d in found) > 320  # back in 640-wide frame pixels


def test_mock_profile_gives_exact_figures_on_a_virtual_clock() -> None:
    clock = VirtualClock(0.0)
    src = make_source(GeneratedSource(width=64, height=48, fps=30), clock)
    src.open()
    det = make_detector(MockDetectorOptions(type="mock", latency_ms=50, jitter_ms=0,
                                            detections=3), clock=clock)
    assert det.load()["simulated"] is True
    records = []
    run_vision_loop(src, det, clock, should_stop=lambda: clock.now() >= 1.0,
                    on_record=records.append)
    s = summarize(records, 0.0, 1.0 + 1e-9, simulated=True)  # 20 x 0.05 s in floats
    assert s["fps"]["value"] == pytest.approx(20.0)  # 50 ms a frame, the source is faster
    assert s["fps"]["simulated"] is True and s["fps"]["unit"] == "frames/s"
    assert s["latency_median"]["value"] == pytest.approx(50.0)
    assert s["latency_p99"]["value"] == pytest.approx(50.0)
    assert s["detections_per_frame"]["value"] == 3
    # 30 frames delivered in the second, 20 taken: the rest dropped
    assert s["dropped"]["value"] + s["frames"] == pytest.approx(30, abs=1)



def test_fps_keeps_its_per_second_samples() -> None:
    from bench.vision.loop import FrameRecord

    # 3 s window: 5 frames end in the first second, 3 in the second, 4 in the third
    ends = [0.1, 0.2, 0.3, 0.4, 0.5, 1.1, 1.5, 1.9, 2.2, 2.4, 2.6, 2.8]
    records = [FrameRecord(index=i, t_frame=t - 0.05, t_start=t - 0.04, t_end=t, detections=1,
                           dropped_before=0) for i, t in enumerate(ends)]
    fps = summarize(records, 0.0, 3.0)["fps"]
    assert fps["per_second"] == [5.0, 3.0, 4.0]
    assert (fps["per_second_min"], fps["per_second_max"]) == (3.0, 5.0)
    assert fps["value"] == pytest.approx(12 / 3.0)


def test_mock_slows_down_while_an_llm_shares_its_device() -> None:
    clock = VirtualClock(0.0)
    det = make_detector(MockDetectorOptions(type="mock", latency_ms=40, jitter_ms=0,
                                            shared_slowdown=1.5), clock=clock)
    frame = np.zeros((48, 64, 3), dtype=np.uint8)
    det.detect(frame)
    assert clock.now() == pytest.approx(0.040)
    det.set_shared_load(True)
    det.detect(frame)
    assert clock.now() == pytest.approx(0.100)


def test_mock_fatal_faults_refuse_to_act_outside_the_worker() -> None:
    det = make_detector(MockDetectorOptions(type="mock", fault=MockFault(kind="segfault")),
                        clock=VirtualClock())
    with pytest.raises(RuntimeError, match="only inside the vision worker"):
        det.detect(np.zeros((4, 4, 3), dtype=np.uint8))


def test_unknown_mock_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of"):
        MockDetectorOptions(type="mock", profile="yolo-on-a-toaster")


# ---- NMS output parsing ---------------------------------------------------------------------


def test_parse_hailo_nms_all_three_shapes() -> None:
    person = np.array([[0.1, 0.2, 0.5, 0.4, 0.9], [0.0, 0.0, 0.1, 0.1, 0.1]], dtype=np.float32)
    car = np.array([[0.5, 0.5, 1.0, 1.0, 0.8]], dtype=np.float32)
    hailo = [person, car, np.zeros((0, 5), dtype=np.float32)]
    got = parse_hailo_nms(hailo, 200, 100, threshold=0.5)
    assert [(d.label, d.score) for d in got] == [(0, pytest.approx(0.9)), (1, pytest.approx(0.8))]
    assert (got[0].x0, got[0].y0, got[0].x1, got[0].y1) == pytest.approx((40, 10, 80, 50))

    tf = np.zeros((3, 5, 4), dtype=np.float32)
    tf[0, :, :2] = person.T
    tf[1, :, :1] = car.T
    assert parse_hailo_nms(tf, 200, 100, 0.5) == got

    raw = np.concatenate([[2], person.ravel(), [1], car.ravel(), [0], np.zeros(20)])
    assert parse_hailo_nms(raw.astype(np.float32), 200, 100, 0.5, num_classes=3) == got
    assert parse_hailo_nms(raw.astype(np.float32), 200, 100, 0.5) == got


def test_parse_hailo_nms_refuses_a_count_past_the_buffer() -> None:
    with pytest.raises(ValueError, match="past the buffer end"):
        parse_hailo_nms(np.array([9, 0.1, 0.2], dtype=np.float32), 10, 10, 0.5)


def test_decode_yolov8_keeps_best_box_after_nms() -> None:
    out = np.zeros((1, 4 + 2, 3), dtype=np.float32)
    out[0, :4, 0] = [100, 100, 50, 80]  # cx, cy, w, h in input pixels
    out[0, 4, 0] = 0.9
    out[0, :4, 1] = [102, 101, 50, 80]  # overlapping duplicate, lower score
    out[0, 4, 1] = 0.7
    out[0, 5, 2] = 0.1  # below threshold
    got = decode_yolov8(out, 0.25, scale_x=2.0, scale_y=1.0)
    assert len(got) == 1
    assert (got[0].x0, got[0].y0, got[0].x1, got[0].y1) == pytest.approx((150, 60, 250, 140))


def test_onnx_detector_needs_its_model_file(tmp_path: Path) -> None:
    det = make_detector(OnnxDetectorOptions(type="onnx", model=str(tmp_path / "yolo.onnx")))
    with pytest.raises(UserError, match=r"yolo\.onnx"):
        det.load()


# ---- Hailo through the InferModel API (the fake hailo_platform) ------------------------------


def write_fake_hef(path: Path, **spec: object) -> Path:
    path.write_text(json.dumps({"fake_hef": "infer", "input_shape": [64, 64, 3], "classes": 3,
                                "max_boxes": 10, **spec}))
    return path


@pytest.fixture
def fake_hailo(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(FAKES))
    for name in [m for m in sys.modules if m.split(".")[0] == "hailo_platform"]:
        monkeypatch.delitem(sys.modules, name)
    import hailo_platform
    from hailo_platform import _fake, _infer

    _fake.reset()
    if not hasattr(hailo_platform, "FormatType"):  # the real package exports it at top level
        monkeypatch.setattr(hailo_platform, "FormatType", _infer.FormatType, raising=False)
    return _fake


def test_hailo_detector_runs_the_infer_model(tmp_path: Path, fake_hailo) -> None:
    hef = write_fake_hef(tmp_path / "yolo.hef", boxes=[[0, 0.9, 0.1, 0.2, 0.5, 0.4],
                                                       [2, 0.2, 0.0, 0.0, 0.1, 0.1]])
    det = make_detector(HailoDetectorOptions(type="hailo", hef=str(hef), batch_size=2))
    info = det.load()
    assert info["input_shape"] == [64, 64, 3] and info["group_id"] == "SHARED"
    found = det.detect(np.zeros((100, 200, 3), dtype=np.uint8))
    assert [(d.label, d.score) for d in found] == [(0, pytest.approx(0.9))]
    assert (found[0].x0, found[0].y0) == pytest.approx((40, 10))  # scaled to the frame
    vdevice_calls = [kw for name, kw in fake_hailo.STATE.calls if name == "VDevice"]
    assert vdevice_calls[0]["group_id"] == "SHARED"
    assert "create_infer_model" in fake_hailo.STATE.names()
    det.close()
    det.close()
    assert fake_hailo.STATE.open_vdevices == 0


def test_hailo_detector_timeout_surfaces(tmp_path: Path, fake_hailo) -> None:
    hef = write_fake_hef(tmp_path / "yolo.hef", fail={"kind": "timeout", "after_runs": 1})
    det = make_detector(HailoDetectorOptions(type="hailo", hef=str(hef)))
    det.load()
    det.detect(np.zeros((64, 64, 3), dtype=np.uint8))
    with pytest.raises(Exception, match="timeout"):
        det.detect(np.zeros((64, 64, 3), dtype=np.uint8))
    det.close()


def test_hailo_detector_without_hailort_names_the_apt_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "hailo_platform", None)
    det = make_detector(HailoDetectorOptions(type="hailo", hef=str(write_fake_hef(
        tmp_path / "y.hef"))))
    with pytest.raises(BackendUnavailable, match="hailo-h10-all"):
        det.load()
