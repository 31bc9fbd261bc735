"""Sweep plots: tokens/s against threads, and against depth, per model and device.

A series is the cases of one run that share the model, the device and everything but the
swept value (the workload's lengths, and the depth for a threads sweep or the threads for a
depth sweep); a series needs two values or more. A point is the case's median (harness
clock, the same figure as the bar plots and the ✓ line), its error bar min..max, n the
repetitions. Failed cases and figures not measured are left out (never drawn as 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bench.report.rows import summary

Axis = Literal["threads", "depth"]
METRICS = (("gen_tps", "generation"), ("prompt_tps", "prompt processing"))
SHOWN_MARKS = {"simulated", "busy host", "throttled", "synthetic weights: speed only"}
"""Labels of a case that its series names in the legend (any point of the series)."""


@dataclass
class Point:
    x: int
    value: float
    lo: float | None
    hi: float | None
    n: int


@dataclass
class Series:
    label: str
    points: dict[str, list[Point]] = field(default_factory=dict)  # metric -> points by x
    marks: set[str] = field(default_factory=set)


def _x(record: dict[str, Any], axis: Axis) -> int | None:
    if axis == "threads":
        t = (record.get("backend") or {}).get("threads")
    else:
        t = (record.get("workload") or {}).get("depth") or 0
    return t if isinstance(t, int) else None


def sweep_series(runs: list[tuple[str, list[dict[str, Any]]]], axis: Axis,
                 labels: dict[str, str] | None = None) -> list[Series]:
    """The series of ``axis`` in the runs (see the module docstring); ``labels``: each
    run's label (``bench.plots.context``), by default its folder name."""
    groups: dict[tuple[Any, ...], dict[int, dict[str, Any]]] = {}
    for run, records in runs:
        for r in records:
            if r.get("status") != "ok" or (r.get("workload") or {}).get("kind") != "throughput":
                continue
            x = _x(r, axis)
            if x is None:
                continue
            w, b = r.get("workload") or {}, r.get("backend") or {}
            other = (f"d{w.get('depth') or 0}" if axis == "threads"
                     else f"t{b.get('threads', 'n/a')}")
            named = (labels or {}).get(run, run) if len(runs) > 1 else ""
            key = (named, r["model"]["name"], b.get("type"), str(b.get("device", "n/a")),
                   w.get("prompt_tokens"), w.get("gen_tokens"), other)
            groups.setdefault(key, {})[x] = r
    out = []
    for key, by_x in groups.items():
        if len(by_x) < 2:
            continue
        run, model, _, device, p, n, other = key
        label = f"{model} / {device} / pp{p}-tg{n} {other}" + (f" ({run})" if run else "")
        s = Series(label)
        for metric, _ in METRICS:
            pts = []
            for x in sorted(by_x):
                fig = summary(by_x[x], metric) or {}
                if fig.get("median") is None:
                    continue
                pts.append(Point(x, fig["median"], fig.get("min"), fig.get("max"),
                                 int(fig.get("n") or 0)))
                s.marks.update(m for m in by_x[x].get("labels") or [])
            s.points[metric] = pts
        if any(len(p) >= 2 for p in s.points.values()):
            out.append(s)
    return out


def sweep_figure(series: list[Series], axis: Axis, title: str) -> Any:
    """Two panels (generation, prompt processing): tokens/s against ``axis``."""
    from matplotlib.figure import Figure

    from bench.plots.layout import CAPTION_PT, DPI, LABEL_PT, WIDTH_IN, heading

    fig = Figure(figsize=(WIDTH_IN, 5.2 + 0.2 * len(series)), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, 2)
    named: set[str] = set()
    for ax, (metric, what) in zip(axes, METRICS, strict=True):
        for s in series:
            pts = s.points.get(metric) or []
            if len(pts) < 2:
                continue
            xs = [p.x for p in pts]
            ys = [p.value for p in pts]
            err = [[max(0.0, p.value - (p.lo if p.lo is not None else p.value)) for p in pts],
                   [max(0.0, (p.hi if p.hi is not None else p.value) - p.value) for p in pts]]
            shown = sorted(m for m in s.marks if m in SHOWN_MARKS)
            tag = f" ({', '.join(shown)})" if shown else ""
            named_now = s.label not in named
            ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3,
                        label=None if s.label in named else s.label + tag,
                        color=f"C{series.index(s) % 10}")
            if named_now:
                named.add(s.label)
            for p in pts:
                ax.annotate(f"n={p.n}", (p.x, p.value), textcoords="offset points",
                            xytext=(4, 4), fontsize=7.5)
        ax.set_xlabel("threads" if axis == "threads" else "depth (tokens already in the cache)",
                      fontsize=LABEL_PT)
        ax.set_ylabel("tokens/s", fontsize=LABEL_PT)
        ax.set_title(f"{what}: median, error bars min..max", fontsize=LABEL_PT)
        ax.set_ylim(bottom=0)
        ax.margins(x=0.08)  # room for the n= of the last point
        if axis == "threads":
            ax.xaxis.get_major_locator().set_params(integer=True)
    handles = [h for ax in axes for h in ax.get_legend_handles_labels()[0]]
    heading(fig, title, handles, 2)
    fig.supxlabel("Harness clock (the same for every backend); generation excludes the first "
                  "token; n: repetitions behind a point.", fontsize=CAPTION_PT, x=0.01,
                  ha="left")
    return fig
