"""The figure of the board over a run's time (``bench.plots.overtime``): the cases as a strip
on top, then SoC temperature, ARM clock (measured and requested), the four throttle flags
and power, on one time axis. A part without readings is left out and the caption says why."""

from __future__ import annotations

import math
import textwrap

from bench.plots import require_matplotlib
from bench.plots.bars import PALETTE
from bench.plots.layout import (
    AXES_TITLE_PT,
    CAPTION_CHARS,
    CAPTION_PT,
    DPI,
    LABEL_PT,
    TICK_PT,
    WIDTH_IN,
    WIDTH_PX,
    heading,
    key_note,
)
from bench.plots.overtime import FLAGS, OverTime, Point, flag_spans

require_matplotlib()

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

SET_COLOR = "#c00000"
SHADED = 300
"""Cases beyond which the panels get no alternating background (artists per case)."""


def _xy(points: list[Point], scale: float) -> tuple[list[float], list[float]]:
    return ([t / scale for t, _ in points],
            [math.nan if v is None else v for _, v in points])


def _values(points: list[Point]) -> list[float]:
    return [v for _, v in points if v is not None]


def _strip(ax: Axes, ot: OverTime, colors: dict[str, str], scale: float, px_per_x: float,
           ) -> None:
    """The cases as coloured spans, numbered (the caption's key) where the number fits."""
    for i, s in enumerate(ot.spans):
        width = max(s.end - s.start, 0.0) / scale
        ax.broken_barh([(s.start / scale, width)], (0, 1), facecolors=colors[s.backend],
                       edgecolor="white", linewidth=0.5, gid=f"{ot.run}|{s.case_id}|span")
        number = str(i + 1)
        if width * px_per_x >= 8 * len(number) + 4:
            ax.text(s.start / scale + width / 2, 0.5, number, ha="center", va="center",
                    fontsize=7.5, color="white")
    ax.set_yticks([])
    ax.set_ylim(0, 1)
    ax.set_title("cases in run order (colour: backend; numbers: the key below)",
                 fontsize=AXES_TITLE_PT - 1, loc="left")


def _shade(axes: list[Axes], ot: OverTime, scale: float) -> None:
    if len(ot.spans) > SHADED:
        return
    for i, s in enumerate(ot.spans):
        if i % 2 == 0:
            for ax in axes:
                ax.axvspan(s.start / scale, s.end / scale, color="0.5", alpha=0.07, lw=0)


def _throttle(ax: Axes, ot: OverTime, scale: float) -> None:
    polled = [t for t, v in ot.throttle if v is not None]
    for row, name in enumerate(FLAGS):
        y = len(FLAGS) - 1 - row
        spans, answered, seen = flag_spans(ot.throttle, row)
        ax.plot([t / scale for t in polled], [y] * len(polled), linestyle="none", marker="|",
                markersize=4, color="0.6", gid=f"{ot.run}|throttle|{name}|polls")
        for a, b in spans:
            ax.plot([a / scale, max(b, a) / scale], [y, y], color=SET_COLOR, linewidth=6,
                    solid_capstyle="butt", gid=f"{ot.run}|throttle|{name}|set")
        ax.text(1.0, y, f" set in {seen} of {answered} polls", transform=ax.get_yaxis_transform(),
                va="center", ha="left", fontsize=8, color=SET_COLOR if seen else "0.3")
    ax.set_yticks(range(len(FLAGS)), list(reversed(FLAGS)), fontsize=TICK_PT)
    ax.set_ylim(-0.7, len(FLAGS) - 0.3)
    ax.set_title("throttle flags (get_throttled bits 0-3: red where a poll saw it set, grey "
                 "ticks: the polls)", fontsize=AXES_TITLE_PT - 1, loc="left")


def overtime_figure(ot: OverTime, title: str) -> Figure:
    span = max((s.end for s in ot.spans), default=0.0)
    scale, unit = (60.0, "min") if span > 600 else (1.0, "s")
    parts: list[tuple[str, float]] = [("cases", 0.55)]
    if _values(ot.temp):
        parts.append(("temp", 1.9))
    if _values(ot.arm) or _values(ot.requested):
        parts.append(("clock", 1.9))
    if _values(ot.throttle):
        parts.append(("throttle", 1.5))
    if ot.has_power:
        parts.append(("power", 2.1))
    backends = list(dict.fromkeys(s.backend for s in ot.spans))
    colors = {b: PALETTE[i % len(PALETTE)] for i, b in enumerate(backends)}
    notes = ["Times: the run's clock, from its first sample; between two cases (model load, "
             "warm-up, idle baseline without a meter) nothing was sampled and the lines break."]
    if ot.restarted:
        notes.append("The clock started again within the run (a resumed run): those cases are "
                     "placed right after the previous ones, 1 s apart.")
    notes += [f"Not drawn: {m}." for m in ot.missing]
    src = ", ".join(f"{k}: {v}" for k, v in ot.sources.items())
    if src:
        notes.append(f"Sources: {src}.")
    key = [f"{i + 1} = {s.case_id}" for i, s in enumerate(ot.spans)]
    caption = textwrap.fill(" ".join(notes) + key_note(key, limit=60).replace(
        " x labels:", " Cases:"), CAPTION_CHARS)
    head_in = 0.8 + 0.25 * title.count("\n")
    height = head_in + sum(h for _, h in parts) + 0.17 * (caption.count("\n") + 1) + 0.5
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(len(parts), 1, sharex=True,
                        gridspec_kw={"height_ratios": [h for _, h in parts]})
    by = dict(zip([p for p, _ in parts], axes, strict=True))
    px_per_x = (WIDTH_PX - 220) / max(span / scale, 1e-9)
    _strip(by["cases"], ot, colors, scale, px_per_x)
    _shade([a for p, a in by.items() if p != "cases"], ot, scale)
    if "temp" in by:
        ax = by["temp"]
        ax.plot(*_xy(ot.temp, scale), color="#c44e52", marker=".", markersize=3,
                gid=f"{ot.run}|temp")
        ax.set_ylabel("SoC temp. (C)", fontsize=LABEL_PT)
        ax.set_title(f"SoC temperature: max {max(_values(ot.temp)):.1f} C",
                     fontsize=AXES_TITLE_PT - 1, loc="left")
    if "clock" in by:
        ax = by["clock"]
        if _values(ot.arm):
            ax.plot(*_xy(ot.arm, scale), color="#4c72b0", marker=".", markersize=3,
                    label="ARM clock the firmware ran (measure_clock arm)", gid=f"{ot.run}|arm")
        if _values(ot.requested):
            ax.plot(*_xy(ot.requested, scale), color="#55a868", linestyle="--",
                    label="clock the kernel requested (scaling_cur_freq)",
                    gid=f"{ot.run}|requested")
        top = max(_values(ot.arm) + _values(ot.requested))
        ax.set_ylim(0, top * 1.35)
        ax.set_ylabel("ARM clock (MHz)", fontsize=LABEL_PT)
        ax.legend(fontsize=8, loc="lower left", ncols=2)
    if "throttle" in by:
        _throttle(by["throttle"], ot, scale)
    if "power" in by:
        ax = by["power"]
        for i, (label, pts) in enumerate(ot.power.items()):
            ax.plot(*_xy(pts, scale), color=PALETTE[(i + 1) % len(PALETTE)], linewidth=1,
                    label=f"power ({label})", gid=f"{ot.run}|power|{label}")
        ax.set_ylim(bottom=0, top=max(v for p in ot.power.values() for v in _values(p)) * 1.3)
        ax.set_ylabel("power (W)", fontsize=LABEL_PT)
        ax.legend(fontsize=8, loc="lower left")
        ax.set_title("power: every sample of every meter, idle baselines included",
                     fontsize=AXES_TITLE_PT - 1, loc="left")
    for ax in axes:
        ax.tick_params(labelsize=TICK_PT)
        if ax is not by["cases"]:
            ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel(f"time since the run's first sample ({unit})", fontsize=LABEL_PT)
    axes[-1].set_xlim(left=0, right=max(span / scale, 1e-6) * 1.01)
    handles = [Patch(facecolor=c, label=b) for b, c in colors.items()]
    heading(fig, title, handles, min(len(handles), 6))
    fig.supxlabel(caption, fontsize=CAPTION_PT, x=0.01, ha="left", multialignment="left")
    return fig
