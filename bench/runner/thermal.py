"""Thermal conditioning and readings per repetition: the SoC temperature and ARM clock at the
start and end of every repetition, and a bounded wait before each one until the board is
below ``health.cool_below_c`` and its ARM clock is back at its maximum.

Where the readings come from (``probe_for``):
- the simulated board (bench.simthermal) when a mock profile with ``thermal:`` is loaded:
  labelled simulated; its clock is at its maximum below the profile's throttle_c;
- else the board health monitor's reader (bench.meters.board: thermal_zone0 or vcgencmd
  measure_temp, vcgencmd measure_clock arm). "At its maximum" is then read from
  get_throttled: the current bits arm-capped (1), throttled (2) and soft temperature limit
  (3) clear: the firmware lets the ARM run at the clock the governor asks for. Without
  get_throttled: the clock that runs is within 2 % of the clock the kernel requested
  (scaling_cur_freq); without either, unknown (the wait is then on the temperature only).
  (Comparing with the top clock itself would wait for ever under the ondemand governor,
  which idles the Pi 5 at 1.5 GHz: see bench.doctor's governor check.)
- else nothing: no readings, no wait (the record says so by their absence).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bench import simthermal
from bench.clock import Clock

CAP_BITS = 0b1110
"""get_throttled "now" bits 1-3: ARM frequency capped, throttled, soft temperature limit."""


class Probe(Protocol):
    source: str
    simulated: bool

    def temp_c(self) -> float | None: ...

    def arm_mhz(self) -> float | None: ...

    def at_max(self) -> bool | None: ...


@dataclass
class SimulatedProbe:
    board: simthermal.ThermalBoard
    clock: Clock
    source: str = "simulated board (bench.simthermal)"
    simulated: bool = True

    def temp_c(self) -> float | None:
        # read between generations: the board has been idle since the last token
        return self.board.advance(self.clock.now(), self.board.idle_w)

    def arm_mhz(self) -> float | None:
        self.temp_c()
        return self.board.arm_mhz()

    def at_max(self) -> bool | None:
        return self.arm_mhz() == self.board.params.max_mhz


@dataclass
class BoardProbe:
    reader: Any  # bench.meters.board.BoardReader (probed by the health monitor)
    source: str = "board"
    simulated: bool = False

    def temp_c(self) -> float | None:
        v: float | None = self.reader.temp_c()
        return v

    def arm_mhz(self) -> float | None:
        v: float | None = self.reader.arm_mhz()
        return v

    def at_max(self) -> bool | None:
        bits = self.reader.throttled()
        if bits is not None:
            return not bits & CAP_BITS
        real, asked = self.reader.arm_mhz(), self.reader.arm_requested_mhz()
        if real is None or asked is None or asked <= 0:
            return None
        return bool(real >= 0.98 * asked)


def probe_for(clock: Clock, health: Any) -> Probe | None:
    """The probe of this moment: the simulated board if one is loaded, else the health
    monitor's reader (``health``: a bench.meters.health.HealthMonitor or None)."""
    board = simthermal.active()
    if board is not None:
        return SimulatedProbe(board, clock)
    if health is not None:
        sources = getattr(health, "sources", {}) or {}
        if sources.get("temp") or sources.get("clock"):
            where = ", ".join(f"{k}: {sources[k]}" for k in ("temp", "clock") if sources.get(k))
            return BoardProbe(health.reader, source=where)
    return None


def reading(probe: Probe) -> tuple[float | None, float | None]:
    t, m = probe.temp_c(), probe.arm_mhz()
    return (None if t is None else round(t, 2)), (None if m is None else round(m, 1))


def wait_ready(probe: Probe, clock: Clock, below_c: float, timeout_s: float,
               poll_s: float = 1.0) -> dict[str, Any]:
    """Wait (at most ``timeout_s``) until the SoC is below ``below_c`` and the clock is at its
    maximum; what happened, for the repetition's record."""
    t0 = clock.now()

    def ready() -> tuple[bool, float | None, bool | None]:
        temp, top = probe.temp_c(), probe.at_max()
        return (temp is None or temp < below_c) and top is not False, temp, top

    ok, temp, top = ready()
    while not ok and clock.now() - t0 < timeout_s:
        clock.sleep(poll_s)
        ok, temp, top = ready()
    return {"target_c": below_c, "reached": ok, "waited_s": round(clock.now() - t0, 3),
            "temp_c": None if temp is None else round(temp, 2), "clock_at_max": top}


def case_thermal(reps: Sequence[Mapping[str, object]], probe_source: str | None,
                 simulated: bool) -> dict[str, Any] | None:
    """The case's thermal state during generation: the mean of the readings at the start and
    end of its repetitions (temperature C, ARM clock MHz), and the time spent waiting for the
    board to cool; None when no repetition has a reading."""
    th = [t for r in reps if isinstance(t := r.get("thermal"), dict)]
    if not th:
        return None
    temps = [v for t in th for v in (t.get("temp_start_c"), t.get("temp_end_c"))
             if isinstance(v, int | float)]
    clocks = [v for t in th for v in (t.get("arm_mhz_start"), t.get("arm_mhz_end"))
              if isinstance(v, int | float)]
    waits = [t["cooled"]["waited_s"] for t in th if isinstance(t.get("cooled"), dict)]
    return {"temp_c_mean": round(statistics.fmean(temps), 2) if temps else None,
            "temp_c_max": max(temps) if temps else None,
            "arm_mhz_mean": round(statistics.fmean(clocks), 1) if clocks else None,
            "arm_mhz_min": min(clocks) if clocks else None,
            "n_readings": len(temps) + len(clocks),
            "cool_wait_s": round(sum(waits), 3) if waits else None,
            "method": "mean of the readings at the start and end of each repetition",
            "source": probe_source, "simulated": simulated}
