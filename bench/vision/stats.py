"""Vision figures from per-frame records: fps, latency median and p99, dropped frames.

Every figure is a dict with its value, unit and sample count ``n``; a figure that cannot be
computed (no frames) has value None. Percentiles are nearest-rank.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from bench.common import Json, JsonObject
from bench.vision.loop import FrameRecord


def figure(value: float | None, unit: str, n: int, **extra: Json) -> JsonObject:
    """A figure: its value, unit and sample count, then what else describes it (method,
    source, "simulated": true, ...) in the order given."""
    return {"value": value, "unit": unit, "n": n, **extra}


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100): numpy's ``inverted_cdf`` method, the smallest
    value with at least q % of the values at or below it; None for no values."""
    if not values:
        return None
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q, method="inverted_cdf"))


def in_window(records: Sequence[FrameRecord], t0: float, t1: float) -> list[FrameRecord]:
    """Frames whose detections came back within [t0, t1]."""
    return [r for r in records if t0 <= r.t_end <= t1]


def summarize(
    records: Sequence[FrameRecord], t0: float, t1: float, *, simulated: bool = False
) -> JsonObject:
    """Figures of the frames finished within [t0, t1] (the window is the phase's duration)."""
    frames = in_window(records, t0, t1)
    n = len(frames)
    span = t1 - t0
    label: dict[str, Json] = {"simulated": True} if simulated else {}
    fps = n / span if span > 0 and n else None
    per_second = _per_second(frames, t0, t1)
    latency = [1000.0 * (r.t_end - r.t_start) for r in frames]
    age = [1000.0 * (r.t_end - r.t_frame) for r in frames]
    dropped = sum(r.dropped_before for r in frames)
    delivered = n + dropped
    return {
        "window_s": span,
        "frames": n,
        "fps": figure(fps, "frames/s", n, method="frames finished / window", **label,
                      per_second_min=min(per_second) if per_second else None,
                      per_second_max=max(per_second) if per_second else None,
                      per_second=per_second),
        "latency_median": figure(statistics.median(latency) if latency else None, "ms", n,
                                 method="detector call, per frame", **label),
        "latency_p99": figure(percentile(latency, 99), "ms", n, method="nearest rank", **label),
        "latency_max": figure(max(latency) if latency else None, "ms", n, **label),
        "frame_age_median": figure(statistics.median(age) if age else None, "ms", n,
                                   method="frame due/captured -> detections back", **label),
        "dropped": figure(dropped, "frames", delivered,
                          rate=dropped / delivered if delivered else None, **label),
        "detections_per_frame": figure(
            statistics.fmean([r.detections for r in frames]) if frames else None,
            "detections", n, **label),
    }


def _per_second(frames: Sequence[FrameRecord], t0: float, t1: float) -> list[float]:
    """Frames finished in each whole second of the window (spread of the fps)."""
    seconds = int(t1 - t0)
    if seconds < 2:
        return []
    counts = [0] * seconds
    for r in frames:
        k = int(r.t_end - t0)
        if k < seconds:
            counts[k] += 1
    return [float(c) for c in counts]
