"""The figures of an HTML report: the plots of ``pibench plot`` (``bench.plots.write.build``),
each written by matplotlib as SVG into a string and put inline in the page.

matplotlib names the parts of an SVG (glyphs, clip paths, groups) with ids that repeat from
one figure to the next (``figure_1``, ``DejaVuSans-48``); inline in one page, those ids are
prefixed per figure, so each ``url(#...)`` and ``href="#..."`` finds its own figure's part.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from bench.plots import PlotsUnavailable, require_matplotlib
from bench.plots.context import PlotContext
from bench.plots.data import Run
from bench.report.htmlkit import Html
from bench.results.reader import Warn

PROLOG = re.compile(r"\A.*?(?=<svg[\s>])", re.S)  # the XML declaration and the DOCTYPE
REF = re.compile(r'\bid="|\bhref="#|url\(#')  # an id, and the two ways SVG refers to one
METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


@dataclass(frozen=True)
class Figure:
    id: str
    what: str  # one line: what the figure shows (``bench.plots.write.Plot.what``)
    svg: Html


def inline_svg(svg: str, prefix: str) -> Html:
    """matplotlib's SVG document as an element for an HTML page: no XML declaration, no
    DOCTYPE, no RDF metadata (its date would make two reports of the same runs differ), every
    id and reference to an id prefixed with ``prefix``."""
    svg = PROLOG.sub("", svg, count=1)
    svg = METADATA.sub("", svg, count=1)
    svg = REF.sub(lambda m: m.group(0) + prefix, svg)
    return Html.trusted(svg.strip())


def figures(runs: list[Run], warn: Warn | None = None, ctx: PlotContext | None = None
            ) -> tuple[list[Figure], list[str]]:
    """Every plot of the runs as inline SVG, and notes on what was not drawn; no figure and
    one note when matplotlib is missing."""
    try:
        require_matplotlib()
    except PlotsUnavailable as exc:
        return [], [f"no figures: {exc}"]
    from bench.plots.write import build

    plots, notes = build(runs, None, warn, ctx)
    out = []
    for i, plot in enumerate(plots, 1):
        buf = io.StringIO()
        plot.figure.savefig(buf, format="svg", metadata={"Date": None})
        out.append(Figure(f"fig{i}-{plot.stem}", plot.what, inline_svg(buf.getvalue(), f"f{i}-")))
    return out, notes
