"""``rapl``: x86 package energy counters (Intel/AMD RAPL through powercap), for a PC.

``<root>/intel-rapl:N/energy_uj`` is a microjoule counter that wraps at
``max_energy_range_uj``; power is the energy difference between two readings over their
time difference, corrected for one wrap. Each sample is the mean power over the interval
since the previous reading and is timed at that interval's middle. The counters are
root-only on current kernels: without permission the meter says so in one line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from bench.clock import Clock
from bench.errors import MeterUnavailable, SensorGone
from bench.meters.base import MeterOptions, PowerMeter, PowerSample, Recording
from bench.meters.sources import ReadText, read_text


class RaplOptions(MeterOptions):
    type: str = "rapl"
    domain: str = "package"
    """Top-level zones whose ``name`` starts with this (package-0, package-1...) are summed."""
    root: str = "/sys/class/powercap"


def energy_delta_uj(prev: int, now: int, max_range: int) -> int:
    """Counter difference, corrected for one wrap at ``max_range``."""
    d = now - prev
    return d + max_range if d < 0 else d


class RaplMeter(PowerMeter):
    kind: ClassVar[str] = "rapl"

    def __init__(
        self, options: RaplOptions, *, clock: Clock | None = None, read: ReadText | None = None
    ) -> None:
        super().__init__(options, clock=clock)
        self.opts = options
        self._read: ReadText = read or read_text
        self._zones: list[tuple[str, int]] = []  # (energy_uj path, max_energy_range_uj)
        self._prev: tuple[float, list[int]] | None = None
        self._mids: list[float] = []

    @property
    def covers(self) -> str:
        return "CPU package (RAPL: cores, caches, uncore); not DRAM, disks or the board"

    def describe(self) -> dict[str, Any]:
        return {"zones": [p for p, _ in self._zones], "basis": "energy counter differences"}

    def _zone_dirs(self) -> list[str]:
        root = self.opts.root
        try:
            entries = sorted(os.listdir(root))
        except OSError:
            return []
        out = []
        for e in entries:
            if not e.startswith("intel-rapl:") or e.count(":") != 1:  # top-level zones only
                continue
            try:
                name = self._read(os.path.join(root, e, "name")).strip()
            except OSError:
                continue
            if name.startswith(self.opts.domain):
                out.append(os.path.join(root, e))
        return out

    def check(self) -> None:
        dirs = self._zone_dirs()
        if not dirs:
            raise MeterUnavailable(
                f"rapl: no powercap zone named {self.opts.domain!r}* under {self.opts.root}"
                " (not an x86 host with RAPL, or the intel_rapl driver is not loaded)"
            )
        zones = []
        for d in dirs:
            path = os.path.join(d, "energy_uj")
            try:
                int(self._read(path).strip())
                max_range = int(self._read(os.path.join(d, "max_energy_range_uj")).strip())
            except PermissionError:
                raise MeterUnavailable(
                    f"rapl: cannot read {path}: permission denied; it is root-only on current"
                    f" kernels: run as root or `sudo chmod o+r {path}`"
                ) from None
            except (OSError, ValueError) as exc:
                raise MeterUnavailable(f"rapl: cannot read {path}: {exc}") from None
            zones.append((path, max_range))
        self._zones = zones
        self._prev = (self.clock.now(), self._counters())  # so the next read has an interval

    def _counters(self) -> list[int]:
        try:
            return [int(self._read(p).strip()) for p, _ in self._zones]
        except (OSError, ValueError) as exc:
            raise SensorGone(f"rapl: {exc}") from None

    def read_watts(self) -> float:
        t = self.clock.now()
        now = self._counters()
        prev, self._prev = self._prev, (t, now)
        if prev is None or t <= prev[0]:
            raise SensorGone("rapl: first reading (no interval yet)")
        t0, before = prev
        ranges = [m for _, m in self._zones]
        uj = sum(energy_delta_uj(b, a, m) for b, a, m in zip(before, now, ranges, strict=True))
        self._mids.append((t0 + t) / 2)
        return uj / 1e6 / (t - t0)

    @contextmanager
    def track(self) -> Iterator[Recording]:
        if not self._zones:
            self.check()
        self._mids = []
        try:
            self._prev = (self.clock.now(), self._counters())
        except SensorGone:
            self._prev = None
        with super().track() as rec:
            yield rec
        # time each mean-power sample at the middle of the interval it averages
        mids = iter(self._mids)
        rec.samples[:] = [
            PowerSample(next(mids, s.t), s.watts) if s.watts is not None else s
            for s in rec.samples
        ]
