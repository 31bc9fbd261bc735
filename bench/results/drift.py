"""Drift: does a case's speed move over its repetitions, in time order, beyond the noise?

Test: Mann-Kendall on the values in the order they were measured. S = sum over pairs i < j
of sign(x_j - x_i); with ties, Var(S) = [n(n-1)(2n+5) - sum over tie groups t(t-1)(2t+5)]
/ 18; z = (S - sign(S)) / sqrt(Var S) (continuity correction); p two-sided from the normal
law. Needs n >= MIN_N: with fewer values p cannot fall below 0.05 (n = 4: at best 0.09).
Size: Sen's slope (the median of the pairwise slopes (x_j - x_i) / (j - i), per
repetition) x (n - 1), as a percentage of the median: the change from the first to the last
repetition that the trend explains.

A case is ``drifting`` when p < ALPHA and the change is at least MIN_CHANGE_PCT (a trend
smaller than 1 % is real but does not matter to a comparison, the rule pibench compare uses).
Across rounds: each round's mean and the change from the first round's mean to the last's.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

MIN_N = 5
ALPHA = 0.05
MIN_CHANGE_PCT = 1.0
METRICS = (("gen_tps", "tg"), ("prompt_tps", "pp"))
"""What is tested, and its short name in the label."""


def mann_kendall(values: Sequence[float]) -> tuple[int, float, float]:
    """(S, z, p two-sided) of the Mann-Kendall trend test."""
    n = len(values)
    s = 0
    for i in range(n - 1):
        for j in range(i + 1, n):
            d = values[j] - values[i]
            s += (d > 0) - (d < 0)
    ties: dict[float, int] = {}
    for v in values:
        ties[v] = ties.get(v, 0) + 1
    var = (n * (n - 1) * (2 * n + 5)
           - sum(t * (t - 1) * (2 * t + 5) for t in ties.values())) / 18.0
    if var <= 0:
        return s, 0.0, 1.0
    z = (s - (1 if s > 0 else -1 if s < 0 else 0)) / math.sqrt(var)
    p = math.erfc(abs(z) / math.sqrt(2.0))
    return s, z, p


def sen_slope(values: Sequence[float]) -> float:
    """Median of the pairwise slopes per step of the sequence."""
    slopes = [(values[j] - values[i]) / (j - i)
              for i in range(len(values) - 1) for j in range(i + 1, len(values))]
    return statistics.median(slopes) if slopes else 0.0


def trend(values: Sequence[float]) -> dict[str, Any] | None:
    """The test's figures for values in time order; None below MIN_N values."""
    n = len(values)
    if n < MIN_N:
        return None
    s, z, p = mann_kendall(values)
    mid = statistics.median(values)
    slope = sen_slope(values)
    change = 100.0 * slope * (n - 1) / mid if mid else 0.0
    return {"test": "Mann-Kendall", "n": n, "s": s, "z": round(z, 4), "p": round(p, 5),
            "sen_slope_per_rep": round(slope, 6), "change_pct": round(change, 3),
            "drifting": p < ALPHA and abs(change) >= MIN_CHANGE_PCT}


def by_round(reps: Sequence[Mapping[str, object]], key: str) -> dict[str, Any] | None:
    """Each round's mean of ``key`` and the change from the first round to the last, %;
    None when the reps carry no round (a run without rounds) or there is one round."""
    rounds: dict[int, list[float]] = {}
    for r in reps:
        v, rnd = r.get(key), r.get("round")
        if isinstance(rnd, int) and isinstance(v, int | float):
            rounds.setdefault(rnd, []).append(float(v))
    if len(rounds) < 2:
        return None
    means = [statistics.fmean(rounds[k]) for k in sorted(rounds)]
    overall = statistics.fmean(means)
    return {"means": [round(m, 4) for m in means],
            "n": [len(rounds[k]) for k in sorted(rounds)],
            "change_pct": round(100.0 * (means[-1] - means[0]) / overall, 3) if overall else None,
            "spread_pct": round(100.0 * (max(means) - min(means)) / overall, 3)
            if overall else None}


def drift(reps: Sequence[Mapping[str, object]]) -> dict[str, Any] | None:
    """Per metric (METRICS): the trend over the repetitions in the order measured and the
    rounds' means; None when no metric has MIN_N values and no rounds."""
    out: dict[str, Any] = {}
    for key, _short in METRICS:
        values = [float(v) for r in reps if isinstance(v := r.get(key), int | float)]
        t = trend(values)
        rounds = by_round(reps, key)
        if t is None and rounds is None:
            continue
        out[key] = {**(t or {"test": None, "n": len(values), "drifting": False}),
                    "rounds": rounds}
    return out or None


def label(d: dict[str, Any] | None) -> str | None:
    """"drifting: tg -8.1 % over 9 reps (p=0.002)" (Mann-Kendall) for the first drifting
    metric; None when none drifts."""
    for key, short in METRICS:
        m = (d or {}).get(key)
        if m and m.get("drifting"):
            p = "p<0.001" if m["p"] < 0.001 else f"p={m['p']:.3f}"
            return f"drifting: {short} {m['change_pct']:+.1f} % over {m['n']} reps ({p})"
    return None
