"""Summaries of raw samples: mean, median, stddev, min, max, n, with unit and source."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from bench.results.schema import Summary


def summarize(values: Sequence[float | None], unit: str, source: str) -> Summary:
    xs = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not xs:
        return Summary(mean=None, median=None, stddev=None, min=None, max=None, n=0,
                       unit=unit, source=source)
    return Summary(
        mean=statistics.fmean(xs),
        median=statistics.median(xs),
        stddev=statistics.stdev(xs) if len(xs) > 1 else None,
        min=min(xs),
        max=max(xs),
        n=len(xs),
        unit=unit,
        source=source,
    )
