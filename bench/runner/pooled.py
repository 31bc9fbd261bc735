"""Pooling the figures of several visits of a case (a run with rounds) into one: health,
power and host load. Minima, maxima and sums are taken as such, means weighted by their
counts (polls, measured windows, tokens, seconds); spreads pooled within visits.
"""

from __future__ import annotations

import statistics
from typing import Any


def _weighted(values: list[tuple[float | None, float]]) -> float | None:
    pairs = [(v, w) for v, w in values if v is not None and w > 0]
    total = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / total if total else None


def _pick(values: list[Any], fn: Any) -> Any:
    vals = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return fn(vals) if vals else None


def merge_health(items: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The health summaries of a case's visits as one (bench.meters.health.HealthSummary)."""
    hs = [h for h in items if h]
    if len(hs) <= 1:
        return hs[0] if hs else None
    out = dict(hs[0])
    weights = [float(h.get("n_polls") or 0) for h in hs]
    for key in out:
        vals = [h.get(key) for h in hs]
        if key.endswith("_min"):
            out[key] = _pick(vals, min)
        elif key.endswith("_max") or key in ("temp_max_c", "throttle_max_gap_s"):
            out[key] = _pick(vals, max)
        elif key.endswith("_mean"):
            out[key] = _weighted(list(zip(vals, weights, strict=True)))
        elif key in ("n_polls", "throttle_polls", "poll_cpu_ms"):
            out[key] = _pick(vals, sum)
    out["temp_start_c"] = hs[0].get("temp_start_c")
    out["throttled_after"] = hs[-1].get("throttled_after")
    flags = [f for h in hs for f in h.get("flags") or []]
    out["flags"] = list(dict.fromkeys(flags))
    thr = [h.get("throttled") for h in hs]
    out["throttled"] = None if all(t is None for t in thr) else any(bool(t) for t in thr)
    hist = [h.get("throttle_history") for h in hs]
    out["throttle_history"] = next((x for x in ("throttled", "unknown", "clean") if x in hist),
                                   None)
    notes = [str(h["throttle_note"]) for h in hs if h.get("throttle_note")]
    out["throttle_note"] = "; ".join(dict.fromkeys(notes)) or None
    out["rounds_merged"] = len(hs)
    return out


def merge_host(items: list[Any]) -> Any:
    """Host-load summaries of the visits as one: windows summed, shares weighted by them."""
    hs = [h for h in items if h]
    if len(hs) <= 1:
        return hs[0] if hs else None
    w = [float(h.get("window_s") or 0) for h in hs]
    out = dict(hs[0])
    out["window_s"] = round(sum(w), 3)
    for key in ("other_cpu_pct", "steal_pct"):
        v = _weighted(list(zip([h.get(key) for h in hs], w, strict=True)))
        out[key] = None if v is None else round(v, 2)
    out["busy"] = any(bool(h.get("busy")) for h in hs)
    return out


_PHASE_MEANS = ("duration_s", "mean_w", "energy_j", "energy_above_idle_j")


def _merge_phase(phases: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(phases[0])
    w = [float(p.get("n_windows_measured") or 0) for p in phases]
    for key in _PHASE_MEANS:
        out[key] = _weighted(list(zip([p.get(key) for p in phases], w, strict=True)))
    sds = [(p.get("mean_w_stdev"), wi) for p, wi in zip(phases, w, strict=True)]
    var = _weighted([(None if s is None else s * s, wi) for s, wi in sds])
    out["mean_w_stdev"] = None if var is None else var ** 0.5  # pooled within visits
    for key in ("n_windows", "n_windows_measured", "n_samples"):
        out[key] = sum(int(p.get(key) or 0) for p in phases)
    out["peak_w"] = _pick([p.get("peak_w") for p in phases], max)
    out["reasons"] = list(dict.fromkeys(r for p in phases for r in p.get("reasons") or []))
    return out


def merge_power(items: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per meter, the visits' power results as one: phases pooled (means weighted by the
    measured windows, standard deviation pooled within visits), J/token weighted by tokens.
    The raw samples stay in each round's ``power``."""
    lists = [p for p in items if p]
    if len(lists) <= 1:
        return lists[0] if lists else []
    out = []
    for i, first in enumerate(lists[0]):
        rs = [p[i] for p in lists if i < len(p)]
        m = dict(first)
        tokens = [float(r.get("gen_tokens") or 0) for r in rs]
        for key in ("n_samples", "n_gaps", "gen_tokens"):
            m[key] = sum(int(r.get(key) or 0) for r in rs)
        m["gap_s"] = sum(float(r.get("gap_s") or 0) for r in rs)
        m["errors"] = list(dict.fromkeys(e for r in rs for e in r.get("errors") or []))
        m["rate_hz_achieved"] = _pick([r.get("rate_hz_achieved") for r in rs],
                                      statistics.fmean)
        for phase in ("prompt", "generation", "request"):
            if all(isinstance(r.get(phase), dict) for r in rs):
                m[phase] = _merge_phase([r[phase] for r in rs])
        for key in ("j_per_token", "j_per_token_generation", "j_per_token_above_idle",
                    "j_per_token_stdev"):
            m[key] = _weighted(list(zip([r.get(key) for r in rs], tokens, strict=True)))
        j = m.get("j_per_token")
        m["tokens_per_j"] = 1.0 / j if j else None
        m["samples"], m["rep_t_request_s"] = [], []
        m["estimated_input"] = None
        m["rounds_merged"] = len(rs)
        out.append(m)
    return out
