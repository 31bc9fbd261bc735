"""The simulated device's power timeline, shared with the mock meter.

A loaded mock backend registers its ``SimulatedDevice`` in ``ACTIVE``; while it works it
records busy segments. The mock meter reads ``total_power(t)``, the sum over the active
devices, at any clock time (so it works on the virtual clock too, after the fact).
Everything here is simulated and is labelled so by whoever reports it.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field


@dataclass
class SimulatedDevice:
    name: str
    idle_w: float
    segments: list[tuple[float, float, float]] = field(default_factory=list)
    """(t0, t1, watts) while busy; kept sorted by t0."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def busy(self, t0: float, t1: float, watts: float) -> None:
        if t1 <= t0:
            return
        with self._lock:
            bisect.insort(self.segments, (t0, t1, watts))

    def power_at(self, t: float) -> float:
        with self._lock:
            i = bisect.bisect_right(self.segments, (t, float("inf"), float("inf")))
            # a segment covering t starts at or before t; check the few before i
            for t0, t1, w in reversed(self.segments[max(0, i - 4) : i]):
                if t0 <= t < t1:
                    return w
        return self.idle_w


ACTIVE: list[SimulatedDevice] = []
_active_lock = threading.Lock()


def register(device: SimulatedDevice) -> None:
    with _active_lock:
        ACTIVE.append(device)


def unregister(device: SimulatedDevice) -> None:
    with _active_lock:
        if device in ACTIVE:
            ACTIVE.remove(device)


def total_power(t: float) -> float | None:
    """Watts of all active simulated devices at clock time t; None if none is active."""
    with _active_lock:
        devices = list(ACTIVE)
    if not devices:
        return None
    return sum(d.power_at(t) for d in devices)
