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

from bench.plots.layout import (  # noqa: E402
    AXES_TITLE_PT,
    CAPTION_CHARS,
    CAPTION_PT,
    DPI,
    LABEL_PT,
    TICK_PT,
    WIDTH_IN,
    WIDTH_PX,
    group_labels,
    heading,
    key_note,
    thin_ticks,
    tick_overlaps,
)

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


WORDS_PX = 64.0
"""Bar width (px) from which the marks are written at a bar, not only hatched."""


LEGEND_CHARS = 120
"""Legend characters (a patch counts 6) in one row across the figure."""
MIN_SLOTS = 4
"""A panel is at least this many groups wide (one model's bars are not a wall of colour)."""
AXES_PX = WIDTH_PX - 140
"""The panels' width in pixels (the figure less the y labels and the margins)."""


def _annotation(b: Bar, common: frozenset[str], bar_px: float) -> tuple[str, int]:
    """The text above a bar (value, n, the marks not common to every bar of the figure, as
    far as the bar is wide enough to hold them: the hatch and legend say them anyway) and
    its rotation (a bar too narrow for "12.3" gets it upright)."""
    words = [w for m, w in zip(b.marks, tags(b.marks), strict=True) if m not in common]
    if bar_px < WORDS_PX:
        words = [w for w in words if w.startswith(FAILED)][:1] if bar_px >= 44 else []
        words = [FAILED if w.startswith(FAILED) else w for w in words]
    if bar_px < 30:
        return " ".join([number(b.value or 0.0), f"n={b.n}", *words]), 90
    return "\n".join([number(b.value or 0.0), f"n={b.n}", *words]), 0


def draw_panel(ax: Axes, bars: list[Bar], colors: dict[str, str], key: str,
               dense: bool = False, common: frozenset[str] = frozenset(),
               labels: list[str] | None = None) -> None:
    """One panel; ``labels``: the x labels of its groups (``layout.group_labels``)."""
    if not bars:
        ax.text(0.5, 0.5, "no case", transform=ax.transAxes, ha="center", color="dimgray")
        return
    groups, xs, width = _positions(bars)
    slots = max(len(groups), MIN_SLOTS)
    bar_px = AXES_PX / slots * width * 0.92
    tops = [b.hi if b.hi is not None else b.value for b in bars if b.value is not None]
    ymax = max((t for t in tops if t is not None), default=0.0) or 1.0
    if dense:
        _draw_dense(ax, bars, xs, width, colors, key)
    for x, b in zip(xs, bars, strict=True):
        if dense:
            break
        edge = FAILED_COLOR if b.failed else "black"
        if b.value is None:
            words = sorted((w for m, w in zip(b.marks, tags(b.marks), strict=True)
                            if m not in common), key=lambda m: not m.startswith(FAILED))
            head = " · ".join(words if b.failed else ["n/a", *words])
            text = ax.text(x, ymax * 0.02, head + ("\n" if bar_px >= 26 else " · ") + b.series,
                           rotation=90, ha="center", va="bottom", fontsize=7.5,
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
                             ecolor="black", elinewidth=0.8, capsize=min(3.0, bar_px / 6))
            eb.lines[2][0].set_gid(gid(b, key) + "|range")
            top = max(top, b.hi)
        label, rotation = _annotation(b, common, bar_px)
        ax.annotate(label, (x, top), xytext=(0, 2), textcoords="offset points", ha="center",
                    va="bottom", fontsize=7.5, rotation=rotation,
                    color=FAILED_COLOR if b.failed else "black", gid=gid(b, key) + "|label")
    ax.set_xticks(range(len(groups)), labels or groups, fontsize=TICK_PT)
    ax.set_xlim((len(groups) - 1) / 2 - slots / 2, (len(groups) - 1) / 2 + slots / 2)
    ax.set_ylim(0, ymax * 1.6)
    ax.tick_params(axis="y", labelsize=TICK_PT)
    ax.yaxis.grid(True, alpha=0.3)
    ax.set_axisbelow(True)


def _handles(bars: list[Bar], colors: dict[str, str]) -> tuple[list[Patch], int]:
    """The legend's entries (series, hatches, FAILED) and its columns."""
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
    widths = [len(str(h.get_label())) + 6 for h in handles]
    ncols = len(handles) if sum(widths) <= LEGEND_CHARS else max(
        1, min(len(handles), LEGEND_CHARS // max(widths, default=10)))
    return handles, ncols


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


def bar_figure(columns: list[Column], title: str, caption: str,
               numbered: bool = False) -> Figure:
    """A figure 1200 px wide: one panel per workload and metric, one under the other; the
    legend under the title; the caption (with the key of numbered x labels) at the foot.
    The x labels are the names wrapped to their group's width, or (``numbered``, names that
    do not fit, or wrapped names whose rendered boxes overlap) numbers with a key."""
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
    shown = [(ci, p) for p in drawn for ci in range(len(columns))]
    dense = sum(len(by_panel[ci][p]) for ci, p in shown) > DENSE
    common = frozenset.intersection(*(frozenset(b.marks) for b in every)) if every else (
        frozenset())
    common = frozenset(m for m in common if not m.startswith(FAILED))
    if common:
        title += " (every figure " + ", ".join(tags(sorted(common))) + ")"
    groups = _ordered([b.model for b in every if b.panel in drawn])
    slots = max(max((len(_ordered([b.model for b in by_panel[ci][p]])) for ci, p in shown),
                    default=1), MIN_SLOTS)
    labels, key = group_labels(groups, AXES_PX / slots, numbered=numbered)
    label_of = dict(zip(groups, labels, strict=True))
    if dense:
        caption += (" Too many bars to label each: no value, n or marks written at a bar, a "
                    "missing figure is an empty slot; every figure is in report.csv "
                    "(pibench report).")
    if len(drawn) < len(panels):
        caption += (f" Only the first {len(drawn)} of {len(panels)} workloads are drawn; every "
                    "case is in report.csv.")
    text = textwrap.fill(caption + failures_note(every) + key_note(key), CAPTION_CHARS)
    tick_lines = max((lab.count("\n") + 1 for lab in labels), default=1)
    handles, ncols = _handles(every, colors)
    head_in = 0.3 + 0.24 * (title.count("\n") + 1) + 0.21 * -(-len(handles) // ncols)
    foot_in = 0.2 + 0.16 * (text.count("\n") + 1)
    gap_in = 0.55 + 0.16 * tick_lines  # tick labels under a panel and the next one's title
    panel_in = 2.5 + gap_in
    height = head_in + foot_in + panel_in * len(shown)
    # a dense figure gets fixed margins: the constrained layout measures every tick label
    # and text of every panel (seconds for a large run) to place them
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout=None if dense else "constrained")
    if dense:
        fig.subplots_adjust(left=0.9 / WIDTH_IN, right=1 - 0.25 / WIDTH_IN,
                            top=1 - (head_in + 0.3) / height,
                            bottom=(foot_in + gap_in - 0.3) / height, hspace=gap_in / 2.5)
    axes = fig.subplots(len(shown), 1, squeeze=False)
    for ax_row, (ci, panel) in zip(axes, shown, strict=True):
        ax, col = ax_row[0], columns[ci]
        bars = by_panel[ci][panel]
        draw_panel(ax, bars, colors, col.key, dense, common,
                   [label_of[g] for g in _ordered([b.model for b in bars])])
        ax.set_title(" · ".join(x for x in (col.title, panel) if x), fontsize=AXES_TITLE_PT)
        ax.set_ylabel(col.ylabel, fontsize=LABEL_PT)
    heading(fig, title, handles, ncols, 1 - 0.1 / height if dense else None)
    fig.supxlabel(text, fontsize=CAPTION_PT, x=0.01, ha="left", multialignment="left")
    if not key and tick_overlaps(fig):
        return bar_figure(columns, title, caption, numbered=True)
    _no_overlap(fig)
    return fig


def _no_overlap(fig: Figure) -> None:
    """Numbered labels that still overlap (hundreds of groups): every k-th is shown."""
    for _ in range(6):
        clashes = {ax for ax, _, _ in tick_overlaps(fig)}
        if not clashes:
            return
        for ax in clashes:
            shown = [t for t in ax.get_xticklabels() if t.get_visible()]
            every = 2 * max(1, len(ax.get_xticklabels()) // max(1, len(shown)))
            thin_ticks(ax, every)
