"""Markdown tables: llama-bench-like per case, and a per-model comparison of devices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.report.columns import Column, grid, markdown
from bench.report.rows import (
    NA,
    Power,
    flags,
    fmt,
    fmt_pm,
    gen_test,
    median,
    params,
    power_of,
    prompt_test,
    size_gib,
    tps_figure,
)
from bench.report.thermal import thermal_cell


def _table(header: list[str], rows: list[list[str]], align: str) -> str:
    """A Markdown table of ready-made cells (kept for the tables not yet given columns)."""
    return grid(header, rows, align)


@dataclass(frozen=True)
class TestRow:
    """One row of the llama-bench-like table: a case's prompt (pp) or generation (tg) test,
    or its failure."""

    record: dict[str, Any]
    test: str = "-"
    summary: dict[str, Any] | None = None
    failed: bool = False


def _tests(records: list[dict[str, Any]]) -> list[TestRow]:
    rows = []
    for r in records:
        if r.get("status") == "failed":  # an interrupted case shows the reps it kept
            rows.append(TestRow(r, failed=True))
            continue
        for key, test in (("prompt_tps", prompt_test(r)), ("gen_tps", gen_test(r))):
            rows.append(TestRow(r, test, tps_figure(r, key)))  # the ✓ line's figure too
    return rows


def _n(t: TestRow) -> str:
    return "0" if t.failed or not t.summary else str(t.summary.get("n", 0))


def _source(t: TestRow) -> str:
    s = t.summary
    return "-" if t.failed else (s.get("source", NA) if s and s.get("n") else NA)


def _labels(t: TestRow) -> str:
    if t.failed:
        return f"FAILED: {(t.record.get('error') or {}).get('message', '')}"[:90]
    return flags(t.record)


BENCH: list[Column[TestRow]] = [
    Column("model", lambda t: t.record["model"]["name"]),
    Column("backend", lambda t: (t.record.get("backend") or {}).get("name", NA)),
    Column("device", lambda t: (t.record.get("backend") or {}).get("device")),
    Column("size", lambda t: size_gib(t.record), "r"),
    Column("params", lambda t: params(t.record), "r"),
    Column("threads", lambda t: (t.record.get("backend") or {}).get("threads"), "r"),
    Column("test", lambda t: t.test),
    Column("t/s", lambda t: t.summary, "r", fmt_pm),
    Column("n", _n, "r"),
    Column("source", _source),
    Column("labels", _labels),
]
"""One row per test like llama-bench: pp (prompt) and tg (generation), mean ± sd."""


def bench_table(records: list[dict[str, Any]]) -> str:
    """One row per test like llama-bench: pp (prompt) and tg (generation), mean ± sd."""
    return markdown(BENCH, _tests(records))


BENCH_HEADER = [c.header for c in BENCH]
BENCH_ALIGN = "".join(c.align for c in BENCH)


def bench_rows(records: list[dict[str, Any]]) -> list[list[str]]:
    """The cells of ``bench_table`` (also drawn as a terminal table by ``pibench run``)."""
    return [[c.fmt(c.get(t)) for c in BENCH] for t in _tests(records)]


Compared = tuple[dict[str, Any], Power]


COMPARISON: list[Column[Compared]] = [
    Column("model", lambda c: c[0]["model"]["name"]),
    Column("backend", lambda c: (c[0].get("backend") or {}).get("name", NA)),
    Column("device", lambda c: (c[0].get("backend") or {}).get("device")),
    Column("test", lambda c: gen_test(c[0])),
    Column("tg t/s (median)", lambda c: median(c[0], "gen_tps"), "r", fmt),
    Column("pp t/s (median)", lambda c: median(c[0], "prompt_tps"), "r", fmt),
    Column("TTFT s (median)", lambda c: median(c[0], "ttft_s"), "r", lambda x: fmt(x, 3)),
    Column("idle W", lambda c: c[1].idle_w, "r", fmt),
    Column("gen W (mean ± sd)",
           lambda c: {"mean": c[1].gen_mean_w, "stddev": c[1].gen_mean_w_sd}, "r", fmt_pm),
    Column("peak W", lambda c: c[1].peak_w, "r", fmt),
    Column("J/token", lambda c: c[1].j_per_token, "r", lambda x: fmt(x, 3)),
    Column("tokens/J", lambda c: c[1].tokens_per_j, "r", lambda x: fmt(x, 3)),
    Column("power source", lambda c: c[1].source),
    Column("SoC C, ARM MHz", lambda c: thermal_cell(c[0]), "r"),
    Column("labels", lambda c: flags(c[0])),
]
"""Per model: each backend/device side by side, with power where measured, and the thermal
state each was measured at (mean over the generation; bench.report.thermal)."""


def comparison_table(records: list[dict[str, Any]]) -> str:
    """Per model: each backend/device side by side, with power where measured."""
    ordered = sorted(records, key=lambda r: (r["model"]["name"], r["backend"]["name"]))
    return markdown(COMPARISON, [(r, power_of(r)) for r in ordered])


def legend(records: list[dict[str, Any]]) -> str:
    notes = ["t/s: mean ± sample standard deviation over the measured repetitions (n); "
             "warm-up runs excluded. Generation t/s excludes the first token (it belongs to "
             "prompt processing). n/a: not measured."]
    if any(r.get("power") for r in records):
        notes.append("power: the case's first meter (all meters are in cases.jsonl); W over "
                     "the generation phase, energy integrated over the samples; J/token = "
                     "request energy (prompt + generation) / generated tokens; idle W measured "
                     "before the case.")
    labels = {lab for r in records for lab in r.get("labels") or []}
    if "simulated" in labels:
        notes.append("simulated: figures from a simulated device (mock backend, profile of "
                     "published figures), not a measurement of hardware.")
    if "synthetic weights: speed only" in labels:
        notes.append("synthetic weights: speed only: a model with the exact shape of the real "
                     "one and random weights; its speed is real, its text is meaningless.")
    if any(lab.startswith("drifting") for lab in labels):
        notes.append("drifting: the case's speed moved over its repetitions in time order "
                     "(Mann-Kendall test, p < 0.05, change >= 1 %); the % is the change from "
                     "the first to the last repetition the trend explains (Sen slope): its "
                     "mean is not one state of the board. See docs/results.md (drift).")
    if any(r.get("thermal") for r in records):
        notes.append("SoC C, ARM MHz: mean SoC temperature and ARM clock read at the start and "
                     "end of each repetition ((sim): a simulated board); n/a: not read.")
    if "throttled" in labels:
        notes.append("throttled: the board reported under-voltage, capping, throttling or "
                     "the soft temperature limit during the case.")
    if "throttle history unknown" in labels:
        notes.append("throttle history unknown: the firmware's since-boot throttle bits were "
                     "already set before the case and polling did not read the current bits "
                     "throughout, so a short throttle may have been missed.")
    if "busy host" in labels:
        busy = [x for r in records if "busy host" in (r.get("labels") or [])
                if (x := (r.get("host_load") or {}).get("other_cpu_pct")) is not None]
        worst = f" (up to {max(busy):.0f} % of all cores)" if busy else ""
        notes.append("busy host: other processes used CPU time during the measured "
                     f"repetitions{worst}: those figures are likely low.")
    if any(lab.startswith("prompt ") and lab.endswith(" tokens") for lab in labels):
        notes.append("prompt N tokens: the prompt the runtime counted (the server's own "
                     "count) differs from the workload's length (pp...): N is its real length.")
    return "\n".join(f"- {n}" for n in notes)


def sample_outputs(records: list[dict[str, Any]], width: int = 160) -> str:
    """What the model said, so a reader can tell real text from synthetic noise."""
    lines = []
    for r in records:
        reps = r.get("reps") or []
        if not reps or not reps[0].get("text"):
            continue
        text = " ".join(str(reps[0]["text"]).split())
        prompt = " ".join(str(reps[0].get("prompt", "")).split())
        if len(text) > width:
            text = text[: width - 1] + "…"
        label = flags(r)
        lines.append(f"- `{r['case_id']}` ({label or 'unlabelled'}): {prompt!r} → {text!r}")
    return "\n".join(lines)


def render(records: list[dict[str, Any]], title: str) -> str:
    plain = [r for r in records if not r.get("mixed")]
    mixed = [r for r in records if r.get("mixed")]
    parts = [f"# {title}", ""]
    if plain:
        parts += [bench_table(plain), "", "## Per model: devices compared", "",
                  comparison_table(plain), ""]
    from bench.report.vlm import LEGEND, vlm_records, vlm_table

    vlm = vlm_records(plain)
    if vlm:
        parts += ["## Vision-language: an image and a question", "", vlm_table(vlm),
                  "", f"- {LEGEND}", ""]
    from bench.report.servers import LEGEND as SERVER_LEGEND
    from bench.report.servers import server_records, server_table

    served = server_records(plain)
    if served:
        parts += ["## Servers: their CPU time is the workload", "",
                  server_table(served), "", f"- {SERVER_LEGEND}", ""]
    samples = sample_outputs(plain)
    if samples:
        parts += ["## Sample output (first repetition)", "", samples, ""]
    parts += [legend(records), ""]
    if mixed:
        from bench.vision.report import render_mixed_table

        # after the legend, with a blank line before the heading (not glued to the list)
        parts[-1:-1] = ["", "## Mixed mode: vision and LLM at the same time", "",
                        render_mixed_table([r["mixed"] for r in mixed]).rstrip("\n")]
    return "\n".join(parts)
