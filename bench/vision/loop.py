"""The vision loop: take the newest frame, detect, record times. Same code in and out of the
worker process; all times come from the clock it is given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, dataclass

from bench.clock import Clock
from bench.vision.detectors import Detector
from bench.vision.frames import FrameSource


@dataclass(frozen=True)
class FrameRecord:
    index: int
    t_frame: float
    """When the frame was due (scheduled source) or captured (camera), clock seconds."""
    t_start: float
    """When the detector was handed the frame."""
    t_end: float
    """When its detections were back."""
    detections: int
    dropped_before: int
    """Frames the source delivered since the previous one taken and that were never taken."""

    def row(self) -> list[float]:
        return list(astuple(self))

    @classmethod
    def from_row(cls, row: list[float]) -> FrameRecord:
        i, tf, ts, te, d, dr = row
        return cls(int(i), float(tf), float(ts), float(te), int(d), int(dr))


def run_vision_loop(
    source: FrameSource,
    detector: Detector,
    clock: Clock,
    *,
    should_stop: Callable[[], bool],
    on_record: Callable[[FrameRecord], None],
    shared_load: Callable[[], bool] | None = None,
) -> str:
    """Run until ``should_stop()`` or the source ends; returns "stopped" or "source ended".

    ``shared_load()`` says whether an LLM is running on the same machine right now; it is passed
    to the detector before each frame (only a simulated detector uses it)."""
    while not should_stop():
        frame = source.take()
        if frame is None:
            return "source ended"
        if shared_load is not None:
            detector.set_shared_load(shared_load())
        t_start = clock.now()
        detections = detector.detect(frame.image)
        t_end = clock.now()
        on_record(FrameRecord(frame.index, frame.t, t_start, t_end, len(detections),
                              frame.dropped_before))
    return "stopped"
