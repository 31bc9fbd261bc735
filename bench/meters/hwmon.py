"""``hwmon``: a power sensor under /sys/class/hwmon (INA219/INA226/INA260, ...), by name.

The sensor is the hwmonN folder whose ``name`` file equals ``sensor`` (the ``index``-th one
if several match). Watts come from ``power<ch>_input`` (microwatts) or, without a power
file, ``curr<ch>_input`` (mA) x ``in<vch>_input`` (mV). What it covers depends on where the
sensor is wired: say it in ``covers``.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from pydantic import Field

from bench.clock import Clock
from bench.errors import MeterUnavailable, SensorGone
from bench.meters.base import MeterOptions, PowerMeter
from bench.meters.sources import ReadText, read_text


class HwmonOptions(MeterOptions):
    type: str = "hwmon"
    sensor: str = "ina219"
    """The hwmon ``name`` to look for (e.g. ina219, ina226, ina260)."""
    index: int = Field(default=0, ge=0)
    """Which one, if several sensors have that name (in hwmonN order)."""
    channel: int = Field(default=1, ge=0)
    """power<channel>_input / curr<channel>_input."""
    volt_channel: int = Field(default=1, ge=0)
    """in<volt_channel>_input, used only when there is no power file (INA219: in1 = bus)."""
    root: str = "/sys/class/hwmon"
    covers: str = "whatever the sensor is wired to (set `covers:` in the config)"


def find_sensors(
    root: str, name: str | None = None, read: ReadText = read_text
) -> list[tuple[str, str]]:
    """``[(dir, name)]`` of hwmon folders under root, in numeric order; filtered by name."""
    try:
        entries = os.listdir(root)
    except OSError:
        return []

    def key(e: str) -> tuple[int, str]:
        digits = "".join(c for c in e if c.isdigit())
        return (int(digits) if digits else 0, e)

    found = []
    for e in sorted(entries, key=key):
        d = os.path.join(root, e)
        try:
            n = read(os.path.join(d, "name")).strip()
        except OSError:
            continue
        if name is None or n == name:
            found.append((d, n))
    return found


class HwmonMeter(PowerMeter):
    kind: ClassVar[str] = "hwmon"

    def __init__(
        self, options: HwmonOptions, *, clock: Clock | None = None, read: ReadText | None = None
    ) -> None:
        super().__init__(options, clock=clock)
        self.opts = options
        self._read: ReadText = read or read_text
        self._dir: str | None = None
        self._power_file: str | None = None
        self._curr_file: str | None = None
        self._volt_file: str | None = None

    @property
    def covers(self) -> str:
        return self.opts.covers

    def describe(self) -> dict[str, Any]:
        return {
            "sensor": self.opts.sensor,
            "path": self._dir,
            "basis": "power_input" if self._power_file else "curr_input x in_input",
        }

    def check(self) -> None:
        o = self.opts
        matches = find_sensors(o.root, o.sensor, self._read)
        if len(matches) <= o.index:
            names = sorted({n for _, n in find_sensors(o.root, None, self._read)})
            have = ", ".join(names) if names else "none"
            raise MeterUnavailable(
                f"hwmon: no sensor named {o.sensor!r} (index {o.index}) under {o.root}"
                f" (found: {have}); load its driver or fix `sensor:`"
            )
        d = matches[o.index][0]
        self._dir = d
        power = os.path.join(d, f"power{o.channel}_input")
        curr = os.path.join(d, f"curr{o.channel}_input")
        volt = os.path.join(d, f"in{o.volt_channel}_input")
        if os.path.exists(power):
            self._power_file = power
        elif os.path.exists(curr) and os.path.exists(volt):
            self._curr_file, self._volt_file = curr, volt
        else:
            raise MeterUnavailable(
                f"hwmon: {d} ({o.sensor}) has neither power{o.channel}_input nor"
                f" curr{o.channel}_input + in{o.volt_channel}_input; fix `channel:`"
            )
        try:
            self.read_watts()
        except SensorGone as exc:
            raise MeterUnavailable(f"hwmon: {exc}") from None

    def _value(self, path: str) -> float:
        try:
            return float(self._read(path).strip())
        except (OSError, ValueError) as exc:
            raise SensorGone(f"hwmon: cannot read {path}: {exc}") from None

    def read_watts(self) -> float:
        if self._power_file is not None:
            return self._value(self._power_file) / 1e6
        if self._curr_file is None or self._volt_file is None:
            raise SensorGone("hwmon: sensor not opened (check() not run)")
        return self._value(self._curr_file) * self._value(self._volt_file) / 1e6
