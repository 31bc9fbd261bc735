"""Frame sources: generated frames, a video file, the Pi camera.

A source delivers frames on a schedule like a camera: at ``fps`` frames per second frame k is
due at ``t0 + k / fps``. ``take()`` returns the newest frame already due (waiting for the next
one if none is new); the frames that came and went since the previous ``take()`` are counted
as dropped. Images are ``uint8`` arrays of shape (height, width, 3) in OpenCV's B, G, R order.

numpy and OpenCV are imported by the functions that need them; Picamera2 only by the camera.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from bench.clock import Clock
from bench.common import JsonObject
from bench.errors import BackendUnavailable, UserError
from bench.vision.config import CameraSource, GeneratedSource, SourceOptions, VideoSource

if TYPE_CHECKING:
    from bench.vision.detectors import Image

SourceT = TypeVar("SourceT", GeneratedSource, VideoSource, CameraSource)


class _Capture(Protocol):
    """The part of OpenCV's ``cv2.VideoCapture`` a video source uses."""

    def isOpened(self) -> bool: ...
    def get(self, prop: int) -> float: ...
    def set(self, prop: int, value: float) -> bool: ...
    def grab(self) -> bool: ...
    def read(self) -> tuple[bool, Image | None]: ...
    def release(self) -> None: ...


class _Camera(Protocol):
    """The part of ``picamera2.Picamera2`` the camera source uses."""

    def capture_array(self, name: str) -> Image: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


@dataclass
class Frame:
    index: int
    t: float
    """Clock time the frame was due (scheduled sources) or captured (camera), seconds."""
    image: Image
    """numpy uint8 array (height, width, 3), B, G, R."""
    dropped_before: int = 0
    """Frames delivered since the previous take() and never taken."""


class Pacer:
    """The schedule of a source at ``fps`` (None: a new frame on every request)."""

    def __init__(self, fps: float | None, clock: Clock) -> None:
        self.fps = fps
        self.clock = clock
        self.t0: float | None = None
        self.last = -1

    def next(self) -> tuple[int, float, int]:
        """(index, due time, dropped before it); sleeps until a new frame is due."""
        now = self.clock.now()
        if self.t0 is None:
            self.t0 = now
        if self.fps is None:
            self.last += 1
            return self.last, now, 0
        due = math.floor((now - self.t0) * self.fps + 1e-9)
        if due <= self.last:
            self.clock.sleep(self.t0 + (self.last + 1) / self.fps - now)
            due = max(self.last + 1, math.floor((self.clock.now() - self.t0) * self.fps + 1e-9))
        dropped = due - self.last - 1
        self.last = due
        return due, self.t0 + due / self.fps, dropped


class FrameSource(ABC, Generic[SourceT]):
    """Base of the sources, generic in their options (``bench.vision.config``)."""

    kind: str

    def __init__(self, options: SourceT, clock: Clock) -> None:
        self.options: SourceT = options
        self.clock = clock

    @abstractmethod
    def open(self) -> None:
        """Open the file or camera, build what frames need. Raise UserError/BackendUnavailable."""

    @abstractmethod
    def take(self) -> Frame | None:
        """The newest frame due (waits for it); None when the source has ended."""

    def close(self) -> None:
        """Release the file or camera."""

    @abstractmethod
    def describe(self) -> JsonObject:
        """What to record: kind, size, fps, file."""


def _cv2() -> ModuleType:
    try:
        import cv2
    except ImportError:
        raise BackendUnavailable(
            "OpenCV is not installed: pip install 'opencv-python-headless>=4.8,<5' "
            "(or the pibench[vision] extra)"
        ) from None
    return cv2


class GeneratedFrames(FrameSource[GeneratedSource]):
    """Textured background and ``people`` upright figures walking on sinusoidal paths."""

    kind = "generated"

    def __init__(self, options: GeneratedSource, clock: Clock) -> None:
        super().__init__(options, clock)
        self.pacer = Pacer(options.fps, clock)
        self._background: Image | None = None
        self._people: list[dict[str, float]] = []

    def open(self) -> None:
        import numpy as np

        o = self.options
        rng = np.random.default_rng(o.seed)
        ys, xs = np.mgrid[0 : o.height, 0 : o.width]
        base = 90 + 60 * (ys / max(1, o.height - 1))
        noise = rng.integers(-18, 19, size=(o.height, o.width, 3))
        bg = np.clip(base[..., None] + noise + 10 * np.sin(xs / 23.0)[..., None], 0, 255)
        self._background = bg.astype(np.uint8)
        self._people = [
            {
                "x": float(rng.uniform(0.15, 0.85)),
                "y": float(rng.uniform(0.55, 0.8)),
                "amp": float(rng.uniform(0.05, 0.2)),
                "period": float(rng.uniform(3.0, 8.0)),
                "phase": float(rng.uniform(0, 2 * math.pi)),
                "height": float(rng.uniform(0.35, 0.6)),
                "shade": float(rng.uniform(10, 70)),
            }
            for _ in range(o.people)
        ]

    def render(self, index: int) -> Image:
        """Frame ``index`` (the same image for the same options and index)."""
        assert self._background is not None, "open() first"
        cv2 = _cv2()
        o = self.options
        img = self._background.copy()
        t = index / (o.fps or 30.0)
        for p in self._people:
            h = p["height"] * o.height
            cx = (p["x"] + p["amp"] * math.sin(2 * math.pi * t / p["period"] + p["phase"]))
            cx *= o.width
            feet = p["y"] * o.height + 0.2 * h
            shade = int(p["shade"])
            color = (shade, shade + 20, shade + 40)
            head_r = max(2, int(h * 0.08))
            head_y = int(feet - h + head_r)
            cv2.circle(img, (int(cx), head_y), head_r, color, -1)
            top, hip = head_y + head_r, int(feet - 0.45 * h)
            cv2.ellipse(img, (int(cx), (top + hip) // 2), (max(2, int(h * 0.11)),
                        max(2, (hip - top) // 2)), 0, 0, 360, color, -1)
            swing = 0.12 * h * math.sin(2 * math.pi * t * 1.5 + p["phase"])
            width = max(2, int(h * 0.05))
            for side in (-1, 1):
                cv2.line(img, (int(cx), hip), (int(cx + side * swing), int(feet)), color, width)
                cv2.line(img, (int(cx), top + head_r), (int(cx - side * swing * 0.8),
                         hip - int(0.05 * h)), color, max(2, width - 1))
        return img

    def take(self) -> Frame | None:
        index, t, dropped = self.pacer.next()
        return Frame(index, t, self.render(index), dropped)

    def describe(self) -> JsonObject:
        o = self.options
        return {"kind": self.kind, "width": o.width, "height": o.height, "fps": o.fps,
                "people": o.people, "seed": o.seed}


class VideoFrames(FrameSource[VideoSource]):
    kind = "video"
    pacer: Pacer | None = None
    _cap: _Capture | None = None
    _pos = -1
    """Index (in the pacer's count) of the last frame read from the file."""
    _file_fps: float | None = None

    def open(self) -> None:
        cv2 = _cv2()
        path = Path(self.options.path).expanduser()
        if not path.is_file():
            raise UserError(f"vision source: video file {str(path)!r} not found; fix source.path")
        self._cap = cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise UserError(f"vision source: OpenCV cannot open the video {str(path)!r}")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._file_fps = fps if fps > 0 else None
        rate = self.options.fps or self._file_fps
        if rate is None:
            raise UserError(f"vision source: {str(path)!r} has no frame rate; set source.fps")
        self.pacer = Pacer(rate, self.clock)

    def _restart(self, cap: _Capture, index: int) -> Image | None:
        """End of file: start the file again (loop) or end the source (None)."""
        if not self.options.loop:
            return None
        cap.set(_cv2().CAP_PROP_POS_FRAMES, 0)
        ok, img = cap.read()
        if not ok:
            raise UserError(f"vision source: no frame can be read from {self.options.path!r}")
        self._pos = index
        return img

    def take(self) -> Frame | None:
        cap = self._cap
        assert self.pacer is not None and cap is not None, "open() first"
        index, t, dropped = self.pacer.next()
        img: Image | None = None
        while self._pos < index - 1:  # frames that went by: skip them (grab, no decode)
            if not cap.grab():
                img = self._restart(cap, index)
                break
            self._pos += 1
        if img is None and self._pos == index - 1:
            ok, img = cap.read()
            self._pos = index
            if not ok:
                img = self._restart(cap, index)
        if img is None:
            return None
        if self.options.width and self.options.height:
            img = _cv2().resize(img, (self.options.width, self.options.height))
        return Frame(index, t, img, dropped)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def describe(self) -> JsonObject:
        return {"kind": self.kind, "path": self.options.path, "file_fps": self._file_fps,
                "fps": self.pacer.fps if self.pacer else self.options.fps,
                "width": self.options.width, "height": self.options.height}


class CameraFrames(FrameSource[CameraSource]):
    """Picamera2 on a Raspberry Pi. capture_array() blocks until the next frame; frames the
    camera delivered while the detector was busy are estimated from the gaps (``fps``)."""

    kind = "camera"
    _cam: _Camera | None = None
    _last_t: float | None = None
    _index = -1

    def open(self) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise BackendUnavailable(
                "Picamera2 is not installed: on Raspberry Pi OS, sudo apt install python3-picamera2"
            ) from None
        o = self.options
        cam = Picamera2(o.camera_num)
        # Picamera2's "RGB888" is B, G, R in memory: the order OpenCV expects.
        config = cam.create_video_configuration(
            main={"size": (o.width, o.height), "format": o.format},
            controls={"FrameRate": o.fps},
        )
        cam.configure(config)
        cam.start()
        self._cam = cam

    def take(self) -> Frame | None:
        assert self._cam is not None, "open() first"
        img = self._cam.capture_array("main")
        t = self.clock.now()
        dropped = 0
        if self._last_t is not None:
            dropped = max(0, round((t - self._last_t) * self.options.fps) - 1)
        self._last_t = t
        self._index += 1 + dropped
        if img.ndim == 3 and img.shape[2] == 4:  # XRGB formats: drop the padding byte
            img = img[:, :, :3]
        return Frame(self._index, t, img, dropped)

    def close(self) -> None:
        if self._cam is not None:
            try:
                self._cam.stop()
            finally:
                self._cam.close()
                self._cam = None

    def describe(self) -> JsonObject:
        o = self.options
        return {"kind": self.kind, "width": o.width, "height": o.height, "fps": o.fps,
                "camera_num": o.camera_num, "dropped_method": "estimated from frame gaps"}


def make_source(options: SourceOptions, clock: Clock) -> FrameSource:
    if isinstance(options, GeneratedSource):
        return GeneratedFrames(options, clock)
    if isinstance(options, VideoSource):
        return VideoFrames(options, clock)
    return CameraFrames(options, clock)
