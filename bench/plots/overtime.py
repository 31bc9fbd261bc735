"""The board over a run's time, as plain data (no matplotlib): SoC temperature, ARM clock
(measured and requested), the throttle bits and the power samples of every case, placed on
the run's clock.

Sources: ``health.samples`` / ``throttle_samples`` and ``power[].samples`` /
``idle_samples``, each relative to its ``clock_start_s`` (the run's clock when the window
opened; docs/results.md). Cases of one run share that clock; a resumed run is another
process, whose clock may start again (the virtual clock always starts at 1000 s): a case
whose samples begin before the previous case's end is placed right after it, and the
figure says so. Between two cases nothing was sampled (loading, warm-up): the lines break
there, they are never joined across a gap. Records written before these fields existed
have no times on the run's clock: what they lack is named, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Point = tuple[float, float | None]  # (s since the run's first sample, value; None: a gap)

FLAGS = ("under-voltage", "arm-capped", "throttled", "soft-temp-limit")
"""get_throttled bits 0-3 (bench.meters.health.FLAG_NAMES)."""
GAP_S = 1.0
"""Space left between two cases whose clocks could not be lined up (a resumed run)."""
OVERLAP_S = 1.0
"""A case starting this much before the previous one ended: the clock started again (a
meter's last sample and the next case's first can share an instant, or differ by rounding)."""


@dataclass
class Span:
    case_id: str
    backend: str
    start: float
    end: float


@dataclass
class OverTime:
    run: str
    spans: list[Span] = field(default_factory=list)
    temp: list[Point] = field(default_factory=list)
    arm: list[Point] = field(default_factory=list)
    requested: list[Point] = field(default_factory=list)
    throttle: list[Point] = field(default_factory=list)  # value: the integer bits
    power: dict[str, list[Point]] = field(default_factory=dict)  # meter label -> samples
    sources: dict[str, str] = field(default_factory=dict)  # reading -> where it came from
    restarted: bool = False  # a case's clock started again (placed after the previous one)
    missing: list[str] = field(default_factory=list)  # what is not drawn, and why

    @property
    def has_health(self) -> bool:
        return any(v is not None for _, v in self.temp + self.arm + self.throttle)

    @property
    def has_power(self) -> bool:
        return any(v is not None for pts in self.power.values() for _, v in pts)


def _pairs(rows: Any, col: int, t0: float) -> list[Point]:
    out: list[Point] = []
    for row in rows or []:
        if isinstance(row, list) and len(row) > col and isinstance(row[0], int | float):
            v = row[col]
            out.append((t0 + float(row[0]), float(v) if isinstance(v, int | float) else None))
    return out


def _meter(entry: dict[str, Any]) -> str:
    sim = ", simulated" if entry.get("simulated") else ""
    return f"{entry.get('source', '?')}{sim}"


def _anchor(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _case(record: dict[str, Any]) -> dict[str, list[Point]]:
    """One record's series on the run's clock (not yet shifted), by name."""
    out: dict[str, list[Point]] = {}
    h = record.get("health") if isinstance(record.get("health"), dict) else None
    t0 = _anchor(h.get("clock_start_s")) if h else None
    if h and t0 is not None:
        for name, col in (("temp", 1), ("arm", 2), ("requested", 3)):
            out[name] = _pairs(h.get("samples"), col, t0)
        out["throttle"] = _pairs(h.get("throttle_samples"), 1, t0)
    for p in record.get("power") or []:
        t0 = _anchor(p.get("clock_start_s")) if isinstance(p, dict) else None
        if t0 is None:
            continue
        idle, measured = _pairs(p.get("idle_samples"), 1, t0), _pairs(p.get("samples"), 1, t0)
        rate = _anchor(p.get("rate_hz_target")) or 1.0
        if idle and measured and measured[0][0] - idle[-1][0] > 2.0 / rate:
            idle.append(((idle[-1][0] + measured[0][0]) / 2, None))  # not sampled between
        out.setdefault("power:" + _meter(p), []).extend(idle + measured)
    return out


def _why_missing(records: list[dict[str, Any]]) -> list[str]:
    health: list[dict[str, Any]] = [r["health"] for r in records
                                    if isinstance(r.get("health"), dict)]
    power = [p for r in records for p in r.get("power") or [] if isinstance(p, dict)]
    out = []
    if not health:
        out.append("temperature, ARM clock and throttle: no board health readings in this run "
                   "(health null in every case: health disabled, or no thermal zone and no "
                   "vcgencmd on this machine)")
    elif not any(h.get("clock_start_s") is not None for h in health):
        out.append("temperature, ARM clock and throttle: the run's health figures have no "
                   "polls with their times (recorded by an older pibench)")
    if not power:
        out.append("power: no power meter in this run")
    elif not any(p.get("clock_start_s") is not None for p in power):
        out.append("power: the samples have no place on the run's clock (recorded by an "
                   "older pibench)")
    return out


def over_time(run: str, records: list[dict[str, Any]],
              whole: Callable[[dict[str, Any]], dict[str, Any] | None] = lambda r: r,
              ) -> OverTime:
    """The run's series (``whole``: a record with its raw arrays, see
    ``data.pick_timelines``); ``missing`` says what could not be drawn and why."""
    ot = OverTime(run=run)
    cases = [r for r in records if r.get("health") or r.get("power")]
    shift, last_end, t_zero = 0.0, None, None
    series: dict[str, list[Point]] = {}
    for r in cases:
        full = whole(r)
        if full is None:
            continue
        got = {k: v for k, v in _case(full).items() if v}
        times = [t for pts in got.values() for t, _ in pts]
        if not times:
            continue
        start = min(times) + shift
        if last_end is not None and start < last_end - OVERLAP_S:  # the clock started again
            shift += last_end + GAP_S - start
            ot.restarted = True
        start, end = min(times) + shift, max(times) + shift
        t_zero = start if t_zero is None else t_zero
        for name, pts in got.items():
            line = series.setdefault(name, [])
            if line:
                line.append(((line[-1][0] + start - t_zero) / 2, None))  # no line across
            line.extend((t + shift - t_zero, v) for t, v in pts)
        ot.spans.append(Span(str(full.get("case_id")),
                             str((full.get("backend") or {}).get("name", "?")),
                             start - t_zero, end - t_zero))
        h = full.get("health") if isinstance(full.get("health"), dict) else {}
        for k, v in (h.get("sources") or {}).items() if isinstance(h, dict) else ():
            if v and k in ("temp", "clock", "requested_clock", "throttle"):
                ot.sources.setdefault(k, str(v))
        last_end = end
    ot.temp, ot.arm = series.get("temp", []), series.get("arm", [])
    ot.requested, ot.throttle = series.get("requested", []), series.get("throttle", [])
    ot.power = {k.removeprefix("power:"): v for k, v in series.items() if k.startswith("power:")}
    ot.missing = _why_missing(cases or records)
    if not ot.has_health and not any(m.startswith("temperature") for m in ot.missing):
        ot.missing.append("temperature, ARM clock and throttle: no reading answered")
    if ot.has_health and not ot.has_power and not any(m.startswith("power") for m in ot.missing):
        ot.missing.append("power: no power sample answered")
    mixed = sum(1 for r in records if r.get("mixed"))
    if mixed:
        ot.missing.append(f"{mixed} mixed case(s): their power is kept per phase only "
                          "(mixed.power), without samples")
    return ot


def flag_spans(points: list[Point], bit: int) -> tuple[list[tuple[float, float]], int, int]:
    """(spans where ``bit`` was set: from a poll that saw it to the next poll, polls that
    answered, polls that saw it set)."""
    spans, answered, seen = [], 0, 0
    for (t, v), (t_next, _) in zip(points, [*points[1:], (points[-1][0], None)] if points
                                    else [], strict=True):
        if v is None:
            continue
        answered += 1
        if int(v) >> bit & 1:
            seen += 1
            spans.append((t, max(t_next, t)))
    return spans, answered, seen
