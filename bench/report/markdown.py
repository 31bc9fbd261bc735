"""Markdown tables: llama-bench-like per case, and a per-model comparison of devices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.report import merged
from bench.report.columns import (
    FIGURE_NOTE,
    Column,
    Figure,
    figure,
    fmt_figure,
    grid,
    markdown,
)
from bench.report.rows import (
    NA,
    Power,
    flags,
    fmt,
    fmt_pm,
    gen_test,
    origin,
    params,
    power_of,
    prompt_test,
    size_gib,
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
    figure: Figure | None = None
    """The shown figure (columns.figure: median, harness clock), the ✓ line's too."""
    runtime: Figure | None = None
    """The runtime's own counters (llama.cpp perf counters, server timings), when it has
    them: a column of its own, never mixed with the harness figure."""
    failed: bool = False


def workload_tags(records: list[dict[str, Any]]) -> dict[str, str]:
    """case_id -> " [workload]" for the cases whose test names another workload gives too
    (``pp256`` of workload ``long`` and of ``short``), else "" (the test alone is clear)."""
    names: dict[str, set[str]] = {}
    for r in records:
        w = str((r.get("workload") or {}).get("name", "?"))
        for test in (prompt_test(r), gen_test(r)):
            names.setdefault(test, set()).add(w)
    out = {}
    for r in records:
        w = str((r.get("workload") or {}).get("name", "?"))
        shared = any(len(names[t]) > 1 for t in (prompt_test(r), gen_test(r)))
        out[r["case_id"]] = f" [{w}]" if shared else ""
    return out


def tests_of(records: list[dict[str, Any]]) -> list[TestRow]:
    """The rows of ``bench_table``: a case's pp and tg tests, or its failure."""
    rows = []
    tags = workload_tags(records)
    for r in records:
        if r.get("status") == "failed":  # an interrupted case shows the reps it kept
            rows.append(TestRow(r, failed=True))
            continue
        tag = tags.get(r["case_id"], "")
        for key, test in (("prompt_tps", prompt_test(r)), ("gen_tps", gen_test(r))):
            rows.append(TestRow(r, test + tag, figure(r, key), figure(r, f"internal_{key}")))
    return rows


def _n(t: TestRow) -> str:
    return "0" if t.failed or not t.figure else str(t.figure.n)


def _runtime_clock(t: TestRow) -> str:
    return "-" if t.failed else (t.runtime.source if t.runtime else NA)


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
    Column("t/s median (min–max)", lambda t: t.figure, "r", fmt_figure),
    Column("n", _n, "r"),
    Column("runtime t/s median", lambda t: t.runtime, "r", fmt_figure),
    Column("runtime clock", _runtime_clock),
    Column("labels", _labels),
]
"""One row per test like llama-bench: pp (prompt) and tg (generation); t/s is the median
over the repetitions (min–max) on the harness clock (columns.figure), and the runtime's own
counters, when it has them, in their own columns."""


def bench_table(records: list[dict[str, Any]]) -> str:
    """One row per test like llama-bench: pp (prompt) and tg (generation), harness median;
    with run, host and board columns where the records' runs differ in them."""
    return markdown(bench_columns(records), tests_of(records))


RUNTIME_COLUMNS = ("runtime t/s median", "runtime clock")
"""The columns of the runtime's own counters (left off the terminal when no row has them)."""


def bench_test_rows(records: list[dict[str, Any]]) -> list[TestRow]:
    """The rows of ``bench_table`` (``pibench bench`` draws them with a depth column)."""
    return tests_of(records)


def bench_columns(records: list[dict[str, Any]]) -> list[Column[TestRow]]:
    """The columns of ``bench_table``: run, host and board where the records' runs differ
    in them, then ``BENCH``."""
    return [*merged.origin_columns(records, lambda t: t.record), *BENCH]


def bench_rows(records: list[dict[str, Any]]) -> list[list[str]]:
    """The cells of ``bench_table`` (also drawn as a terminal table by ``pibench run``)."""
    columns = bench_columns(records)
    return [[c.fmt(c.get(t)) for c in columns] for t in tests_of(records)]


Compared = tuple[dict[str, Any], Power, str]
"""A case, its first meter's figures, and its workload tag (``workload_tags``)."""


def _value(record: dict[str, Any], metric: str) -> float | None:
    fig = figure(record, metric)
    return None if fig is None else fig.value


COMPARISON: list[Column[Compared]] = [
    Column("model", lambda c: c[0]["model"]["name"]),
    Column("backend", lambda c: (c[0].get("backend") or {}).get("name", NA)),
    Column("device", lambda c: (c[0].get("backend") or {}).get("device")),
    Column("test", lambda c: gen_test(c[0]) + c[2]),
    # the harness clock for every device: a server without timings and a runtime with perf
    # counters are compared on the same clock
    Column("tg t/s (median)", lambda c: _value(c[0], "gen_tps"), "r", fmt),
    Column("pp t/s (median)", lambda c: _value(c[0], "prompt_tps"), "r", fmt),
    Column("TTFT s (median)", lambda c: _value(c[0], "ttft_s"), "r", lambda x: fmt(x, 3)),
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


def comparison_columns(records: list[dict[str, Any]]) -> list[Column[Compared]]:
    """The columns of ``comparison_table``: run, host and board where the records' runs
    differ in them, then ``COMPARISON``."""
    return [*merged.origin_columns(records, lambda c: c[0]), *COMPARISON]


def comparison_rows(records: list[dict[str, Any]]) -> list[Compared]:
    """The rows of ``comparison_table``, by model then backend."""
    ordered = sorted(records, key=lambda r: (r["model"]["name"], r["backend"]["name"]))
    tags = workload_tags(records)
    return [(r, power_of(r), tags.get(r["case_id"], "")) for r in ordered]


def comparison_table(records: list[dict[str, Any]]) -> str:
    """Per model: each backend/device side by side, with power where measured."""
    return markdown(comparison_columns(records), comparison_rows(records))


def legend(records: list[dict[str, Any]]) -> str:
    notes = [f"t/s, TTFT: {FIGURE_NOTE} (n repetitions; warm-up runs excluded), in every "
             "table, the ✓ line, report.csv/json (`*_median`, `*_min`, `*_max`) and the plots; "
             "the same clock for every device. runtime t/s: the runtime's own counters "
             "(runtime clock: llama.cpp perf counters, server timings), where it has them. "
             "Generation t/s excludes the first token (it belongs to prompt processing). "
             "[workload]: the workload, when another one gives the same test. "
             "n/a: not measured."]
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
    if "host load n/a" in labels:
        notes.append("host load n/a: the measured repetitions lasted under 1 s, too short to "
                     "tell how much CPU time other processes used (the kernel counts it in "
                     "10 ms ticks); the reason is in the record (host_load.reason).")
    if any(lab.startswith("prompt ") and lab.endswith(" tokens") for lab in labels):
        notes.append("prompt N tokens: the prompt the runtime counted (the server's own "
                     "count) differs from the workload's length (pp...): N is its real length.")
    if any(lab.startswith("not cooled in ") for lab in labels):
        notes.append("not cooled in K/N reps: the wait for health.cool_below_c ran out "
                     "(cool_timeout_s) before K of the N repetitions: they started warmer, or "
                     "at a lower clock, than asked (reps[i].thermal.cooled).")
    if any(lab.startswith("prompt cached in ") for lab in labels):
        notes.append("prompt cached in K/N reps: in K of the N repetitions the server reused "
                     "part of the prompt from its cache, so it did not process the whole "
                     "prompt: their prompt speeds are n/a (TTFT is shown as measured).")
    notes += merged.legend(records)
    return "\n".join(f"- {n}" for n in notes)


def sample_outputs(records: list[dict[str, Any]], width: int = 160) -> str:
    """What the model said, so a reader can tell real text from synthetic noise."""
    lines = []
    runs = merged.run_labels(records)  # several runs: say which one said it
    for r in records:
        reps = r.get("reps") or []
        if not reps or not reps[0].get("text"):
            continue
        text = " ".join(str(reps[0]["text"]).split())
        prompt = " ".join(str(reps[0].get("prompt", "")).split())
        if len(text) > width:
            text = text[: width - 1] + "…"
        label = flags(r)
        where = f" on {runs[origin(r)]}" if runs else ""
        lines.append(f"- `{r['case_id']}`{where} ({label or 'unlabelled'}): {prompt!r} → "
                     f"{text!r}")
    return "\n".join(lines)


def render(records: list[dict[str, Any]], title: str) -> str:
    plain = [r for r in records if not r.get("mixed")]
    mixed = [r for r in records if r.get("mixed")]
    parts = [f"# {title}", ""]
    if plain:
        parts += [bench_table(plain), "", "## Per model: devices compared", "",
                  comparison_table(plain), ""]
        across = merged.across_table(plain)
        if across:
            parts += [merged.across_heading(plain), "", across, ""]
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
