"""The one clock of a run: token events, meter samples and phases share it.

``RealClock`` reads ``time.perf_counter`` (monotonic). ``VirtualClock`` only moves when told
to, so a simulated device on it gives exact, instant results in tests.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    virtual: bool

    def now(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    virtual = False

    def now(self) -> float:
        return time.perf_counter()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """A clock that advances only through ``sleep``/``advance``; thread-safe."""

    virtual = True

    def __init__(self, start: float = 1000.0) -> None:
        self._t = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        with self._lock:
            self._t += seconds
