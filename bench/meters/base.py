"""The meter interface.

A power meter reads watts from one source. ``track()`` is a context manager around a case:
inside it, samples are taken on a background thread at ``rate_hz``, each timestamped on the
run's clock (the clock of the token events). On exit the ``Recording`` holds every sample;
a reading that failed is kept as a gap (``watts is None``) with the error noted once.

Meters on a virtual clock (the mock meter) may build their samples on exit instead of
sampling in real time; the contract is only that ``recording.samples`` is complete after
the ``with`` block.

Cost: the sampling thread does one read, one clock call and appends one small tuple
(``PowerSample`` is a NamedTuple) per sample; it never raises out of ``track()``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

from pydantic import Field

from bench.backends.base import Options
from bench.clock import Clock, RealClock


@contextmanager
def background(loop: Callable[[threading.Event], None], name: str) -> Iterator[None]:
    """Run ``loop(stop)`` on a daemon thread for the ``with`` block; on leaving it, set
    ``stop`` and wait for the thread (5 s at most: a hung reading never blocks the run)."""
    stop = threading.Event()
    thread = threading.Thread(target=loop, args=(stop,), name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5.0)


class MeterOptions(Options):
    type: str
    optional: bool = False
    """If the meter cannot be read at start: warn and go on instead of exit 2."""
    rate_hz: float = Field(default=10.0, gt=0, le=1000)
    label: str | None = None


class PowerSample(NamedTuple):
    t: float
    """Clock time of the reading, seconds."""
    watts: float | None
    """None marks a gap: the reading failed."""


@dataclass
class Recording:
    source: str
    covers: str
    rate_hz: float
    simulated: bool = False
    samples: list[PowerSample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    t_start: float = 0.0
    t_end: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    """What the meter says about its figures (basis, fit, sensor path...), from describe()."""


class PowerMeter(ABC):
    kind: ClassVar[str]
    simulated: ClassVar[bool] = False

    def __init__(self, options: MeterOptions, *, clock: Clock | None = None) -> None:
        self.options = options
        self.clock: Clock = clock or RealClock()

    @property
    def label(self) -> str:
        return self.options.label or self.kind

    @property
    @abstractmethod
    def covers(self) -> str:
        """What the figure includes, e.g. "SoC board rails (not the 5 V domain, not the HAT)"."""

    @abstractmethod
    def check(self) -> None:
        """Raise MeterUnavailable with one clear line if this meter cannot be read here."""

    @abstractmethod
    def read_watts(self) -> float:
        """One reading in watts. Raise SensorGone if the sensor stopped answering."""

    @property
    def rate_hz(self) -> float:
        """Samples per second while tracking: ``options.rate_hz`` (a meter whose cost depends
        on how it reads may choose its own default when the rate is not configured)."""
        return self.options.rate_hz

    def describe(self) -> dict[str, Any]:
        """Facts recorded with every result of this meter (basis, fit, device...)."""
        return {}

    def estimate(self) -> tuple[Callable[[float], float], dict[str, Any]] | None:
        """A secondary figure derived from each reading (a fit and what it is), or None."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release anything opened by check()."""

    def _note(self, rec: Recording, exc: BaseException) -> None:
        msg = str(exc) or type(exc).__name__
        if msg not in rec.errors:
            rec.errors.append(msg)

    @contextmanager
    def track(self) -> Iterator[Recording]:
        rate = self.rate_hz
        rec = Recording(self.label, self.covers, rate, self.simulated)
        rec.meta = {"kind": self.kind, **self.describe()}
        period = 1.0 / rate
        now = self.clock.now
        read = self.read_watts
        append = rec.samples.append

        def loop(stop: threading.Event) -> None:
            while not stop.is_set():
                t = now()
                try:
                    w: float | None = read()
                except Exception as exc:  # SensorGone, or anything else: a gap, never a crash
                    w = None
                    self._note(rec, exc)
                append(PowerSample(t, w))
                # sleep until the next period, not drifting with the read's cost
                stop.wait(max(0.0, period - (now() - t)))

        rec.t_start = now()
        try:
            with background(loop, f"meter-{self.label}"):
                yield rec
        finally:
            rec.t_end = now()
