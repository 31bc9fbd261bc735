"""What the runner calls around each case: build and check the meters once, then per case
an idle baseline, the tracked repetitions, and the summary.

    meters = build_meters(config.meters, clock)       # before any model is loaded
    warnings = check_meters(meters)                   # exit 2 on a non-optional meter
    health = build_health(config.health, clock)       # bench.meters.health
    cm = CaseMeters(meters, health, clock, idle_s)
    cm.idle_baseline()
    with cm.track():
        ...                                           # the measured repetitions
    power, health_summary = cm.summary(windows)

``power`` is one ``PowerResult`` (bench.meters.analysis) per meter; ``health_summary`` a
``HealthSummary`` (bench.meters.health) or None.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

from pydantic import ValidationError

from bench.clock import Clock
from bench.errors import MeterUnavailable, UserError
from bench.meters.analysis import PowerResult, RepWindow, summarize, summarize_estimate
from bench.meters.base import MeterOptions, PowerMeter, Recording
from bench.meters.health import HealthMonitor, HealthSummary
from bench.registry import meter_entry


def parse_meter_options(raw: dict[str, Any], where: str = "meters") -> MeterOptions:
    """Validate one ``meters:`` entry with its meter's Options model; one-line UserError."""
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise UserError(f"{where}: each meter needs a `type:` (e.g. pi5-pmic, shelly, rapl)")
    cls = meter_entry(kind).options_cls()
    try:
        opts: MeterOptions = cls.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(entry)"
        raise UserError(f"{where}: meter {kind!r}, field {field!r}: {err['msg']}") from None
    return opts


def build_meters(options_list: Sequence[MeterOptions], clock: Clock) -> list[PowerMeter]:
    meters: list[PowerMeter] = []
    for i, opts in enumerate(options_list):
        entry = meter_entry(opts.type)
        opt_cls = entry.options_cls()
        if not isinstance(opts, opt_cls):
            opts = parse_meter_options(opts.model_dump(exclude_unset=True), f"meters[{i}]")
        meter = entry.meter_cls()(opts, clock=clock)
        if clock.virtual and not meter.simulated:
            raise UserError(
                f"meters[{i}]: meter {opts.type!r} reads real hardware but the run's clock is"
                " virtual; use `clock: real` or the `mock` meter"
            )
        meters.append(meter)
    return meters


def check_meters(meters: list[PowerMeter]) -> list[str]:
    """Check every meter once, before any model is loaded. A non-optional meter that cannot
    be read raises MeterUnavailable (one line); optional ones are removed from ``meters``
    (in place) and a warning line is returned for each."""
    warnings: list[str] = []
    for meter in list(meters):
        try:
            meter.check()
        except MeterUnavailable as exc:
            if not meter.options.optional:
                raise MeterUnavailable(
                    f"meter {meter.label!r}: {exc} (or mark it `optional: true`)"
                ) from None
            warnings.append(f"meter {meter.label!r} left out: {exc}")
            meter.close()
            meters.remove(meter)
    return warnings


class CaseMeters:
    def __init__(
        self,
        meters: Sequence[PowerMeter],
        health: HealthMonitor | None,
        clock: Clock,
        idle_s: float,
    ) -> None:
        self.meters = list(meters)
        self.health = health
        self.clock = clock
        self.idle_s = idle_s
        self.idle: dict[int, Recording] = {}
        self.recordings: dict[int, Recording] = {}

    def idle_baseline(self) -> None:
        """Wait for the board to cool (if configured), then record idle for ``idle_s``."""
        if self.health is not None and self.health.options.cool_below_c is not None:
            o = self.health.options
            assert o.cool_below_c is not None
            self.health.wait_cool(o.cool_below_c, o.cool_timeout_s)
        self.idle = {}
        if not self.meters or self.idle_s <= 0:
            return
        with ExitStack() as stack:
            recs = [stack.enter_context(m.track()) for m in self.meters]
            self.clock.sleep(self.idle_s)
        self.idle = dict(enumerate(recs))

    @contextmanager
    def track(self) -> Iterator[CaseMeters]:
        with ExitStack() as stack:
            if self.health is not None:
                stack.enter_context(self.health.track())
            recs = [stack.enter_context(m.track()) for m in self.meters]
            self.recordings = dict(enumerate(recs))
            yield self

    def summary(
        self, windows: Sequence[RepWindow]
    ) -> tuple[list[PowerResult], HealthSummary | None]:
        power = []
        for i, rec in self.recordings.items():
            result = summarize(rec, windows, self.idle.get(i))
            est = self.meters[i].estimate()
            if est is not None:
                result["estimated_input"] = summarize_estimate(
                    rec, windows, self.idle.get(i), *est)
            power.append(result)
        return power, (self.health.summary() if self.health is not None else None)

    def close(self) -> None:
        for m in self.meters:
            m.close()
