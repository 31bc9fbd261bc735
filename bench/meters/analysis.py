"""From a power recording and the token timeline to watts, joules and tokens per joule.

Integration: the power curve is the straight line between consecutive valid samples
(trapezoid rule over sample times); a window's edges are interpolated on that line, so a
window is integrated exactly over [start, end], never as mean x duration. Before the first
and after the last valid sample the nearest reading is held for at most one sample period.

Rules that give null rather than a guess (see ``WindowFigures.reason``):
- fewer than ``min_samples`` (2) valid samples inside the window: no mean, peak or energy;
- the window reaches more than one sample period beyond the recorded samples: no energy;
- a gap longer than ``max_gap_periods`` (3) sample periods overlaps the window: no energy.
A gap is an interval between two valid samples that holds a failed reading (None) or is
longer than ``max_gap_periods`` periods; shorter gaps are bridged by the line but counted
(``n_gaps``, ``gap_s``: total length of the gap intervals).

Phases of a repetition: prompt = [t_request, t_first], generation = [t_first, t_end],
request = [t_request, t_end]. Case figures pool the repetitions whose window has a figure.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypedDict

from bench.meters.base import PowerSample, Recording

MIN_SAMPLES = 2
MAX_GAP_PERIODS = 3.0
EDGE_HOLD_PERIODS = 1.0


@dataclass(frozen=True)
class RepWindow:
    """One measured repetition on the run's clock (seconds)."""

    t_request: float
    t_first: float | None
    """First token's time; None if no token came (then only the request window counts)."""
    t_end: float
    prompt_tokens: int | None
    gen_tokens: int


@dataclass(frozen=True)
class WindowFigures:
    start: float
    end: float
    n_samples: int
    """Valid samples inside [start, end]."""
    mean_w: float | None
    peak_w: float | None
    energy_j: float | None
    reason: str | None = None
    """Why a figure is null, e.g. "too few samples (1 < 2)"."""

    @property
    def duration_s(self) -> float:
        return self.end - self.start


class Curve:
    """Valid samples of a recording, with its gap intervals, ready for window queries."""

    def __init__(
        self,
        samples: Sequence[PowerSample],
        rate_hz: float,
        *,
        t_start: float | None = None,
        t_end: float | None = None,
        max_gap_periods: float = MAX_GAP_PERIODS,
        min_samples: int = MIN_SAMPLES,
    ) -> None:
        self.period = 1.0 / rate_hz
        self.min_samples = min_samples
        ordered = sorted(samples, key=lambda s: s.t)
        self.ts: list[float] = []
        self.ws: list[float] = []
        failed_between: list[bool] = []  # per interval ts[i] -> ts[i+1]
        pending = False
        leading = trailing = 0.0
        for s in ordered:
            if s.watts is None or math.isnan(s.watts):
                pending = True
                continue
            if self.ts:
                failed_between.append(pending)
            elif pending and t_start is not None:
                leading = max(0.0, s.t - t_start)  # failed readings before the first valid one
            pending = False
            self.ts.append(s.t)
            self.ws.append(float(s.watts))
        if pending:
            last = self.ts[-1] if self.ts else (t_start if t_start is not None else ordered[0].t)
            end = t_end if t_end is not None else ordered[-1].t
            trailing = max(0.0, end - last)
        limit = max_gap_periods * self.period
        self.long: list[bool] = []
        self.n_gaps = int(leading > 0) + int(trailing > 0)
        self.gap_s = leading + trailing
        for i, failed in enumerate(failed_between):
            length = self.ts[i + 1] - self.ts[i]
            is_long = length > limit + 1e-9
            self.long.append(is_long)
            if failed or is_long:
                self.n_gaps += 1
                self.gap_s += length

    def window(self, a: float, b: float) -> WindowFigures:
        ts, ws = self.ts, self.ws
        i0 = bisect.bisect_left(ts, a)
        i1 = bisect.bisect_right(ts, b)
        n_in = max(0, i1 - i0)
        if b <= a:
            return WindowFigures(a, b, n_in, None, None, None, "empty window")
        if n_in < self.min_samples:
            return WindowFigures(
                a, b, n_in, None, None, None, f"too few samples ({n_in} < {self.min_samples})"
            )
        peak = max(ws[i0:i1])
        hold = EDGE_HOLD_PERIODS * self.period + 1e-9
        if ts[0] - a > hold or b - ts[-1] > hold:
            return WindowFigures(a, b, n_in, None, peak, None, "window outside the recording")
        energy = 0.0
        if a < ts[0]:
            energy += (ts[0] - a) * ws[0]
        if b > ts[-1]:
            energy += (b - ts[-1]) * ws[-1]
        for j in range(max(i0 - 1, 0), min(i1, len(ts) - 1)):
            t0, t1 = ts[j], ts[j + 1]
            x0, x1 = max(a, t0), min(b, t1)
            if x1 <= x0:
                continue
            if self.long[j]:
                return WindowFigures(
                    a, b, n_in, None, peak, None, f"gap of {t1 - t0:.3f} s in the window"
                )
            w0, w1 = ws[j], ws[j + 1]
            slope = (w1 - w0) / (t1 - t0)
            energy += (x1 - x0) * (w0 + slope * (x0 - t0) + w0 + slope * (x1 - t0)) / 2
        return WindowFigures(a, b, n_in, energy / (b - a), peak, energy)


class IdleSummary(TypedDict):
    duration_s: float
    n_samples: int
    mean_w: float | None
    """Time-weighted mean power over the idle window before the case, W."""
    peak_w: float | None
    reason: str | None


class PhaseSummary(TypedDict):
    n_windows: int
    """Repetitions that have this phase."""
    n_windows_measured: int
    """Repetitions whose window has an energy figure (the others are null)."""
    n_samples: int
    """Valid samples inside the windows, all repetitions."""
    duration_s: float | None
    """Mean duration of the phase per repetition, s."""
    mean_w: float | None
    """Energy / duration, pooled over the measured repetitions, W."""
    mean_w_stdev: float | None
    """Spread of the per-repetition mean power (sample stdev), W; null below 2."""
    peak_w: float | None
    """Highest reading inside any window, W."""
    energy_j: float | None
    """Mean energy per repetition over the measured ones, J."""
    energy_above_idle_j: float | None
    """Same, minus idle mean W x duration, J."""
    reasons: list[str]
    """Why windows have no figure (distinct)."""


class PowerResult(TypedDict):
    """One meter's figures for one case. Units are in the key names (W, J, s, Hz)."""

    source: str
    """Meter kind: pmic | hwmon | shelly | tasmota | rapl | hailo | mock."""
    label: str
    covers: str
    """What the figure includes (e.g. SoC rails only, not the NPU; whole setup at the wall)."""
    simulated: bool
    meta: dict[str, Any]
    """The meter's own facts: basis (raw rail sum / estimated input + fit), device, path."""
    rate_hz_target: float
    rate_hz_achieved: float | None
    n_samples: int
    """All samples of the measured window, failed ones included."""
    n_gaps: int
    gap_s: float
    errors: list[str]
    """Distinct reading errors (each once)."""
    idle: IdleSummary | None
    prompt: PhaseSummary
    generation: PhaseSummary
    request: PhaseSummary
    """Whole repetition: request to last token."""
    gen_tokens: int
    """Generated tokens of the measured repetitions (for the J/token figures)."""
    j_per_token: float | None
    """Request energy (prompt + generation) / generated tokens, J."""
    j_per_token_stdev: float | None
    j_per_token_generation: float | None
    """Generation-phase energy / tokens after the first (decode only), J."""
    j_per_token_above_idle: float | None
    """(Request energy - idle W x duration) / generated tokens, J."""
    tokens_per_j: float | None
    """Generated tokens / request energy (1 / j_per_token)."""
    samples: list[list[float | None]]
    """[t_s, W] of the measured window; t relative to its start; W null for a gap."""
    idle_samples: list[list[float | None]]
    """[t_s, W] of the idle window, on the same axis (negative times)."""
    rep_t_request_s: list[float]
    """Each repetition's request time on the samples' axis, s: a repetition's token times
    (relative to its request) plus this line up with the samples."""
    estimated_input: dict[str, Any] | None
    """A meter's secondary figure from its stated fit (pi5-pmic ``estimate_input``): the
    same phases and J/token computed from the fitted samples, with ``fit``; else null."""
    clock_start_s: float
    """The run's clock (s) when the measured window opened: ``samples`` (t 0) sit at this
    time of the run (bench.clock: one clock for the whole run), for plots over the run."""


def achieved_rate(rec: Recording) -> float | None:
    if len(rec.samples) < 2:
        return None
    span = rec.samples[-1].t - rec.samples[0].t
    return (len(rec.samples) - 1) / span if span > 0 else None


def _stdev(values: list[float]) -> float | None:
    return statistics.stdev(values) if len(values) >= 2 else None


def _phase(
    curve: Curve, spans: list[tuple[float, float] | None], idle_w: float | None
) -> PhaseSummary:
    figs = [curve.window(a, b) for a, b in (s for s in spans if s is not None)]
    measured = [f for f in figs if f.energy_j is not None]
    peaks = [f.peak_w for f in figs if f.peak_w is not None]
    e_sum = sum(f.energy_j for f in measured if f.energy_j is not None)
    d_sum = sum(f.duration_s for f in measured)
    mean_e = e_sum / len(measured) if measured else None
    above = None
    if mean_e is not None and idle_w is not None:
        above = mean_e - idle_w * d_sum / len(measured)
    return PhaseSummary(
        n_windows=len(figs),
        n_windows_measured=len(measured),
        n_samples=sum(f.n_samples for f in figs),
        duration_s=sum(f.duration_s for f in figs) / len(figs) if figs else None,
        mean_w=e_sum / d_sum if measured and d_sum > 0 else None,
        mean_w_stdev=_stdev([f.mean_w for f in measured if f.mean_w is not None]),
        peak_w=max(peaks) if peaks else None,
        energy_j=mean_e,
        energy_above_idle_j=above,
        reasons=sorted({f.reason for f in figs if f.reason}),
    )


def summarize_idle(idle: Recording, **kw: Any) -> IdleSummary:
    curve = Curve(idle.samples, idle.rate_hz, t_start=idle.t_start, t_end=idle.t_end, **kw)
    f = curve.window(idle.t_start, idle.t_end)
    return IdleSummary(
        duration_s=f.duration_s, n_samples=f.n_samples, mean_w=f.mean_w, peak_w=f.peak_w,
        reason=f.reason,
    )


def _rel(samples: Sequence[PowerSample], t0: float) -> list[list[float | None]]:
    return [[round(s.t - t0, 6), None if s.watts is None else round(s.watts, 6)] for s in samples]


def summarize(
    rec: Recording,
    windows: Sequence[RepWindow],
    idle: Recording | None = None,
    *,
    min_samples: int = MIN_SAMPLES,
    max_gap_periods: float = MAX_GAP_PERIODS,
) -> PowerResult:
    """One meter's ``PowerResult`` for a case from its recording and the repetitions."""
    kw: dict[str, Any] = {"min_samples": min_samples, "max_gap_periods": max_gap_periods}
    curve = Curve(rec.samples, rec.rate_hz, t_start=rec.t_start, t_end=rec.t_end, **kw)
    idle_sum = summarize_idle(idle, **kw) if idle is not None else None
    idle_w = idle_sum["mean_w"] if idle_sum else None

    prompt_spans = [(w.t_request, w.t_first) if w.t_first is not None else None for w in windows]
    gen_spans = [(w.t_first, w.t_end) if w.t_first is not None else None for w in windows]
    request_spans: list[tuple[float, float] | None] = [(w.t_request, w.t_end) for w in windows]

    # J/token from the repetitions whose request window has an energy figure
    tokens = tok_gen = 0
    e_req = e_gen = e_above = 0.0
    per_rep: list[float] = []
    above_ok = idle_w is not None
    gen_ok = True
    for w in windows:
        f = curve.window(w.t_request, w.t_end)
        if f.energy_j is None or w.gen_tokens <= 0:
            continue
        tokens += w.gen_tokens
        e_req += f.energy_j
        per_rep.append(f.energy_j / w.gen_tokens)
        if idle_w is not None:
            e_above += f.energy_j - idle_w * f.duration_s
        g = curve.window(w.t_first, w.t_end) if w.t_first is not None else None
        if g is None or g.energy_j is None:
            gen_ok = False
        elif w.gen_tokens > 1:
            e_gen += g.energy_j
            tok_gen += w.gen_tokens - 1
    have = tokens > 0 and e_req > 0
    return PowerResult(
        source=str(rec.meta.get("kind", rec.source)),
        label=rec.source,
        covers=rec.covers,
        simulated=rec.simulated,
        meta=dict(rec.meta),
        rate_hz_target=rec.rate_hz,
        rate_hz_achieved=achieved_rate(rec),
        n_samples=len(rec.samples),
        n_gaps=curve.n_gaps,
        gap_s=curve.gap_s,
        errors=list(rec.errors),
        idle=idle_sum,
        prompt=_phase(curve, prompt_spans, idle_w),
        generation=_phase(curve, gen_spans, idle_w),
        request=_phase(curve, request_spans, idle_w),
        gen_tokens=tokens,
        j_per_token=e_req / tokens if have else None,
        j_per_token_stdev=_stdev(per_rep),
        j_per_token_generation=e_gen / tok_gen if gen_ok and tok_gen > 0 else None,
        j_per_token_above_idle=e_above / tokens if have and above_ok else None,
        tokens_per_j=tokens / e_req if have else None,
        samples=_rel(rec.samples, rec.t_start),
        idle_samples=_rel(idle.samples, rec.t_start) if idle is not None else [],
        rep_t_request_s=[round(w.t_request - rec.t_start, 6) for w in windows],
        estimated_input=None,
        clock_start_s=round(rec.t_start, 6),
    )


ESTIMATE_KEYS = ("idle", "prompt", "generation", "request", "j_per_token",
                 "j_per_token_generation", "j_per_token_above_idle", "tokens_per_j")


def fitted(rec: Recording, fit: Callable[[float], float]) -> Recording:
    """The recording with every valid sample passed through ``fit`` (gaps stay gaps)."""
    samples = [PowerSample(s.t, None if s.watts is None else fit(s.watts)) for s in rec.samples]
    return replace(rec, samples=samples)


def summarize_estimate(
    rec: Recording, windows: Sequence[RepWindow], idle: Recording | None,
    fit: Callable[[float], float], about: dict[str, Any],
) -> dict[str, Any]:
    """``estimated_input``: the figures of ``summarize`` on the fitted samples, and ``fit``."""
    r = summarize(fitted(rec, fit), windows, None if idle is None else fitted(idle, fit))
    return {"fit": about, **{k: r[k] for k in ESTIMATE_KEYS}}  # type: ignore[literal-required]
