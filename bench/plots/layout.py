"""The page every figure is drawn for: 1200 px wide (10 in at 120 dpi), text sizes that read
at that width, x labels horizontal under their group, wrapped to the group's width, or
replaced by numbers with a key in the caption when they cannot fit; and the check that no
two tick labels overlap, made on the rendered text boxes (the Agg renderer)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any

from bench.plots import require_matplotlib

require_matplotlib()

from matplotlib.artist import Artist  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

WIDTH_IN = 10.0
DPI = 120
WIDTH_PX = round(WIDTH_IN * DPI)  # 1200
TICK_PT = 9.0
"""x labels under the groups."""
CAPTION_PT = 8.5
TITLE_PT = 13.0
AXES_TITLE_PT = 11.0
LABEL_PT = 10.0
CHAR_EM = 0.6
"""Mean width of a DejaVu Sans character in em, about, over model names (an estimate: the
check on the rendered boxes decides)."""
MAX_LINES = 4
CAPTION_CHARS = 150
"""Caption characters per line at CAPTION_PT over the figure's width."""
_BREAK = re.compile(r"(?<=[-_/ :])")


def chars_per_line(px: float, pt: float = TICK_PT) -> int:
    return max(1, int(px / (pt * CHAR_EM * DPI / 72)))


def wrap_label(name: str, width: int, max_lines: int = MAX_LINES) -> str | None:
    """``name`` in lines of at most ``width`` characters, broken after - _ / : or a space
    (a part longer than a line is cut); None when it needs more than ``max_lines``."""
    lines: list[str] = []
    for given in name.split("\n"):
        line = ""
        for part in _BREAK.split(given):
            while len(part) > width:  # a part longer than a line: cut it
                if line:
                    lines.append(line)
                    line = ""
                lines.append(part[:width])
                part = part[width:]
            if len(line) + len(part.rstrip()) > width and line:
                lines.append(line.rstrip())
                line = ""
            line += part
        lines.append(line.rstrip())
    return "\n".join(lines) if len(lines) <= max_lines else None


def group_labels(groups: Sequence[str], group_px: float, max_lines: int = MAX_LINES,
                 numbered: bool = False) -> tuple[list[str], list[str]]:
    """(the tick labels, the key): the names wrapped to a group's width, or, when one of
    them does not fit in ``max_lines`` lines (or ``numbered``), the numbers 1..n and their
    key."""
    width = chars_per_line(group_px * 0.94)
    lines = max(max_lines, *(g.count("\n") + 2 for g in groups)) if groups else max_lines
    wrapped = [wrap_label(g, width, lines) for g in groups]
    if not numbered and all(w is not None for w in wrapped):
        return [w or "" for w in wrapped], []
    return [str(i + 1) for i in range(len(groups))], [
        f"{i + 1} = {' '.join(g.split())}" for i, g in enumerate(groups)]


def key_note(key: list[str], limit: int = 40) -> str:
    """The caption's sentence that names the numbered x labels."""
    if not key:
        return ""
    more = f" (+{len(key) - limit} more: report.csv)" if len(key) > limit else ""
    return " x labels: " + "; ".join(key[:limit]) + more + "."


def tick_overlaps(fig: Figure) -> list[tuple[Axes, str, str]]:
    """Pairs of visible x tick labels whose rendered boxes intersect, per axes (draws the
    figure once with its own renderer)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    out = []
    for ax in fig.axes:
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in ax.get_xticklabels()
                 if t.get_visible() and t.get_text()]
        for (a, ba), (b, bb) in itertools.pairwise(boxes):
            if ba.overlaps(bb):
                out.append((ax, a, b))
    return out


def thin_ticks(ax: Axes, keep_every: int) -> None:
    """Show every ``keep_every``-th x label only (numbered labels that still overlap)."""
    for i, t in enumerate(ax.get_xticklabels()):
        t.set_visible(i % keep_every == 0)


def heading(fig: Figure, title: str, handles: Sequence[Artist], ncols: int,
            anchor: float | None = None) -> None:
    """The title and, under it, the legend, as one block at the top (the constrained layout
    places a suptitle and an "outside" legend over each other, so the title is the legend's);
    ``anchor``: its top in figure fraction for a figure without a layout engine."""
    kw: dict[str, Any] = {"loc": "outside upper center"} if anchor is None else {
        "loc": "upper center", "bbox_to_anchor": (0.5, anchor)}
    legend = fig.legend(handles=handles, ncols=max(1, ncols), fontsize=9, frameon=False,
                        title=title, title_fontsize=TITLE_PT, **kw)
    legend.get_title().set_multialignment("center")


def title_of(fig: Figure) -> str:
    """A figure's title: its suptitle, else the title of its figure legend (``heading``)."""
    sup = fig.get_suptitle()
    if sup:
        return sup
    return fig.legends[0].get_title().get_text() if fig.legends else ""
