"""What the runner measures around each case besides tokens: power, board health.

Built once per run, before any model is loaded, so that a meter that cannot be read stops
the run at once (exit 2) unless the config marks it optional.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.backends.base import GenerationStats, TokenEvent
from bench.clock import Clock, RealClock
from bench.config.loader import ResolvedConfig


@dataclass
class CaseInstruments:
    meters: Any  # bench.meters.case.CaseMeters

    def before_case(self) -> None:
        """Wait for the board to cool (if configured), then the idle power baseline."""
        self.meters.idle_baseline()

    @contextmanager
    def track(self) -> Iterator[None]:
        with self.meters.track():
            yield

    def summary(self, reps: list[tuple[GenerationStats, list[TokenEvent]]]) -> dict[str, Any]:
        from bench.meters.analysis import RepWindow

        windows = [
            RepWindow(
                t_request=stats.t_request,
                t_first=events[0].t if events else None,
                t_end=events[-1].t if events else stats.t_request,
                prompt_tokens=stats.prompt_tokens,
                gen_tokens=stats.gen_tokens,
            )
            for stats, events in reps
        ]
        power, health = self.meters.summary(windows)
        return {"power": power, "health": health}


@dataclass
class Instruments:
    meters: list[Any] = field(default_factory=list)
    health: Any = None
    idle_s: float = 0.0
    clock: Clock = field(default_factory=RealClock)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, cfg: ResolvedConfig, clock: Clock) -> Instruments:
        inst = cls(idle_s=cfg.run.idle_s, clock=clock)
        if cfg.meters:
            from bench.meters.case import build_meters, check_meters

            inst.meters = build_meters(cfg.meters, clock)  # type: ignore[arg-type]
            inst.warnings = check_meters(inst.meters)  # drops optional meters not readable
        from bench.meters.gencmd import take_warnings
        from bench.meters.health import build_health

        inst.health = build_health(cfg.health, clock)  # type: ignore[arg-type]
        inst.warnings += take_warnings()  # a mailbox that fell back to vcgencmd processes
        return inst

    def for_case(self) -> CaseInstruments | None:
        if not self.meters and self.health is None:
            return None
        from bench.meters.case import CaseMeters

        cm = CaseMeters(self.meters, self.health, self.clock, self.idle_s if self.meters else 0.0)
        return CaseInstruments(cm)

    def close(self) -> None:
        for m in self.meters:
            m.close()
        if self.health is not None:
            self.health.close()
