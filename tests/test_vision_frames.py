"""Frame sources: deterministic generated frames, the camera-like schedule, video, Picamera2."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
cv2 = pytest.importorskip("cv2")

from bench.clock import VirtualClock  # noqa: E402
from bench.errors import BackendUnavailable, UserError  # noqa: E402
from bench.vision.config import CameraSource, GeneratedSource, VideoSource  # noqa: E402
from bench.vision.frames import Pacer, make_source  # noqa: E402


def test_generated_frames_are_deterministic_and_move() -> None:
    opts = GeneratedSource(width=160, height=120, fps=30, people=2, seed=7)
    a, b = make_source(opts, VirtualClock()), make_source(opts, VirtualClock())
    a.open()
    b.open()
    f5 = a.render(5)
    assert f5.shape == (120, 160, 3) and f5.dtype == np.uint8
    assert np.array_equal(f5, b.render(5))
    assert not np.array_equal(f5, a.render(45))  # the figures walk
    other = make_source(GeneratedSource(width=160, height=120, seed=8), VirtualClock())
    other.open()
    assert not np.array_equal(f5, other.render(5))


def test_pacer_delivers_on_schedule_and_counts_dropped_frames() -> None:
    clock = VirtualClock(0.0)
    pacer = Pacer(10.0, clock)
    assert pacer.next() == (0, 0.0, 0)
    clock.advance(0.35)  # frames 1, 2 and 3 became due; only the newest is taken
    assert pacer.next() == (3, pytest.approx(0.3), 2)
    index, t, dropped = pacer.next()  # nothing new yet: waits for frame 4
    assert (index, dropped) == (4, 0)
    assert clock.now() == pytest.approx(0.4) and t == pytest.approx(0.4)


def test_unpaced_source_never_drops() -> None:
    clock = VirtualClock(0.0)
    src = make_source(GeneratedSource(width=64, height=48, fps=None), clock)
    src.open()
    frames = []
    for _ in range(3):
        frames.append(src.take())
        clock.advance(1.0)
    assert [f.index for f in frames] == [0, 1, 2]
    assert all(f.dropped_before == 0 for f in frames)


def _write_video(path: Path, n: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for i in range(n):
        img = np.full((48, 64, 3), i * 20, dtype=np.uint8)
        writer.write(img)
    writer.release()


def test_video_source_skips_dropped_frames_and_loops(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    _write_video(video, 5)
    clock = VirtualClock(0.0)
    src = make_source(VideoSource(kind="video", path=str(video), width=32, height=24), clock)
    src.open()
    first = src.take()
    assert first is not None and first.image.shape == (24, 32, 3)
    clock.advance(0.25)  # frames 1 and 2 due: frame 2 taken, 1 dropped
    second = src.take()
    assert second is not None and (second.index, second.dropped_before) == (2, 1)
    assert abs(int(second.image.mean()) - 40) < 6  # frame 2 of the file (value 40, MJPG lossy)
    clock.advance(0.5)  # past the end: the file starts again
    assert src.take() is not None
    src.close()


def test_video_source_without_loop_ends(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    _write_video(video, 3)
    clock = VirtualClock(0.0)
    src = make_source(VideoSource(kind="video", path=str(video), loop=False), clock)
    src.open()
    seen = 0
    while src.take() is not None:
        seen += 1
        clock.advance(0.1)
    assert seen == 3


def test_missing_video_is_a_user_error(tmp_path: Path) -> None:
    src = make_source(VideoSource(kind="video", path=str(tmp_path / "nope.mp4")), VirtualClock())
    with pytest.raises(UserError, match=r"nope\.mp4"):
        src.open()


def test_camera_without_picamera2_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)
    src = make_source(CameraSource(kind="camera"), VirtualClock())
    with pytest.raises(BackendUnavailable, match="python3-picamera2"):
        src.open()


def test_camera_uses_the_picamera2_api(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, object]] = []

    class Picamera2:
        def __init__(self, camera_num: int = 0) -> None:
            calls.append(("init", camera_num))

        def create_video_configuration(self, main: dict, controls: dict) -> dict:
            calls.append(("create_video_configuration", (main, controls)))
            return {"main": main, "controls": controls}

        def configure(self, config: dict) -> None:
            calls.append(("configure", config))

        def start(self) -> None:
            calls.append(("start", None))

        def capture_array(self, name: str = "main") -> object:
            calls.append(("capture_array", name))
            return np.zeros((48, 64, 4), dtype=np.uint8)

        def stop(self) -> None:
            calls.append(("stop", None))

        def close(self) -> None:
            calls.append(("close", None))

    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=Picamera2))
    clock = VirtualClock(0.0)
    src = make_source(CameraSource(kind="camera", width=64, height=48, fps=10), clock)
    src.open()
    assert src.take().image.shape == (48, 64, 3)  # XRGB padding dropped
    clock.advance(0.3)  # two frames went by while "busy"
    frame = src.take()
    assert frame.dropped_before == 2
    src.close()
    names = [c[0] for c in calls]
    assert names[:4] == ["init", "create_video_configuration", "configure", "start"]
    assert calls[1][1] == ({"size": (64, 48), "format": "RGB888"}, {"FrameRate": 10.0})
    assert names[-2:] == ["stop", "close"]
