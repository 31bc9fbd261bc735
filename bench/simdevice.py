"""The simulated device's power timeline, shared by the mock backend, the mock meter and the
mock detector (mixed mode): none of them owns it.

A loaded mock backend registers its ``SimulatedDevice`` in ``ACTIVE``; while it works it
records busy segments. The mock meter reads ``total_power(t)``, the sum over the active
devices, at any clock time (so it works on the virtual clock too, after the fact).

Devices of one ``kind`` ("npu", "cpu") are one piece of hardware shared by two loads (mixed
mode: a mock detector beside a mock LLM): their sum is capped at the smallest ``cap_w`` among
them (the LLM profile's busy figure). An ASSUMPTION: a device time-sliced between two loads
draws no more than when one load keeps it busy. Devices of different kinds add up.
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
    kind: str | None = None
    """The hardware simulated ("npu", "cpu"); None: shares nothing with other devices."""
    cap_w: float | None = None
    """Most the hardware draws when several devices of this kind are busy on it, watts."""
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
    groups: dict[object, list[SimulatedDevice]] = {}
    for d in devices:
        groups.setdefault(d.kind or id(d), []).append(d)
    total = 0.0
    for group in groups.values():
        watts = sum(d.power_at(t) for d in group)
        caps = [d.cap_w for d in group if d.cap_w is not None]
        total += min(watts, *caps) if caps and len(group) > 1 else watts
    return total
