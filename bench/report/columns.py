"""Column specifications: one ``Column`` per column (header, alignment, value getter, format),
from which a table is rendered as Markdown (files and terminal), CSV or JSON rows.

Markdown shows each value through its column's ``fmt`` (None -> "n/a" unless the format says
otherwise); CSV and JSON keep the raw value (CSV: an empty cell for None; JSON: null), so a
figure that was not measured is never a zero. Adding a column to a table is adding one
``Column`` to its list.

One statistic and one clock per shown figure (``figure``): the median over the measured
repetitions with min–max, on the harness clock, in the ✓ line, every table, the figure
fields of CSV/JSON and the plots; the runtime's own counters only in columns that say so.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

NA = "n/a"
Row = TypeVar("Row")


def _text(value: object) -> str:
    return NA if value is None else str(value)


@dataclass(frozen=True)
class Column(Generic[Row]):
    header: str
    get: Callable[[Row], object]
    """The raw value of this column for one row (CSV and JSON write it as is)."""
    align: Literal["l", "r"] = "l"
    fmt: Callable[[Any], str] = _text
    """The value as Markdown shows it."""
    key: str | None = None
    """The CSV/JSON field name (default: the header)."""

    @property
    def name(self) -> str:
        return self.key if self.key is not None else self.header


def grid(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    """A Markdown table of ready-made cells (``align``: one "l" or "r" per column)."""
    widths = [max(3, len(h), *(len(r[i]) for r in rows)) if rows else max(3, len(h))
              for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        out = []
        for c, w, a in zip(cells, widths, align, strict=False):
            out.append(c.rjust(w) if a == "r" else c.ljust(w))
        return "| " + " | ".join(out) + " |"

    sep = "| " + " | ".join(("-" * (w - 1) + ":") if a == "r" else "-" * w
                             for w, a in zip(widths, align, strict=False)) + " |"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def markdown(columns: Sequence[Column[Row]], rows: Sequence[Row], padded: bool = True) -> str:
    """The rows as a Markdown table; ``padded``: columns aligned for a terminal, else one
    "| a | b |" line per row (cells holding long notes)."""
    cells = [[c.fmt(c.get(row)) for c in columns] for row in rows]
    if padded:
        return grid([c.header for c in columns], cells, "".join(c.align for c in columns))
    lines = ["| " + " | ".join(c.header for c in columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def dig(d: Any, *keys: str) -> Any:
    """``d[k1][k2]...`` through open sections of a record, None where a level is missing or
    not an object."""
    for key in keys:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


STATISTIC = "median"
"""The statistic of every figure pibench shows (the ✓ line, every table, CSV/JSON's figure
fields, the plots): the median over the measured repetitions, min–max its spread."""
CLOCK = "harness clock"
"""The clock of every shown figure: pibench's own (bench.results.metrics.HARNESS), the one
every backend and device has. The runtime's counters (llama.cpp perf counters, server
timings) are shown only in their own labelled columns ("runtime ...")."""
FIGURE_NOTE = f"{STATISTIC} over the measured repetitions (min–max), {CLOCK}"


@dataclass(frozen=True)
class Figure:
    """One shown figure of a case: ``STATISTIC`` of ``summary.<metric>`` with its spread,
    its sample count and its clock (``source``)."""

    value: float
    lo: float | None
    hi: float | None
    n: int
    source: str
    unit: str | None = None


def figure(record: Any, metric: str) -> Figure | None:
    """The case's shown figure for ``metric`` (e.g. "gen_tps": harness clock; or
    "internal_gen_tps": the runtime's counters, shown only in a labelled column); None
    when not measured (n = 0)."""
    s = dig(record, "summary", metric)
    if not isinstance(s, dict) or not s.get("n") or s.get(STATISTIC) is None:
        return None
    return Figure(value=float(s[STATISTIC]), lo=s.get("min"), hi=s.get("max"), n=int(s["n"]),
                  source=str(s.get("source") or NA), unit=s.get("unit"))


def fmt_figure(fig: Figure | None, nd: int = 2) -> str:
    """"12.34 (12.10–12.50)": the median and min–max; "12.34" when they are one value;
    "n/a" when not measured."""
    if fig is None:
        return NA
    text = f"{fig.value:.{nd}f}"
    if fig.lo is not None and fig.hi is not None and f"{fig.lo:.{nd}f}" != f"{fig.hi:.{nd}f}":
        text += f" ({fig.lo:.{nd}f}–{fig.hi:.{nd}f})"
    return text


def records(columns: Sequence[Column[Row]], rows: Sequence[Row]) -> list[dict[str, Any]]:
    """The rows as JSON objects (field: raw value, None when not measured)."""
    return [{c.name: c.get(row) for c in columns} for row in rows]


def to_csv(columns: Sequence[Column[Row]], rows: Sequence[Row]) -> str:
    """The rows as CSV (an empty cell: not measured); nothing at all for no rows."""
    buf = io.StringIO()
    if rows:
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([c.name for c in columns])
        for row in rows:
            writer.writerow(["" if (v := c.get(row)) is None else v for c in columns])
    return buf.getvalue()
