"""Compare two runs case by case: ratio B/A of the medians, flagged when beyond the noise.

Noise rule: a difference counts when |mean_B - mean_A| > 2 x sqrt(sd_A²/n_A + sd_B²/n_B)
(about a 95 % band for the difference of two means) AND the ratio is off 1 by more than
1 %. With fewer than 2 repetitions on either side there is no spread, so no verdict ("?").
"""

from __future__ import annotations

import math
from typing import Any

from bench.report.rows import NA, summary

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
    noise = 2 * math.sqrt(sa**2 / na + sb**2 / nb)
    if abs(b["mean"] - a["mean"]) <= noise or abs(ratio - 1) <= 0.01:
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
