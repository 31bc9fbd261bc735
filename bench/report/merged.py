"""Reports over several runs (several hosts, boards, or runs of one host): which row is which,
and the same case side by side across them.

- ``origin_columns``: the run, host and board columns a table gets in front of its own,
  each only when the records differ in it (a run's own report has none; two runs of one host
  get a run column; runs of two Pis a host column, and a board column when the boards
  differ). CSV and JSON carry all three always (bench.report.export).
- ``across_table``: one row per case, one group of columns per run (named by its host, its
  board and, where those do not tell the runs apart, its run folder), each with the figures
  of the llama-bench table (``columns.figure``: the median (min–max), harness clock).

The origin of a record is read with the run (``bench.report.rows.origin``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.report.columns import Column, figure, fmt_figure, markdown
from bench.report.rows import NA, Origin, origin

Row = TypeVar("Row")

FIELDS = ("run", "host", "board")
"""The origin fields, in the order their columns come."""
MARKED = ("throttled", "busy host")
"""Labels shown in a cell of the side-by-side table: its figure is likely low."""


def _field(o: Origin, name: str) -> str | None:
    value: str | None = getattr(o, name)
    return value


def differing(records: Sequence[dict[str, Any]]) -> list[str]:
    """The origin fields whose value is not the same for every record."""
    origins = {origin(r) for r in records}
    return [f for f in FIELDS if len({_field(o, f) for o in origins}) > 1]


def origin_columns(records: Sequence[dict[str, Any]],
                   record_of: Callable[[Row], dict[str, Any]]) -> list[Column[Row]]:
    """Columns run, host, board for a table of rows whose records are ``record_of(row)``,
    those in which ``records`` differ."""
    def getter(name: str) -> Callable[[Row], object]:
        return lambda row: _field(origin(record_of(row)), name)

    return [Column(name, getter(name)) for name in differing(records)]


@dataclass(frozen=True)
class Group:
    """One run of the side-by-side table and its label."""

    origin: Origin
    label: str


def groups(records: Sequence[dict[str, Any]]) -> list[Group]:
    """The runs of ``records`` in order, labelled by host and board where those differ, with
    the run folder where they do not tell two runs apart."""
    origins = list(dict.fromkeys(origin(r) for r in records))
    named = [f for f in ("host", "board") if len({_field(o, f) for o in origins}) > 1]

    def label(o: Origin, fields: Sequence[str]) -> str:
        return " / ".join(_field(o, f) or NA for f in fields)

    labels = [label(o, named) for o in origins] if named else []
    if not named or len(set(labels)) < len(labels):
        labels = [label(o, [*named, "run"]) for o in origins]
    return [Group(o, text) for o, text in zip(origins, labels, strict=True)]


Across = tuple[str, dict[Origin, dict[str, Any]]]
"""A case id and its record in each run that has it."""


def _cell(record: dict[str, Any] | None, key: str, simulated_marked: bool) -> str:
    if record is None:
        return "-"
    if record.get("status") == "failed":
        return "FAILED"
    text = fmt_figure(figure(record, key))
    labels = record.get("labels") or []
    marks = [lab for lab in labels if lab in MARKED or lab.startswith("interrupted")]
    if simulated_marked and "simulated" in labels:
        marks.insert(0, "simulated")
    return f"{text} ({', '.join(marks)})" if marks else text


def run_labels(records: Sequence[dict[str, Any]]) -> dict[Origin, str]:
    """Each run's label (``groups``) when the records come from several runs, else {}."""
    runs = groups(records)
    return {g.origin: g.label for g in runs} if len(runs) > 1 else {}


def across_table(records: Sequence[dict[str, Any]]) -> str:
    """Markdown: the cases of several runs side by side (pp and tg t/s per run); "" for the
    records of one run, or of runs that share no case."""
    plain = [r for r in records if not r.get("mixed")]
    runs = groups(plain)
    if len(runs) < 2:
        return ""
    by_case: dict[str, dict[Origin, dict[str, Any]]] = {}
    for r in plain:
        by_case.setdefault(r["case_id"], {})[origin(r)] = r
    if not any(len(per_run) > 1 for per_run in by_case.values()):
        return ""
    simulated = {"simulated" in (r.get("labels") or []) for r in plain}
    mark_simulated = len(simulated) > 1  # all simulated or none: the legend says it once

    def cell(g: Group, key: str) -> Callable[[Across], object]:
        return lambda row: _cell(row[1].get(g.origin), key, mark_simulated)

    columns: list[Column[Across]] = [Column("case", lambda row: row[0])]
    for g in runs:
        columns += [Column(f"{g.label}: pp t/s", cell(g, "prompt_tps"), "r"),
                    Column(f"{g.label}: tg t/s", cell(g, "gen_tps"), "r")]
    return markdown(columns, list(by_case.items()))


def across_heading(records: Sequence[dict[str, Any]]) -> str:
    """The side-by-side table's heading: across hosts, boards or runs."""
    what = differing([r for r in records if not r.get("mixed")])
    kind = "hosts" if "host" in what else "boards" if "board" in what else "runs"
    return f"## Same case across {kind}"


def legend(records: Sequence[dict[str, Any]]) -> list[str]:
    """Legend lines for the origin columns and the side-by-side table (none for one run)."""
    what = differing(records)
    if not what:
        return []
    lines = [", ".join(what) + ": where a row comes from (run: the run folder; host: "
             "environment.json `host`; board: type, RAM and revision of the board's revision "
             "code, else its model, environment.json `system`; n/a: not recorded), shown "
             "because the runs differ in it."]
    if across_table(records):
        lines.append("same case across runs: the t/s of the first table (median, min–max, "
                     "harness clock) of each run side by side; -: the case is not in that "
                     "run; a label in brackets: the figure is likely low (throttled, busy "
                     "host) or partial (interrupted).")
    return lines
