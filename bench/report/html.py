"""A one-file HTML report of run folders (``pibench report RUN... --html OUT.html``).

One page that holds everything it shows: the tables of report.md, rendered from the same
column specs (``bench.report.columns.Column``) as the Markdown, CSV and JSON; the plots of
``pibench plot`` as inline SVG (``bench.report.html_figures``); the labels with their legend;
the runs' system context. Its CSS and its script (a few lines that sort a table by a column)
are inline; a Content-Security-Policy forbids loading anything at all and lets only that
script run, so the file reads the same offline, mailed or attached to an issue. Every value
is escaped (``bench.report.htmlkit``): case names, model names and labels come from YAML.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic

import bench
from bench.report import columns, markdown
from bench.report.columns import NA, Column, Row
from bench.report.export import FLAT
from bench.report.html_assets import CSS, SCRIPT
from bench.report.html_figures import Figure, figures
from bench.report.htmlkit import Html, code_spans, el, esc, join
from bench.report.rows import power_of, run_names
from bench.report.system import FACTS, Env, differences, envs_of_runs, facts
from bench.results.reader import Warn
from bench.results.store import RunDir

Records = list[dict[str, Any]]

BADGES = {
    "simulated": "simulated",
    "synthetic weights: speed only": "synthetic",
    "throttled": "throttled",
    "throttle history unknown": "throttled",
    "busy host": "busy",
    "FAILED": "failed",
}
"""Labels drawn as badges (its CSS class ``label-<value>``), in the tables and the legend."""
LABEL_RE = re.compile("|".join(rf"(?<![\w-]){re.escape(k)}(?![\w-])"
                               for k in sorted(BADGES, key=len, reverse=True)))


def badges(text: str) -> Html:
    """``text`` escaped, each known label in it as a badge."""
    out: list[Html] = []
    at = 0
    for m in LABEL_RE.finditer(text):
        out += [esc(text[at:m.start()]),
                el("span", m.group(0), class_=f"label label-{BADGES[m.group(0)]}")]
        at = m.end()
    out.append(esc(text[at:]))
    return join(out)


@dataclass(frozen=True)
class Table(Generic[Row]):
    """A table of the page: its column specs and rows, as report.md renders them."""

    id: str
    heading: str
    columns: Sequence[Column[Row]]
    rows: Sequence[Row]
    notes: Sequence[str] = ()
    sortable: bool = True
    wide: frozenset[str] = field(default_factory=frozenset)
    """Headers of columns whose cells may wrap (long notes)."""


def sort_value(raw: object) -> float | None:
    """The number a column sorts by: the raw value, a shown figure's value (columns.Figure:
    the median), or the mean of a summary (power ± sd); None: sorted as the text shown."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw) if math.isfinite(raw) else None
    if isinstance(raw, columns.Figure):
        return sort_value(raw.value)
    if isinstance(raw, dict):
        return sort_value(raw.get("mean"))
    return None


def _cell(column: Column[Row], row: Row, wide: bool) -> Html:
    raw = column.get(row)
    text = column.fmt(raw)
    number = sort_value(raw)
    na = text == NA or text.startswith(NA + " ")
    classes = " ".join(c for c in ("r" if column.align == "r" else "",
                                   "na" if na else "", "wrap" if wide else "") if c)
    body = badges(text) if column.header == "labels" else code_spans(text)
    return el("td", body, class_=classes or None,
              data_v=None if number is None else repr(number), data_na=na)


def table_html(table: Table[Any]) -> Html:
    def head(c: Column[Any]) -> Html:
        label = el("button", c.header, type="button") if table.sortable else esc(c.header)
        return el("th", label, scope="col", class_="r" if c.align == "r" else None)

    cols = table.columns
    body = [el("tr", *(_cell(c, row, c.header in table.wide) for c in cols))
            for row in table.rows]
    return join([
        el("div", el("table", el("thead", el("tr", *(head(c) for c in cols))),
                     el("tbody", *body), id=table.id,
                     class_="sortable" if table.sortable else None),
           class_="scroll", role="region", aria_label=table.heading, tabindex="0"),
        el("ul", *(el("li", code_spans(n)) for n in table.notes), class_="notes")
        if table.notes else "",
    ])


WRAP = frozenset({"device"})
"""The long cells of the main tables, wrapped, so that a wide screen shows more columns."""


def tables(records: Records) -> list[Table[Any]]:
    """The tables of report.md (``markdown.render``), in its order, with their notes."""
    from bench.report.servers import LEGEND as SERVER_LEGEND
    from bench.report.servers import SERVERS, server_records
    from bench.report.vlm import LEGEND as VLM_LEGEND
    from bench.report.vlm import VLM, vlm_rows

    plain = [r for r in records if not r.get("mixed")]
    mixed = [r["mixed"] for r in records if r.get("mixed")]
    out: list[Table[Any]] = []
    if plain:
        bench_cols = markdown.bench_columns(plain)
        out.append(Table("bench", "Tests (llama-bench style)", bench_cols,
                         markdown.tests_of(plain), wide=WRAP))
        compare_cols = markdown.comparison_columns(plain)
        out.append(Table("compare", "Per model: devices compared", compare_cols,
                         markdown.comparison_rows(plain), wide=WRAP))
    vlm = vlm_rows(plain)
    if vlm:
        out.append(Table("vlm", "Vision-language: an image and a question", VLM, vlm,
                         [VLM_LEGEND]))
    served = server_records(plain)
    if served:
        out.append(Table("servers", "Servers: their CPU time is the workload", SERVERS,
                         served, [SERVER_LEGEND]))
    if mixed:
        from bench.vision.report import MIXED, render_mixed_table

        notes = [line for line in render_mixed_table(mixed).splitlines()
                 if line.strip() and not line.startswith("|")]
        out.append(Table("mixed", "Mixed mode: vision and LLM at the same time", MIXED,
                         mixed, notes, wide=frozenset({"W mixed", "failures"})))
    return out


def flat_table(records: Records) -> Table[Any]:
    """Every figure of report.csv / report.json, one row per case."""
    return Table("all", "Every figure (the columns of report.csv)", FLAT,
                 [(r, power_of(r)) for r in records],
                 ["The same columns and values as report.csv and report.json; empty there, "
                  "n/a here: not measured."])


def system_table(runs: Sequence[tuple[str, Env]]) -> Table[Any]:
    """One row per fact of the System section, one column per run; the facts that differ
    between runs first, marked."""
    present = [(name, env) for name, env in runs if env]
    texts = {name: facts(env) for name, env in present}
    differ = set(differences([env for _, env in present])) if len(present) > 1 else set()
    labels = [label for label, _, _ in FACTS]
    labels.sort(key=lambda label: label not in differ)

    def fact(label: str) -> str:
        return f"{label} (differs)" if label in differ else label

    def per_run(name: str, env: Env) -> Column[str]:
        def get(label: str) -> str:
            return texts[name][label] if env else "no environment.json (not recorded)"
        return Column(name, get)

    cols: list[Column[str]] = [Column("fact", fact),
                               *(per_run(name, env) for name, env in runs)]
    notes = ["n/a (why): the fact could not be read on that host, and why."]
    if differ:
        notes.append("(differs): not the same in every run.")
    return Table("system", "System", cols, labels, notes, sortable=False,
                 wide=frozenset(name for name, _ in runs))


def legend_items(records: Records) -> list[Html]:
    """The notes of report.md's legend; one that explains a label starts with its badge."""
    out = []
    for line in markdown.legend(records).splitlines():
        text = line.removeprefix("- ")
        label = next((k for k in BADGES if text.startswith(k + ":")), None)
        if label:
            out.append(el("li", badges(label), code_spans(text[len(label):])))
        else:
            out.append(el("li", code_spans(text)))
    return out


def _figure(f: Figure) -> Html:
    return el("figure", f.svg, el("figcaption", f.what), id=f.id)


def _section(sid: str, heading: str, *body: object) -> Html:
    return el("section", el("h2", heading), *body, id=sid)


def page(title: str, runs: Sequence[str], records: Records, figs: Sequence[Figure],
         fig_notes: Sequence[str], system: Sequence[tuple[str, Env]]) -> Html:
    """The whole document."""
    sections: list[tuple[str, str, list[object]]] = []
    for t in tables(records):
        sections.append((f"s-{t.id}", t.heading, [table_html(t)]))
    sections.append(("s-legend", "Labels and notes", [el("ul", *legend_items(records))]))
    fig_body: list[object] = [_figure(f) for f in figs]
    fig_body += [el("p", f"note: {n}", class_="note") for n in fig_notes]
    sections.append(("s-figures", "Figures", fig_body or [el("p", "no figures")]))
    samples = markdown.sample_outputs([r for r in records if not r.get("mixed")])
    if samples:
        items = [el("li", code_spans(line[2:])) for line in samples.splitlines()]
        sections.append(("s-samples", "Sample output (first repetition)",
                         [el("ul", *items, class_="samples")]))
    sections.append(("s-system", "System", [table_html(system_table(system))]))
    flat = flat_table(records)
    sections.append(("s-all", flat.heading,
                     [el("details", el("summary", f"{len(records)} rows, {len(FLAT)} columns"),
                         table_html(flat))]))
    nav = el("nav", el("ul", *(el("li", el("a", heading, href=f"#{sid}"))
                               for sid, heading, _ in sections)), aria_label="sections")
    script = SCRIPT
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    head = el("head",
              el("meta", charset="utf-8"),
              el("meta", http_equiv="Content-Security-Policy", content=csp),
              el("meta", name="viewport", content="width=device-width, initial-scale=1"),
              el("meta", name="generator", content=f"pibench {bench.__version__}"),
              el("title", title),
              el("style", Html.trusted(CSS)))
    header = el("header", el("h1", title),
                el("p", "Runs: ", join((el("code", r) for r in runs), ", "), ". Written by "
                   f"pibench {bench.__version__}; this file loads nothing from elsewhere.",
                   class_="note"))
    main = el("main", header, nav, *(_section(sid, h, *body) for sid, h, body in sections))
    return Html("<!DOCTYPE html>\n" + el("html", head, el(
        "body", main, el("script", Html.trusted(script))), lang="en") + "\n")


def render_html(runs: Sequence[tuple[RunDir, Records]], title: str,
                warn: Warn | None = None, plot_title: str | None = None
                ) -> tuple[str, list[str]]:
    """The page of the runs, and notes on what it could not hold (no matplotlib, a case
    without token times). ``plot_title``: the plots' title (default: the config's
    description); the runs are labelled in them by what differs (bench.plots.context)."""
    from bench.plots.context import context_of

    records = [r for _, recs in runs for r in recs]
    paths = [run.path for run, _ in runs]
    names = run_names(paths)  # two hosts' runs of the same second: their paths
    ctx = context_of(paths, plot_title, warn, names)
    figs, notes = figures([(n, recs) for n, (_, recs) in zip(names, runs, strict=True)],
                          warn, ctx)
    system = envs_of_runs(paths, warn)
    return page(title, names, records, figs, notes, system), notes


def write_html(runs: Sequence[tuple[RunDir, Records]], out: Path, title: str,
               warn: Warn | None = None, plot_title: str | None = None
               ) -> tuple[Path, list[str]]:
    """Write the page whole to ``out``, or beside it under a free name (report-2.html) when
    ``out`` exists: pibench never overwrites a file. (path written, notes)."""
    from bench.report.export import _free
    from bench.results.safe_io import storage_error, write_new

    text, notes = render_html(runs, title, warn, plot_title)
    path = _free(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, path) from None
    write_new(path, text)
    return path, notes
