"""Find the power meters this machine has, and read each once (for ``pibench sensors``)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass

from bench.clock import Clock, RealClock
from bench.errors import MeterUnavailable, UserError
from bench.meters.base import MeterOptions, PowerMeter
from bench.meters.case import build_meters
from bench.meters.gencmd import DEVICES
from bench.meters.hwmon import HwmonOptions, find_sensors
from bench.meters.pmic import PmicOptions
from bench.meters.rapl import RaplOptions


def discover(sysfs_root: str = "/") -> list[MeterOptions]:
    """Options for every meter that seems present: vcgencmd or a mailbox device, hwmon power
    sensors, RAPL, hailo_platform. Each is marked optional; check() decides whether it can
    be read."""
    found: list[MeterOptions] = []
    if shutil.which("vcgencmd") or any(os.path.exists(d) for d in DEVICES):
        found.append(PmicOptions(optional=True))
    hwmon_root = os.path.join(sysfs_root, "sys/class/hwmon")
    seen: dict[str, int] = {}
    for d, name in find_sensors(hwmon_root):
        index = seen.get(name, 0)
        seen[name] = index + 1
        files = set(os.listdir(d)) if os.path.isdir(d) else set()
        if "power1_input" in files or {"curr1_input", "in1_input"} <= files:
            found.append(HwmonOptions(sensor=name, index=index, root=hwmon_root, optional=True,
                                      label=f"hwmon:{name}" + (f"#{index}" if index else "")))
    powercap = os.path.join(sysfs_root, "sys/class/powercap")
    if os.path.isdir(powercap) and any(e.startswith("intel-rapl:") for e in os.listdir(powercap)):
        found.append(RaplOptions(root=powercap, optional=True))
    if importlib.util.find_spec("hailo_platform") is not None:
        from bench.meters.hailo import HailoPowerOptions

        found.append(HailoPowerOptions())
    return found


@dataclass
class Probe:
    meter: PowerMeter
    ok: bool
    status: str
    watts: float | None = None


def probe(options: list[MeterOptions], clock: Clock | None = None) -> list[Probe]:
    """Build and check each meter; read the usable ones once."""
    clock = clock or RealClock()
    out: list[Probe] = []
    for opts in options:
        try:
            [meter] = build_meters([opts], clock)
        except UserError as exc:
            raise UserError(f"meter {opts.type!r}: {exc}") from None
        try:
            meter.check()
        except MeterUnavailable as exc:
            out.append(Probe(meter, False, str(exc)))
            continue
        out.append(Probe(meter, True, "ok"))
    if any(p.ok for p in out):
        clock.sleep(0.2)  # counters (RAPL) need an interval after check()
    for p in out:
        if p.ok:
            p.watts, p.status = read_once(p.meter)
    return out


def read_once(meter: PowerMeter) -> tuple[float | None, str]:
    try:
        return meter.read_watts(), "ok"
    except Exception as exc:
        return None, f"read failed: {exc}"
