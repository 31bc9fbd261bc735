"""Reports never name a length that was not generated: the test column shows the real count
and a label says why, in the Markdown tables, the CSV, the JSON and the plots' data."""

from __future__ import annotations

import csv
import io
from typing import Any

from bench.plots.data import marks
from bench.report import export, markdown
from bench.report.rows import flags, gen_test
from bench.results.record import CaseRecord


def record(kind: str, asked: int, counts: list[int]) -> dict[str, Any]:
    """A case record built through the record model (bench.results.record)."""
    return CaseRecord.model_validate({
        "case_id": "c", "status": "ok", "labels": [],
        "model": {"name": "m", "family": None, "params_b": None, "artifact": {},
                  "info": {"weights": "real"}},
        "backend": {"name": "npu", "type": "hailo", "device": "Hailo-10H"},
        "workload": {"name": "w", "kind": kind, "prompt_tokens": 16, "gen_tokens": asked},
        "started": "2026-11-27T19:00:00+00:00", "finished": "2026-11-27T19:00:01+00:00",
        "load_s": None, "warmup": 0,
        "reps": [{"rep": i, "gen_tokens": n, "gen_tps": 8.0} for i, n in enumerate(counts)],
        "summary": {"gen_tps": {"mean": 8.0, "median": 8.0, "stddev": 0.0, "min": 8.0,
                                "max": 8.0, "n": len(counts), "unit": "tokens/s",
                                "source": "harness clock"}},
        "peak_rss_mb": None, "power": [], "health": None, "host_load": None, "roofline": None,
        "mixed": None, "error": None,
    }).to_line_dict()


def test_throughput_that_stopped_early_shows_the_real_count() -> None:
    r = record("throughput", 32, [23, 23])
    assert gen_test(r) == "tg23 (asked 32)"
    assert "generated 23 tokens, 32 asked (stopped early)" in flags(r)


def test_exact_throughput_keeps_the_plain_name() -> None:
    r = record("throughput", 32, [32, 32])
    assert gen_test(r) == "tg32" and "asked" not in flags(r)


def test_server_that_ignored_the_limit_is_labelled() -> None:
    r = record("throughput", 8, [40, 40])
    assert gen_test(r) == "tg40 (asked 8)" and "limit ignored" in flags(r)
    chat = record("chat", 8, [40, 12])
    assert gen_test(chat) == "chat tg12-40 (asked ≤8)" and "limit ignored" in flags(chat)


def test_chat_ending_early_is_normal() -> None:
    r = record("chat", 64, [12, 30])
    assert gen_test(r) == "chat tg≤64" and "asked" not in flags(r)


def test_markdown_csv_json_and_plots_carry_it() -> None:
    r = record("throughput", 32, [20, 25])
    md = markdown.render([r], "t")
    assert "tg20-25 (asked 32)" in md and "tg32 " not in md and "stopped early" in md
    (row,) = list(csv.DictReader(io.StringIO(export.to_csv([r]))))
    assert row["gen_tokens_generated"] == "20-25" and "stopped early" in row["labels"]
    (flat,) = export.flat_rows([r])
    assert flat["length_label"] == "generated 20-25 tokens, 32 asked (stopped early)"
    assert any("stopped early" in m for m in marks(r))
