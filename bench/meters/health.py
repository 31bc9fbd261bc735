"""Board health per case: SoC temperature, ARM clock, and the firmware's throttle bits.

Sources (each read through ``BoardReader``, whose ``run``/``read`` are the test seam):
- temperature: /sys/class/thermal/thermal_zone0/temp (millidegrees C), else
  ``vcgencmd measure_temp`` -> ``temp=46.2'C``;
- ARM clock: /sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq (kHz), else
  ``vcgencmd measure_clock arm`` -> ``frequency(0)=2400000000`` (Hz);
- ``vcgencmd get_throttled`` -> ``throttled=0x50000``: bits 0-3 under-voltage, ARM frequency
  capped, throttled, soft temperature limit *now*; bits 16-19 the same *since boot* (sticky).

A case is flagged when bits 0-3 are set in any poll (before, during, after), or when a
sticky bit 16-19 is set after the case but not before. The vcgencmd questions go through
the mailbox device when it opens (bench.meters.gencmd), else one vcgencmd process each.
``enabled: auto`` uses whatever exists (on a PC or VM: maybe nothing, then the figures are
null); ``true`` requires a reading.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, TypedDict

from pydantic import Field

from bench.backends.base import Options
from bench.clock import Clock
from bench.errors import MeterUnavailable
from bench.meters.gencmd import DEVICE, Gencmd, Ioctl, Transport, open_gencmd
from bench.meters.sources import ReadText, RunCommand, read_text

FLAG_NAMES = ("under-voltage", "arm-capped", "throttled", "soft-temp-limit")


class HealthOptions(Options):
    enabled: Literal["auto"] | bool = "auto"
    rate_hz: float = Field(default=2.0, gt=0, le=50)
    cool_below_c: float | None = None
    """Before each case, wait until the SoC is below this temperature (C)."""
    cool_timeout_s: float = Field(default=300.0, ge=0)
    vcgencmd: str = "vcgencmd"
    transport: Transport = "auto"
    """How vcgencmd questions are asked: see bench.meters.gencmd (auto: mailbox, else process)."""
    sysfs_root: str = "/"


def parse_temp(text: str) -> float | None:
    m = re.search(r"temp=([-0-9.]+)", text)
    return float(m.group(1)) if m else None


def parse_clock_hz(text: str) -> float | None:
    m = re.search(r"frequency\(\d+\)=(\d+)", text)
    return float(m.group(1)) if m else None


def parse_throttled(text: str) -> int | None:
    m = re.search(r"throttled=(0x[0-9a-fA-F]+|\d+)", text)
    return int(m.group(1), 0) if m else None


def flags_of(bits: int) -> list[str]:
    """Names of the "now" conditions (bits 0-3) set in a get_throttled value."""
    return [name for i, name in enumerate(FLAG_NAMES) if bits >> i & 1]


def sticky_new(before: int, after: int) -> list[str]:
    """Conditions whose "since boot" bit (16-19) became set between two readings."""
    new = (after & ~before) >> 16
    return flags_of(new & 0xF)


class BoardReader:
    """Reads temperature, clock and throttle bits; each method returns None if unavailable."""

    def __init__(
        self,
        vcgencmd: str = "vcgencmd",
        sysfs_root: str = "/",
        *,
        transport: Transport = "auto",
        device: str = DEVICE,
        run: RunCommand | None = None,
        read: ReadText | None = None,
        ioctl: Ioctl | None = None,
    ) -> None:
        self._vc = shlex.split(vcgencmd)
        self._transport, self._device, self._run = transport, device, run
        self._ioctl = ioctl
        self._gencmd: Gencmd | None = None
        self._read: ReadText = read or read_text
        self._thermal = os.path.join(sysfs_root, "sys/class/thermal/thermal_zone0/temp")
        self._freq = os.path.join(
            sysfs_root, "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"
        )
        self.sources: dict[str, str | None] = {"temp": None, "clock": None, "throttle": None}

    def _vcgencmd(self, *args: str) -> str | None:
        try:
            if self._gencmd is None:
                self._gencmd = open_gencmd(
                    self._transport, self._vc, device=self._device, run=self._run,
                    ioctl=self._ioctl,
                )
            return self._gencmd(" ".join(args))
        except Exception:
            return None

    def _via(self, ask: str) -> str:
        return f"vcgencmd {ask} ({self.transport or 'vcgencmd'})"

    @property
    def transport(self) -> str | None:
        """How vcgencmd questions went: "mailbox", "vcgencmd", or None (none asked)."""
        return None if self._gencmd is None else self._gencmd.transport

    def close(self) -> None:
        if self._gencmd is not None:
            self._gencmd.close()
            self._gencmd = None

    def _file(self, path: str) -> float | None:
        try:
            return float(self._read(path).strip())
        except (OSError, ValueError):
            return None

    def probe(self) -> dict[str, str | None]:
        """Find which source answers for each reading (called once)."""
        s = self.sources
        if self._file(self._thermal) is not None:
            s["temp"] = self._thermal
        elif parse_temp(self._vcgencmd("measure_temp") or "") is not None:
            s["temp"] = self._via("measure_temp")
        if self._file(self._freq) is not None:
            s["clock"] = self._freq
        elif parse_clock_hz(self._vcgencmd("measure_clock", "arm") or "") is not None:
            s["clock"] = self._via("measure_clock arm")
        if parse_throttled(self._vcgencmd("get_throttled") or "") is not None:
            s["throttle"] = self._via("get_throttled")
        return dict(s)

    def temp_c(self) -> float | None:
        src = self.sources["temp"]
        if src is None:
            return None
        if src == self._thermal:
            v = self._file(src)
            return None if v is None else v / 1000.0
        return parse_temp(self._vcgencmd("measure_temp") or "")

    def arm_mhz(self) -> float | None:
        src = self.sources["clock"]
        if src is None:
            return None
        if src == self._freq:
            v = self._file(src)
            return None if v is None else v / 1000.0
        hz = parse_clock_hz(self._vcgencmd("measure_clock", "arm") or "")
        return None if hz is None else hz / 1e6

    def throttled(self) -> int | None:
        if self.sources["throttle"] is None:
            return None
        return parse_throttled(self._vcgencmd("get_throttled") or "")


class CoolResult(TypedDict):
    target_c: float
    reached: bool
    waited_s: float
    temp_c: float | None
    """Temperature when the wait ended, C (null: no temperature reading)."""


class HealthSummary(TypedDict):
    sources: dict[str, str | None]
    n_polls: int
    temp_start_c: float | None
    temp_max_c: float | None
    arm_mhz_min: float | None
    arm_mhz_mean: float | None
    throttled_before: str | None
    """get_throttled before the case, hex (e.g. "0x50000")."""
    throttled_after: str | None
    flags: list[str]
    """Conditions active during the case: under-voltage, arm-capped, throttled, soft-temp-limit."""
    throttled: bool | None
    """True if any flag; null when get_throttled is not available."""
    cooldown: CoolResult | None


class HealthMonitor:
    def __init__(self, options: HealthOptions, clock: Clock, reader: BoardReader | None = None):
        self.options = options
        self.clock = clock
        self.reader = reader or BoardReader(
            options.vcgencmd, options.sysfs_root, transport=options.transport
        )
        self.sources = self.reader.probe() if options.enabled is not False else {}
        self._polls: list[tuple[float, float | None, float | None, int | None]] = []
        self._before: int | None = None
        self._after: int | None = None
        self._cool: CoolResult | None = None

    @property
    def active(self) -> bool:
        return self.options.enabled is not False and any(self.sources.values())

    def check(self) -> list[str]:
        """Raise MeterUnavailable if health is required but unreadable; else notes."""
        if self.options.enabled is False:
            return []
        missing = [k for k, v in self.sources.items() if v is None]
        if self.options.enabled is True and len(missing) == len(self.sources):
            raise MeterUnavailable(
                "health: no temperature, clock or throttle reading on this machine"
                " (no thermal_zone0, no cpufreq, no vcgencmd); set `health: {enabled: auto}`"
            )
        if missing:
            return [f"health: no {', '.join(missing)} reading here; those figures are null"]
        return []

    def close(self) -> None:
        self.reader.close()

    def poll(self) -> None:
        r = self.reader
        self._polls.append((self.clock.now(), r.temp_c(), r.arm_mhz(), r.throttled()))

    def wait_cool(self, below_c: float, timeout_s: float, poll_s: float = 1.0) -> CoolResult:
        t0 = self.clock.now()
        temp = self.reader.temp_c()
        while temp is not None and temp >= below_c and self.clock.now() - t0 < timeout_s:
            self.clock.sleep(poll_s)
            temp = self.reader.temp_c()
        self._cool = CoolResult(
            target_c=below_c,
            reached=temp is not None and temp < below_c,
            waited_s=self.clock.now() - t0,
            temp_c=temp,
        )
        return self._cool

    @contextmanager
    def track(self) -> Iterator[HealthMonitor]:
        self._polls = []
        self._before = self.reader.throttled()
        self.poll()
        stop = threading.Event()
        period = 1.0 / self.options.rate_hz

        def loop() -> None:
            while not stop.wait(period):
                with contextlib.suppress(Exception):  # a failed reading is just missing
                    self.poll()

        thread = threading.Thread(target=loop, name="health", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=5.0)
            self.poll()
            self._after = self.reader.throttled()

    def summary(self) -> HealthSummary:
        temps = [p[1] for p in self._polls if p[1] is not None]
        mhz = [p[2] for p in self._polls if p[2] is not None]
        bits = [p[3] for p in self._polls if p[3] is not None]
        before, after = self._before, self._after
        if before is not None:
            bits.append(before)
        if after is not None:
            bits.append(after)
        flags: set[str] = set()
        for b in bits:
            flags.update(flags_of(b))
        if before is not None and after is not None:
            flags.update(sticky_new(before, after))
        has_throttle = self.sources.get("throttle") is not None
        cool, self._cool = self._cool, None
        return HealthSummary(
            sources=dict(self.sources),
            n_polls=len(self._polls),
            temp_start_c=temps[0] if temps else None,
            temp_max_c=max(temps) if temps else None,
            arm_mhz_min=min(mhz) if mhz else None,
            arm_mhz_mean=statistics.fmean(mhz) if mhz else None,
            throttled_before=None if before is None else hex(before),
            throttled_after=None if after is None else hex(after),
            flags=[f for f in FLAG_NAMES if f in flags],
            throttled=bool(flags) if has_throttle else None,
            cooldown=cool,
        )


def build_health(options: HealthOptions | None, clock: Clock) -> HealthMonitor | None:
    """The run's monitor, or None when disabled or (auto) nothing is readable here."""
    opts = options or HealthOptions()
    if opts.enabled is False:
        return None
    monitor = HealthMonitor(opts, clock)
    monitor.check()
    return monitor if monitor.active else None
