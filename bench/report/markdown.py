"""Markdown tables: llama-bench-like per case, and a per-model comparison of devices."""

from __future__ import annotations

from typing import Any

from bench.report.rows import (
    NA,
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


def _table(header: list[str], rows: list[list[str]], align: str) -> str:
    widths = [max(3, len(h), *(len(r[i]) for r in rows)) if rows else max(3, len(h))
              for i, h in enumerate(header)]
    def line(cells: list[str]) -> str:
        out = []
        for c, w, a in zip(cells, widths, align, strict=False):
            out.append(c.rjust(w) if a == "r" else c.ljust(w))
        return "| " + " | ".join(out) + " |"
    sep = "| " + " | ".join(("-" * (w - 1) + ":") if a == "r" else "-" * w
                             for w, a in zip(widths, align, strict=False)) + " |"
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


BENCH_HEADER = ["model", "backend", "device", "size", "params", "threads", "test", "t/s", "n",
                "source", "labels"]
BENCH_ALIGN = "lllrrrlrrll"


def bench_table(records: list[dict[str, Any]]) -> str:
    """One row per test like llama-bench: pp (prompt) and tg (generation), mean ± sd."""
    return _table(BENCH_HEADER, bench_rows(records), BENCH_ALIGN)


def bench_rows(records: list[dict[str, Any]]) -> list[list[str]]:
    """The rows of ``bench_table`` (also drawn as a terminal table by ``pibench run``)."""
    rows = []
    for r in records:
        b = r.get("backend") or {}
        threads = str(b.get("threads", NA)) if b.get("threads") is not None else NA
        common = [r["model"]["name"], b.get("name", NA), str(b.get("device", NA)),
                  size_gib(r), params(r), threads]
        if r.get("status") == "failed":
            err = (r.get("error") or {}).get("message", "")
            rows.append([*common, "-", NA, "0", "-", f"FAILED: {err}"[:90]])
            continue
        for key, test in (("prompt_tps", prompt_test(r)), ("gen_tps", gen_test(r))):
            s = tps_figure(r, key)
            n = str(s.get("n", 0)) if s else "0"
            src = s.get("source", NA) if s and s.get("n") else NA
            rows.append([*common, test, fmt_pm(s), n, src, flags(r)])
    return rows


def comparison_table(records: list[dict[str, Any]]) -> str:
    """Per model: each backend/device side by side, with power where measured."""
    header = ["model", "backend", "device", "test", "tg t/s (median)", "pp t/s (median)",
              "TTFT s (median)", "idle W", "gen W (mean ± sd)", "peak W", "J/token",
              "tokens/J", "power source", "labels"]
    rows = []
    for r in sorted(records, key=lambda r: (r["model"]["name"], r["backend"]["name"])):
        b = r.get("backend") or {}
        p = power_of(r)
        rows.append([
            r["model"]["name"], b.get("name", NA), str(b.get("device", NA)), gen_test(r),
            fmt(median(r, "gen_tps")), fmt(median(r, "prompt_tps")),
            fmt(median(r, "ttft_s"), 3), fmt(p.idle_w),
            fmt_pm({"mean": p.gen_mean_w, "stddev": p.gen_mean_w_sd}),
            fmt(p.peak_w), fmt(p.j_per_token, 3), fmt(p.tokens_per_j, 3), p.source, flags(r),
        ])
    return _table(header, rows, "llllrrrrrrrrll")


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
    if "throttled" in labels:
        notes.append("throttled: the board reported under-voltage, capping, throttling or "
                     "the soft temperature limit during the case.")
    if "throttle history unknown" in labels:
        notes.append("throttle history unknown: the firmware's since-boot throttle bits were "
                     "already set before the case and polling did not read the current bits "
                     "throughout, so a short throttle may have been missed.")
    if "busy host" in labels:
        busy = [r["host_load"]["other_cpu_pct"] for r in records
                if "busy host" in (r.get("labels") or []) and r.get("host_load")]
        worst = f" (up to {max(busy):.0f} % of all cores)" if busy else ""
        notes.append("busy host: other processes used CPU time during the measured "
                     f"repetitions{worst}: those figures are likely low.")
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
        parts += ["## Vision-language: an image and a question", "", vlm_table(vlm, _table),
                  "", f"- {LEGEND}", ""]
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
