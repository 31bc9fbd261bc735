"""``mock``: follows the mock backend's simulated load (always labelled simulated).

It reads ``bench.simdevice.total_power(t)``, the summed power of the loaded
simulated devices at clock time t. No thread samples, on either clock: on exit of
``track()`` the samples are built at ``rate_hz`` over [t_start, t_end], because a simulated
device's timeline is complete only after the fact (the mock backend records a generation's
busy segment when it ends, the vision side's frames come back from another process; a live
reading during a generation would see the device idle). Small Gaussian noise (``noise_w``,
seeded) is added so the analysis sees realistic, reproducible readings. No device loaded
when the samples are built: a gap.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from pydantic import Field

from bench import simdevice
from bench.clock import Clock
from bench.errors import SensorGone
from bench.meters.base import MeterOptions, PowerMeter, PowerSample, Recording

NO_DEVICE = "mock: no simulated device is loaded"


class MockMeterOptions(MeterOptions):
    type: str = "mock"
    noise_w: float = Field(default=0.02, ge=0)
    """Standard deviation of the added noise, watts."""
    seed: int = 0


class MockMeter(PowerMeter):
    kind: ClassVar[str] = "mock"
    simulated: ClassVar[bool] = True

    def __init__(self, options: MockMeterOptions, *, clock: Clock | None = None) -> None:
        super().__init__(options, clock=clock)
        self.opts = options
        self._rng = random.Random(options.seed)

    @property
    def covers(self) -> str:
        return "the simulated device (simulated figures, no hardware)"

    def describe(self) -> dict[str, Any]:
        return {"basis": "simulated device power timeline", "noise_w": self.opts.noise_w,
                "seed": self.opts.seed}

    def check(self) -> None:
        """Always readable: the simulated device may be loaded later."""

    def _at(self, t: float) -> float:
        w = simdevice.total_power(t)
        if w is None:
            raise SensorGone(NO_DEVICE)
        if self.opts.noise_w:
            w += self._rng.gauss(0.0, self.opts.noise_w)
        return max(0.0, w)

    def read_watts(self) -> float:
        return self._at(self.clock.now())

    @contextmanager
    def track(self) -> Iterator[Recording]:
        meta = {"kind": self.kind, **self.describe()}
        rec = Recording(self.label, self.covers, self.options.rate_hz, True, meta=meta)
        rec.t_start = self.clock.now()
        try:
            yield rec
        finally:
            rec.t_end = self.clock.now()
            period = 1.0 / self.options.rate_hz
            n = int((rec.t_end - rec.t_start) / period + 1e-9) + 1
            for k in range(n):
                t = rec.t_start + k * period
                try:
                    w: float | None = self._at(t)
                except SensorGone as exc:
                    w = None
                    self._note(rec, exc)
                rec.samples.append(PowerSample(t, w))
