"""Grouped bar charts: one row of panels per workload, one column per metric, one group of
bars per model (or placement), one colour per backend (or phase).

A bar is a measured figure; its value, n and marks are written above it. Where there is no
figure the panel says "n/a" (or "FAILED") at the bar's place: never a zero bar. Marks are
hatched and written: simulated (//), synthetic weights (..), throttled or busy host (xx),
simulated power (\\\\); a failed case has a red edge and the word FAILED.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bench.plots import require_matplotlib
from bench.plots.data import FAILED, Bar

require_matplotlib()

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

HATCH = {"simulated": "//", "synthetic weights: speed only": "..", "throttled": "xx",
         "busy host": "xx", "simulated power": "\\\\"}
TAG = {"synthetic weights: speed only": "synthetic", "simulated power": "sim. power"}
FAILED_COLOR = "#c00000"
PALETTE = ["#4c72b0", "#dd8452", "#55a868", "#8172b3", "#937860", "#da8bc3", "#8c8c8c",
           "#ccb974", "#64b5cd", "#c44e52"]


@dataclass
class Column:
    """One metric: its bars (all panels) and the axis label with the unit."""

    key: str  # names the bars' artists: bench.plots.bars.gid
    title: str
    ylabel: str
    bars: list[Bar]


def tags(marks: Sequence[str]) -> list[str]:
    """The words written at a bar (or a timeline) for its marks."""
    return [TAG.get(m, m) for m in marks]


def number(x: float) -> str:
    """About three significant digits, as a reader compares them."""
    a = abs(x)
    if a >= 100:
        return f"{x:.0f}"
    return f"{x:.1f}" if a >= 10 else f"{x:.2f}" if a >= 1 else f"{x:.3g}"


def hatch_of(bar: Bar) -> str | None:
    return "".join(dict.fromkeys(HATCH[m] for m in bar.marks if m in HATCH)) or None


def gid(bar: Bar, key: str) -> str:
    """The id of a bar's artist, also its element id in SVG output ("|no figure" appended to
    the n/a or FAILED text drawn where a bar has no figure)."""
    return f"{bar.run}|{bar.case_id}|{key}|{bar.series}"


def _ordered(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _positions(bars: list[Bar]) -> tuple[list[str], list[float], float]:
    """The groups (models) in order, each bar's x (its group's index, bars side by side) and
    the bar width, in one pass (a run of thousands of cases has thousands of bars)."""
    groups = _ordered([b.model for b in bars])
    index = {g: i for i, g in enumerate(groups)}
    counts = Counter(b.model for b in bars)
    width = 0.8 / max(max(counts.values()), 2)
    seen: Counter[str] = Counter()
    xs = []
    for b in bars:
        j = seen[b.model]
        seen[b.model] += 1
        xs.append(index[b.model] + (j - (counts[b.model] - 1) / 2) * width)
    return groups, xs, width


def _draw_dense(ax: Axes, bars: list[Bar], xs: list[float], width: float,
                colors: dict[str, str], key: str) -> None:
    """Every measured bar in one ``bar`` call and every range in one ``errorbar`` call, no
    text per bar: for figures of more than DENSE bars (a text per bar takes matplotlib
    seconds per hundred, and could not be read)."""
    shown = [(x, b) for x, b in zip(xs, bars, strict=True) if b.value is not None]
    if not shown:
        return
    values = [float(b.value or 0.0) for _, b in shown]
    rects = ax.bar([x for x, _ in shown], values, width * 0.92,
                   color=[colors[b.series] for _, b in shown],
                   edgecolor=[FAILED_COLOR if b.failed else "black" for _, b in shown],
                   linewidth=[1.8 if b.failed else 0.4 for _, b in shown])
    for rect, (_, b) in zip(rects, shown, strict=True):
        rect.set_gid(gid(b, key))
        hatch = hatch_of(b)
        if hatch:
            rect.set_hatch(hatch)
    ranged = [(x, v, b.lo, b.hi) for (x, b), v in zip(shown, values, strict=True)
              if b.lo is not None and b.hi is not None]
    if ranged:
        eb = ax.errorbar([r[0] for r in ranged], [r[1] for r in ranged],
                         yerr=[[max(0.0, v - lo) for _, v, lo, _ in ranged],
                               [max(0.0, hi - v) for _, v, _, hi in ranged]],
                         fmt="none", ecolor="black", elinewidth=0.6, capsize=0)
        eb.lines[2][0].set_gid(f"{key}|ranges")


def draw_panel(ax: Axes, bars: list[Bar], colors: dict[str, str], key: str,
               dense: bool = False) -> None:
    if not bars:
        ax.text(0.5, 0.5, "no case", transform=ax.transAxes, ha="center", color="dimgray")
        return
    groups, xs, width = _positions(bars)
    tops = [b.hi if b.hi is not None else b.value for b in bars if b.value is not None]
    ymax = max((t for t in tops if t is not None), default=0.0) or 1.0
    if dense:
        _draw_dense(ax, bars, xs, width, colors, key)
    for x, b in zip(xs, bars, strict=True):
        if dense:
            break
        edge = FAILED_COLOR if b.failed else "black"
        if b.value is None:
            words = sorted(tags(b.marks), key=lambda m: not m.startswith(FAILED))
            what = " · ".join(words if b.failed else ["n/a", *words]) + f"\n{b.series}"
            text = ax.text(x, ymax * 0.02, what, rotation=90, ha="center", va="bottom",
                           fontsize=7.5,
                           color=FAILED_COLOR if b.failed else "dimgray")
            text.set_gid(gid(b, key) + "|no figure")
            continue
        rect = ax.bar(x, b.value, width * 0.92, color=colors[b.series], edgecolor=edge,
                      linewidth=1.8 if b.failed else 0.6, hatch=hatch_of(b))[0]
        rect.set_gid(gid(b, key))
        top = b.value
        if b.lo is not None and b.hi is not None:
            down, up = max(0.0, b.value - b.lo), max(0.0, b.hi - b.value)
            eb = ax.errorbar([x], [b.value], yerr=[[down], [up]], fmt="none",
                             ecolor="black", elinewidth=0.8, capsize=3)
            eb.lines[2][0].set_gid(gid(b, key) + "|range")
            top = max(top, b.hi)
        ax.annotate("\n".join([number(b.value), f"n={b.n}", *tags(b.marks)]), (x, top),
                    xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                    fontsize=7, color=FAILED_COLOR if b.failed else "black",
                    gid=gid(b, key) + "|label")
    ax.set_xticks(range(len(groups)), groups, rotation=20 if len(groups) > 3 else 0,
                  ha="right" if len(groups) > 3 else "center", fontsize=8)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylim(0, ymax * 1.55)
    ax.yaxis.grid(True, alpha=0.3)
    ax.set_axisbelow(True)


def _legend(fig: Figure, bars: list[Bar], colors: dict[str, str], dense: bool = False) -> None:
    handles = [Patch(facecolor=c, edgecolor="black", linewidth=0.6, label=s)
               for s, c in colors.items()]
    by_hatch: dict[str, list[str]] = {}
    for m in _ordered([m for b in bars for m in b.marks if m in HATCH]):
        by_hatch.setdefault(HATCH[m], []).append(m)
    for h, names in by_hatch.items():
        handles.append(Patch(facecolor="white", edgecolor="black", hatch=h,
                             label=" / ".join(names)))
    if any(b.failed for b in bars):
        handles.append(Patch(facecolor="white", edgecolor=FAILED_COLOR, linewidth=1.8,
                             label="FAILED (bars: its finished repetitions)"))
    fig.legend(handles=handles, loc="center right" if dense else "outside right center",
               fontsize=8, frameon=False)


def failures_note(bars: list[Bar], limit: int = 4) -> str:
    seen = _ordered([f"{b.case_id} [{b.run}]: {b.error}" if b.error else b.case_id
                     for b in bars if b.failed])
    if not seen:
        return ""
    more = f" (+{len(seen) - limit} more)" if len(seen) > limit else ""
    cut = [s if len(s) <= 110 else s[:109] + "…" for s in seen[:limit]]
    return f" {FAILED}: " + "; ".join(cut) + more + "."


DENSE = 60
"""Bars in a figure beyond which bars carry no text (value, n, marks; n/a slots stay empty)."""
MAX_PANELS = 16
"""Rows of panels (workloads) drawn in one figure; beyond, the caption says how many are left
out (matplotlib cannot save an image taller than 2^16 pixels, and nobody could read it)."""


def bar_figure(columns: list[Column], title: str, caption: str) -> Figure:
    """A figure of rows (panels, e.g. workloads) x columns (metrics)."""
    every = [b for c in columns for b in c.bars]
    series = _ordered([b.series for b in every])
    colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}
    panels = _ordered([b.panel for b in every])
    drawn = panels[:MAX_PANELS]
    by_panel: list[dict[str, list[Bar]]] = []
    for c in columns:
        split: dict[str, list[Bar]] = {p: [] for p in panels}
        for b in c.bars:
            split[b.panel].append(b)
        by_panel.append(split)
    widest = max((len(split[p]) for split in by_panel for p in drawn), default=1)
    dense = sum(len(split[p]) for split in by_panel for p in drawn) > DENSE
    width = min(30.0, max(8.0, (1.6 + (0.3 if dense else 0.95) * widest) * len(columns)))
    height = 1.9 + 3.3 * len(drawn)
    # a dense figure gets fixed margins: the constrained layout measures every tick label
    # and text of every panel (seconds for a large run) to place them
    fig = Figure(figsize=(width, height), layout=None if dense else "constrained")
    if dense:
        fig.subplots_adjust(left=0.6 / width, right=1 - 3.2 / width, top=1 - 0.9 / height,
                            bottom=1.6 / height, hspace=0.75, wspace=0.25)
    axes = fig.subplots(len(drawn), len(columns), squeeze=False)
    for ci, col in enumerate(columns):
        for pi, panel in enumerate(drawn):
            ax = axes[pi][ci]
            draw_panel(ax, by_panel[ci][panel], colors, col.key, dense)
            ax.set_title(" · ".join(x for x in (col.title, panel) if x), fontsize=10)
            ax.set_ylabel(col.ylabel, fontsize=9)
    fig.suptitle(title, fontsize=12)
    _legend(fig, every, colors, dense)
    if dense:
        caption += (" Too many bars to label each: no value, n or marks written at a bar, a "
                    "missing figure is an empty slot; every figure is in report.csv "
                    "(pibench report).")
    if len(drawn) < len(panels):
        caption += (f" Only the first {len(drawn)} of {len(panels)} workloads are drawn; every "
                    "case is in report.csv.")
    wrap = max(80, int(width * 15))
    fig.supxlabel(textwrap.fill(caption + failures_note(every), wrap), fontsize=8, x=0.01,
                  ha="left", multialignment="left")
    return fig
