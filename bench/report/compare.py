"""Compare two runs case by case: ratio B/A of the medians, flagged when beyond the noise.

Noise rule (Welch's t test at 99 %, two-sided): a difference counts when
|mean_B - mean_A| > t(0.995, df) x sqrt(sd_A²/n_A + sd_B²/n_B), df by Welch-Satterthwaite,
AND the ratio is off 1 by more than 1 %. With fewer than 2 repetitions on either side there
is no spread, so no verdict ("?"). Many cases compared at 99 % still give about one false
flag per hundred: read a lone flag with care.
"""

from __future__ import annotations

import math
from typing import Any

from bench.report.rows import NA, summary

# two-sided 99 % quantiles of Student's t, df = 1..30; beyond 30 the normal 2.576 is close
_T995 = [63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169, 3.106, 3.055,
         3.012, 2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797,
         2.787, 2.779, 2.771, 2.763, 2.756, 2.750]


def t_crit(df: float) -> float:
    if df >= len(_T995):
        return 2.576
    return _T995[max(0, int(df) - 1)]  # rounding df down is the conservative side


KEYS = [("gen_tps", "tg t/s", True), ("prompt_tps", "pp t/s", True), ("ttft_s", "TTFT s", False)]
ENV_KEYS = ["cpu", "board", "cpu_physical_cores", "memory_total_mb", "kernel"]


def verdict(a: dict[str, Any] | None, b: dict[str, Any] | None,
            higher_is_better: bool) -> tuple[float | None, str]:
    if not a or not b or a.get("median") in (None, 0) or b.get("median") is None:
        return None, NA
    ratio = b["median"] / a["median"]
    sa, sb, na, nb = a.get("stddev"), b.get("stddev"), a.get("n", 0), b.get("n", 0)
    if sa is None or sb is None or na < 2 or nb < 2:
        return ratio, "?"
    va, vb = sa**2 / na, sb**2 / nb
    se = math.sqrt(va + vb)
    if se == 0:
        differs = b["mean"] != a["mean"]
    else:
        df = (va + vb) ** 2 / ((va**2 / (na - 1) if va else 0) + (vb**2 / (nb - 1) if vb else 0))
        differs = abs(b["mean"] - a["mean"]) > t_crit(df) * se
    if not differs or abs(ratio - 1) <= 0.01:
        return ratio, "~"
    better = (ratio > 1) == higher_is_better
    return ratio, "better" if better else "WORSE"


def compare(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[list[str]]:
    by_a = {r["case_id"]: r for r in a}
    rows = []
    for rb in b:
        ra = by_a.get(rb["case_id"])
        if ra is None:
            rows.append([rb["case_id"], "only in B", "", "", "", "", ""])
            continue
        row = [rb["case_id"]]
        for key, _label, hib in KEYS:
            ratio, v = verdict(summary(ra, key), summary(rb, key), hib)
            row += [NA if ratio is None else f"{ratio:.3f}", v]
        rows.append(row)
    for ca in by_a:
        if ca not in {r["case_id"] for r in b}:
            rows.append([ca, "only in A", "", "", "", "", ""])
    return rows


def env_differences(env_a: dict[str, Any], env_b: dict[str, Any]) -> list[str]:
    return [f"{k}: {env_a.get(k)!r} vs {env_b.get(k)!r}" for k in ENV_KEYS
            if env_a.get(k) != env_b.get(k)]
