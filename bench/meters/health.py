"""Board health per case: temperature, ARM clock, throttling, fan, 5 V input, board identity.

The readings come from ``bench.meters.board.BoardReader`` (sources and their test seams
described there). ``vcgencmd get_throttled`` -> ``throttled=0x50000``: bits 0-3
under-voltage, ARM frequency capped, throttled, soft temperature limit *now*; bits 16-19 the
same *since boot* (sticky, cleared only by a reboot or ``get_throttled <mask>``).

Throttle detection: the current bits 0-3 are polled on their own at ``throttle_rate_hz``
(default 10 Hz through the mailbox: one ioctl per poll, about 0.1 ms of CPU with real
system calls around the fake kernel as measured by scripts/bench_sampler_cost.py
--readings-only, so 0.1 % of one core; at ``rate_hz`` when each reading is a vcgencmd
process, about 2 ms of CPU each). The case is
flagged ``throttled`` when bits 0-3 are set in any poll, or a sticky bit becomes set
between the readings before and after the case. When a sticky bit was already set before the
case, a new event of that kind leaves no trace in it: the case is then known clean only if
every poll read the current bits clear with no gap longer than three poll periods, else its
``throttle_history`` is "unknown" (labelled ``throttle history unknown``). A cap shorter
than the poll period can still fall between two polls; the record gives the rate, the polls
and the largest gap.
``poll_cpu_ms`` is the CPU time the polling thread used during the case (this process;
vcgencmd child processes not included).

``enabled: auto`` uses whatever exists (on a PC or VM: maybe nothing, then the figures are
null); ``true`` requires a reading.
"""

from __future__ import annotations

import contextlib
import itertools
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal, TypedDict

from pydantic import Field

from bench.backends.base import Options
from bench.clock import Clock
from bench.errors import MeterUnavailable
from bench.meters.base import background
from bench.meters.board import (
    BoardFacts,
    BoardReader,
    parse_clock_hz,
    parse_temp,
    parse_throttled,
)
from bench.meters.gencmd import Transport

__all__ = ["BoardReader", "HealthMonitor", "HealthOptions", "HealthSummary", "build_health",
           "flags_of", "parse_clock_hz", "parse_temp", "parse_throttled", "sticky_new"]

FLAG_NAMES = ("under-voltage", "arm-capped", "throttled", "soft-temp-limit")
STICKY = 0xF0000
MAILBOX_THROTTLE_HZ = 10.0
MAX_GAP_PERIODS = 3.0


class HealthOptions(Options):
    enabled: Literal["auto"] | bool = "auto"
    rate_hz: float = Field(default=2.0, gt=0, le=50)
    """Temperature, clocks, fan and 5 V input readings per second."""
    throttle_rate_hz: float | None = Field(default=None, gt=0, le=100)
    """Polls of the current throttle bits per second (null: 10 through the mailbox, else
    ``rate_hz``, as each reading is then a process)."""
    cool_below_c: float | None = None
    """Before each case, wait until the SoC is below this temperature (C)."""
    cool_timeout_s: float = Field(default=300.0, ge=0)
    vcgencmd: str = "vcgencmd"
    transport: Transport = "auto"
    """How vcgencmd questions are asked: see bench.meters.gencmd (auto: mailbox, else process)."""
    sysfs_root: str = "/"


def flags_of(bits: int) -> list[str]:
    """Names of the "now" conditions (bits 0-3) set in a get_throttled value."""
    return [name for i, name in enumerate(FLAG_NAMES) if bits >> i & 1]


def sticky_new(before: int, after: int) -> list[str]:
    """Conditions whose "since boot" bit (16-19) became set between two readings."""
    new = (after & ~before) >> 16
    return flags_of(new & 0xF)


class CoolResult(TypedDict):
    target_c: float
    reached: bool
    waited_s: float
    temp_c: float | None
    """Temperature when the wait ended, C (null: no temperature reading)."""


class HealthSummary(TypedDict):
    sources: dict[str, str | None]
    """Where each reading came from (a file, or "vcgencmd ASK (transport)"), null: none."""
    board: BoardFacts | None
    """model, soc (e.g. BCM2712) and soc_source, revision code."""
    n_polls: int
    temp_start_c: float | None
    temp_max_c: float | None
    arm_mhz_min: float | None
    """The clock the firmware ran (measure_clock arm), MHz."""
    arm_mhz_mean: float | None
    arm_requested_mhz_min: float | None
    """The clock the kernel requested (scaling_cur_freq), MHz: not what ran when capped."""
    arm_requested_mhz_mean: float | None
    fan_rpm_mean: float | None
    fan_rpm_max: float | None
    fan_pwm_max: float | None
    """pwmfan duty, 0-255."""
    ext5v_v_min: float | None
    """5 V input (PMIC EXT5V_V), V: sags under load."""
    ext5v_v_mean: float | None
    throttled_before: str | None
    """get_throttled before the case, hex (e.g. "0x50000")."""
    throttled_after: str | None
    throttle_rate_hz: float | None
    """Configured polls per second of the current throttle bits."""
    throttle_polls: int
    """Readings of get_throttled that answered (before, during, after)."""
    throttle_max_gap_s: float | None
    """Largest interval between two answered polls (a failed poll widens it)."""
    throttle_history: Literal["clean", "throttled", "unknown"] | None
    """null: get_throttled not available."""
    throttle_note: str | None
    flags: list[str]
    """Conditions active during the case: under-voltage, arm-capped, throttled, soft-temp-limit."""
    throttled: bool | None
    """True if any flag; null when get_throttled is not available."""
    poll_cpu_ms: float | None
    """CPU time of the polling thread during the case, ms (vcgencmd processes excluded)."""
    cooldown: CoolResult | None
    clock_start_s: float | None
    """The run's clock (s) when the tracking began: the times of ``samples`` and
    ``throttle_samples`` are relative to it (bench.clock: one clock for the whole run)."""
    samples: list[list[float | None]]
    """Every poll, raw: [t s, temp C, arm MHz, requested MHz, fan RPM, fan PWM, EXT5V V]."""
    throttle_samples: list[list[float | None]]
    """Every get_throttled poll, raw: [t s, value as an integer (null: no answer)]."""


Poll = tuple[float, float | None, float | None, float | None, float | None, float | None,
             float | None]
"""(t, temp C, arm MHz, requested MHz, fan RPM, fan PWM, EXT5V V)."""


def _stat(values: list[float | None], fn: Callable[[list[float]], float]) -> float | None:
    vals = [v for v in values if v is not None]
    return fn(vals) if vals else None


class HealthMonitor:
    def __init__(self, options: HealthOptions, clock: Clock, reader: BoardReader | None = None):
        self.options = options
        self.clock = clock
        self.reader = reader or BoardReader(
            options.vcgencmd, options.sysfs_root, transport=options.transport
        )
        self.sources = self.reader.probe() if options.enabled is not False else {}
        self.board: BoardFacts | None = (
            self.reader.facts() if options.enabled is not False else None
        )
        self._polls: list[Poll] = []
        self._bits: list[tuple[float, int | None]] = []
        self._before: int | None = None
        self._after: int | None = None
        self._cool: CoolResult | None = None
        self._cpu_s: float | None = None
        self._t0: float | None = None

    @property
    def active(self) -> bool:
        return self.options.enabled is not False and any(self.sources.values())

    @property
    def throttle_rate_hz(self) -> float | None:
        if self.sources.get("throttle") is None:
            return None
        if self.options.throttle_rate_hz is not None:
            return self.options.throttle_rate_hz
        mailbox = (self.reader.transport or "").startswith("mailbox")
        return max(MAILBOX_THROTTLE_HZ, self.options.rate_hz) if mailbox else self.options.rate_hz

    def check(self) -> list[str]:
        """Raise MeterUnavailable if health is required but unreadable; else notes."""
        if self.options.enabled is False:
            return []
        core = ("temp", "clock", "throttle")
        missing = [k for k in core if self.sources.get(k) is None]
        if self.options.enabled is True and len(missing) == len(core):
            raise MeterUnavailable(
                "health: no temperature, clock or throttle reading on this machine"
                " (no thermal_zone0, no vcgencmd); set `health: {enabled: auto}`"
            )
        if missing:
            return [f"health: no {', '.join(missing)} reading here; those figures are null"]
        return []

    def close(self) -> None:
        self.reader.close()

    def poll(self) -> None:
        r = self.reader
        rpm, pwm = r.fan()
        self._polls.append((self.clock.now(), r.temp_c(), r.arm_mhz(), r.arm_requested_mhz(),
                            rpm, pwm, r.ext5v_v()))

    def poll_throttle(self) -> int | None:
        bits = self.reader.throttled()
        self._bits.append((self.clock.now(), bits))
        return bits

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
        self._polls, self._bits, self._cpu_s = [], [], None
        self._t0 = self.clock.now()
        has_bits = self.sources.get("throttle") is not None
        self._before = self.poll_throttle() if has_bits else None
        self.poll()
        rate = max(self.throttle_rate_hz or 0.0, self.options.rate_hz)
        every = max(1, round(rate / self.options.rate_hz))  # full polls every n-th tick

        def loop(stop: threading.Event) -> None:
            cpu0, tick = time.thread_time(), 0
            while not stop.wait(1.0 / rate):
                tick += 1
                with contextlib.suppress(Exception):  # a failed reading is just missing
                    if has_bits:
                        self.poll_throttle()
                    if tick % every == 0:
                        self.poll()
            self._cpu_s = time.thread_time() - cpu0

        try:
            with background(loop, "health"):
                yield self
        finally:
            self.poll()
            self._after = self.poll_throttle() if has_bits else None

    def _history(self, flags: set[str]) -> tuple[str | None, str | None, float | None]:
        """(throttle_history, note, largest gap between answered polls)."""
        if self.sources.get("throttle") is None:
            return None, None, None
        times = [t for t, b in self._bits if b is not None]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        gap = max(gaps) if gaps else None
        before, after = self._before, self._after
        rate = self.throttle_rate_hz or self.options.rate_hz
        if flags:
            return "throttled", None, gap
        if before is None or after is None:
            return "unknown", "get_throttled did not answer before or after the case", gap
        if not before & STICKY:
            return "clean", "sticky bits clear before and after the case", gap
        missed = sum(b is None for _, b in self._bits)
        if missed == 0 and (gap is None or gap <= MAX_GAP_PERIODS / rate):
            return "clean", (
                f"sticky bits were set before the case ({hex(before)}); the current bits read"
                f" clear in all {len(times)} polls at {rate:g} Hz (a cap shorter than a poll"
                " period can fall between two)"
            ), gap
        return "unknown", (
            f"sticky bits were set before the case ({hex(before)}) and the current bits were"
            f" not read throughout ({missed} failed polls, largest gap"
            f" {0.0 if gap is None else gap:.2f} s at {rate:g} Hz)"
        ), gap

    def summary(self) -> HealthSummary:
        p = self._polls
        temps = [x[1] for x in p if x[1] is not None]
        before, after = self._before, self._after
        flags: set[str] = set()
        for _, b in self._bits:
            if b is not None:
                flags.update(flags_of(b))
        if before is not None and after is not None:
            flags.update(sticky_new(before, after))
        history, note, gap = self._history(flags)
        has_throttle = self.sources.get("throttle") is not None
        cool, self._cool = self._cool, None
        t0 = self._t0
        return HealthSummary(
            sources=dict(self.sources),
            board=self.board,
            n_polls=len(p),
            temp_start_c=temps[0] if temps else None,
            temp_max_c=max(temps) if temps else None,
            arm_mhz_min=_stat([x[2] for x in p], min),
            arm_mhz_mean=_stat([x[2] for x in p], statistics.fmean),
            arm_requested_mhz_min=_stat([x[3] for x in p], min),
            arm_requested_mhz_mean=_stat([x[3] for x in p], statistics.fmean),
            fan_rpm_mean=_stat([x[4] for x in p], statistics.fmean),
            fan_rpm_max=_stat([x[4] for x in p], max),
            fan_pwm_max=_stat([x[5] for x in p], max),
            ext5v_v_min=_stat([x[6] for x in p], min),
            ext5v_v_mean=_stat([x[6] for x in p], statistics.fmean),
            throttled_before=None if before is None else hex(before),
            throttled_after=None if after is None else hex(after),
            throttle_rate_hz=self.throttle_rate_hz,
            throttle_polls=sum(b is not None for _, b in self._bits),
            throttle_max_gap_s=None if gap is None else round(gap, 4),
            throttle_history=history,  # type: ignore[typeddict-item]
            throttle_note=note,
            flags=[f for f in FLAG_NAMES if f in flags],
            throttled=bool(flags) if has_throttle else None,
            poll_cpu_ms=None if self._cpu_s is None else round(1000 * self._cpu_s, 3),
            cooldown=cool,
            clock_start_s=None if t0 is None else round(t0, 6),
            samples=[[round(x[0] - (t0 or 0.0), 6), *x[1:]] for x in p],
            throttle_samples=[[round(t - (t0 or 0.0), 6), b] for t, b in self._bits],
        )


def build_health(options: HealthOptions | None, clock: Clock) -> HealthMonitor | None:
    """The run's monitor, or None when disabled or (auto) nothing is readable here."""
    opts = options or HealthOptions()
    if opts.enabled is False:
        return None
    monitor = HealthMonitor(opts, clock)
    monitor.check()
    return monitor if monitor.active else None
