"""The simulated board's heat: a first-order thermal model with a throttling ARM clock.

SIMULATED. Nothing here is a measurement; whoever reports a figure from it labels it
simulated. It exists so that pibench's defences against drift (rounds, interleaved order,
per-repetition cooling, the drift test) can be tested without a Raspberry Pi.

The model (all on the run's clock, real or virtual):
  the SoC temperature T relaxes towards T_target = ambient_c + c_per_w x P with the time
  constant tau_s, where P is the power the simulated device draws (busy or idle watts):
      T(t + dt) = T_target + (T(t) - T_target) x exp(-dt / tau_s)     (P constant over dt)
  the ARM clock is max_mhz below throttle_c, falls linearly to min_mhz at floor_c and
  stays there above it (a stand-in for the firmware's soft limit and throttling: the real
  firmware steps the clock, it does not slide it);
  a token interval is multiplied by max_mhz / clock (generation slows with the clock:
  an ASSUMPTION, a memory-bound decode slows less than the clock does).

One board: every mock backend whose profile has a ``thermal:`` section shares the module's
``BOARD`` (two simulated devices of one Pi heat the same SoC). The first such backend sets
the board's parameters; ``reset()`` forgets them (tests, and a new run).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class ThermalParams:
    ambient_c: float
    """Temperature the idle board cools towards with no power drawn, C."""
    c_per_w: float
    """Steady-state rise per watt drawn, C/W."""
    tau_s: float
    """Time constant of heating and cooling, s."""
    throttle_c: float
    """Clock starts to fall here, C."""
    floor_c: float
    """Clock reaches min_mhz here, C."""
    max_mhz: float
    min_mhz: float
    assumption: str
    """Why these figures: stated, no published source backs a simulated board."""


class ThermalBoard:
    """The simulated SoC's temperature over time; thread-safe."""

    def __init__(self, params: ThermalParams, t0: float, idle_w: float) -> None:
        self.params = params
        self.idle_w = idle_w
        """Watts of the idle board: what it cools at between generations."""
        self._t = t0
        self._temp = params.ambient_c + params.c_per_w * idle_w
        """Start where the idle board settles."""
        self._lock = threading.Lock()

    def advance(self, t: float, watts: float) -> float:
        """Move the model to clock time ``t``, the device having drawn ``watts`` since the
        last call; the temperature at ``t``, C. A time before the last one changes nothing."""
        p = self.params
        with self._lock:
            dt = t - self._t
            if dt > 0:
                target = p.ambient_c + p.c_per_w * watts
                self._temp = target + (self._temp - target) * math.exp(-dt / p.tau_s)
                self._t = t
            return self._temp

    def temp_c(self) -> float:
        with self._lock:
            return self._temp

    def arm_mhz(self) -> float:
        p = self.params
        temp = self.temp_c()
        if temp <= p.throttle_c:
            return p.max_mhz
        if temp >= p.floor_c:
            return p.min_mhz
        frac = (temp - p.throttle_c) / (p.floor_c - p.throttle_c)
        return p.max_mhz - frac * (p.max_mhz - p.min_mhz)

    def slowdown(self) -> float:
        """How much longer a token interval takes at the current clock (>= 1)."""
        return self.params.max_mhz / self.arm_mhz()


BOARD: ThermalBoard | None = None
_lock = threading.Lock()


def board(params: ThermalParams, t0: float, idle_w: float) -> ThermalBoard:
    """The run's simulated board, made by the first backend that asks."""
    global BOARD
    with _lock:
        if BOARD is None:
            BOARD = ThermalBoard(params, t0, idle_w)
        return BOARD


def active() -> ThermalBoard | None:
    with _lock:
        return BOARD


def reset() -> None:
    global BOARD
    with _lock:
        BOARD = None
