"""Report tables from column specifications: one Column gives its Markdown cell, CSV cell and
JSON field; adding a report column is adding one Column."""

from __future__ import annotations

import csv
import io
import json

from bench.report import columns, export, markdown
from bench.report.columns import Column
from tests.test_record_model import _golden


def test_one_column_spec_reaches_markdown_csv_and_json(monkeypatch) -> None:
    records = _golden()
    reps = Column("reps", lambda f: len(f[0]["reps"]) or None, "r",
                  lambda n: "none" if n is None else f"{n} reps")
    monkeypatch.setattr(export, "FLAT", [*export.FLAT, reps])
    rows = json.loads(json.dumps(export.flat_rows(records)))
    by_id = {r["case_id"]: r for r in rows}
    assert by_id["Qwen2-1.5B-Instruct/cpu/chat"]["reps"] == 3
    assert by_id["Llama-3.2-3B-Instruct/broken/chat"]["reps"] is None  # null, not 0
    table = list(csv.DictReader(io.StringIO(export.to_csv(records))))
    assert [r["reps"] for r in table][:2] == ["3", "3"]
    assert {r["reps"] for r in table if r["status"] == "failed" and "broken" in r["case_id"]} \
        == {""}  # an empty cell: not measured
    text = columns.markdown([reps], [(r, None) for r in records[:1] + records[-7:-6]])
    assert text.splitlines() == ["|   reps |", "| -----: |", "| 3 reps |", "|   none |"]


def test_a_comparison_column_is_one_spec(monkeypatch) -> None:
    records = [r for r in _golden() if r["status"] == "ok"][:2]
    load = Column("load s", lambda c: c[0]["load_s"], "r", lambda x: f"{x:.1f}")
    monkeypatch.setattr(markdown, "COMPARISON", [*markdown.COMPARISON, load])
    header, sep, *body = markdown.comparison_table(records).splitlines()
    assert header.rstrip(" |").endswith("load s") and sep.endswith(": |")
    assert all(row.split("|")[-2].strip() == f"{records[0]['load_s']:.1f}" for row in body)


def test_none_is_na_in_markdown_and_empty_in_csv() -> None:
    col: Column[dict[str, object]] = Column("x", lambda d: d.get("x"), key="x_value")
    assert columns.markdown([col], [{"x": None}]).splitlines()[2] == "| n/a |"
    rows = list(csv.reader(io.StringIO(columns.to_csv([col], [{"x": None}, {"x": 1.5}]))))
    assert rows == [["x_value"], [""], ["1.5"]]
    assert columns.records([col], [{}]) == [{"x_value": None}]
    assert columns.to_csv([col], []) == ""
