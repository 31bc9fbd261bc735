"""Build the figures of run folders and write them as PNG or SVG, never overwriting a file
(a second plot of the same folder gets ``gen_tps-2.png``, as reports do)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.plots import require_matplotlib
from bench.plots.context import PlotContext, default_context
from bench.plots.data import (
    METRICS,
    Run,
    has_power,
    metric_bars,
    mixed_bars,
    pick_timelines,
    power_bars,
    power_covers,
    slug,
    timeline,
)
from bench.report.export import _free as free_path
from bench.results.reader import Warn, full_record
from bench.results.schema import UNITS

require_matplotlib()

from matplotlib.figure import Figure  # noqa: E402

from bench.plots.bars import Column, bar_figure  # noqa: E402
from bench.plots.layout import DPI  # noqa: E402
from bench.plots.overtime import over_time  # noqa: E402
from bench.plots.overtime_figure import overtime_figure  # noqa: E402
from bench.plots.sweep import Axis, sweep_figure, sweep_series  # noqa: E402
from bench.plots.timeline import timeline_figure  # noqa: E402

FORMATS = ("png", "svg")

BARS = ("Bars: median of the measured repetitions (warm-up excluded); error bars: min to max; "
        "n: repetitions with the figure. n/a: not measured (no bar drawn).")
CAPTIONS = {
    "gen_tps": "Generation speed = (tokens - first) / (t_last - t_first), harness clock (the "
               "same for every backend): the first token belongs to prompt processing, as in "
               "llama-bench.",
    "prompt_tps": "Prompt speed = prompt tokens / time to first token, harness clock (the "
                  "first token's sampling is inside it).",
    "ttft_s": "Time to first token: from handing the request to the runtime to the first "
              "token event, harness clock. Lower is better.",
}
TITLES = {"gen_tps": "Generation speed", "prompt_tps": "Prompt processing speed",
          "ttft_s": "Time to first token"}
STEMS = {"gen_tps": "gen_tps", "prompt_tps": "prompt_tps", "ttft_s": "ttft"}


@dataclass
class Plot:
    stem: str  # file name without the suffix
    what: str  # one line for the user
    figure: Figure


def _ctx(runs: list[Run], ctx: PlotContext | None) -> PlotContext:
    return ctx if ctx is not None else default_context([name for name, _ in runs])


def metric_plot(runs: list[Run], metric: str, ctx: PlotContext | None = None) -> Plot | None:
    ctx = _ctx(runs, ctx)
    bars = metric_bars(runs, metric, ctx.labels)
    if not bars:
        return None
    label = METRICS[metric][1]
    unit = UNITS[metric]
    fig = bar_figure([Column(metric, "", f"{label} ({unit})", bars)],
                     ctx.heading(f"{TITLES[metric]} ({unit}) per model and backend",
                                 len(runs) > 1),
                     f"{BARS} {CAPTIONS[metric]}{ctx.runs_note()}")
    return Plot(STEMS[metric], f"{label} ({unit}), median with min..max, per model/backend",
                fig)


def power_plot(runs: list[Run], ctx: PlotContext | None = None) -> Plot | None:
    if not has_power(runs):
        return None
    ctx = _ctx(runs, ctx)
    tpj, watts = power_bars(runs, ctx.labels)
    caption = ("Power: each case's first meter (every meter is in cases.jsonl). Tokens per "
               "joule = generated tokens / request energy (prompt + generation), pooled over "
               "n repetitions: one figure per case, no error bar. Mean W over the generation "
               "phase; error bars: ± sample standard deviation of the per-repetition means. "
               "n/a: no power figure for that case (none drawn). What the meters cover: "
               + "; ".join(power_covers(runs)) + "." + ctx.runs_note())
    fig = bar_figure([Column("tokens_per_j", "tokens per joule", "tokens/J", tpj),
                      Column("gen_mean_w", "mean power, generation", "W", watts)],
                     ctx.heading("Energy: tokens per joule and mean W per model and backend",
                                 len(runs) > 1), caption)
    return Plot("power", "tokens per joule and mean W (generation) per model/backend", fig)


def mixed_plot(runs: list[Run], ctx: PlotContext | None = None) -> Plot | None:
    ctx = _ctx(runs, ctx)
    fps, tps = mixed_bars(runs, ctx.labels)
    if not fps:
        return None
    caption = ("Mixed mode: vision and an LLM alone, then at the same time. Vision: frames "
               "finished per second of the window (n: frames; one window, no error bar). LLM: "
               "median generation tokens/s (first token excluded, harness clock); error bars: "
               "min to max; n: repetitions. n/a: not measured; FAILED: that side failed in "
               "that phase." + ctx.runs_note())
    fig = bar_figure([Column("vision_fps", "vision", "frames/s", fps),
                      Column("llm_gen_tps", "LLM generation", "tokens/s", tps)],
                     ctx.heading("Mixed mode: alone vs mixed per placement", len(runs) > 1),
                     caption)
    return Plot("mixed", "vision frames/s and LLM tokens/s, alone vs mixed, per placement", fig)


def sweep_plots(runs: list[Run], ctx: PlotContext | None = None) -> list[Plot]:
    """tokens/s against threads and against depth, where the runs sweep them."""
    ctx = _ctx(runs, ctx)
    out = []
    axes: tuple[Axis, ...] = ("threads", "depth")
    for axis in axes:
        series = sweep_series(runs, axis, ctx.labels)
        if series:
            fig = sweep_figure(series, axis,
                               ctx.heading(f"tokens/s against {axis}, per model and device",
                                           len(runs) > 1))
            out.append(Plot(f"sweep-{axis}", f"tokens/s against {axis} (median, min..max), "
                            "per model and device", fig))
    return out


def overtime_plot(run: str, records: list[dict[str, Any]], ctx: PlotContext, several: bool,
                  warn: Warn | None = None) -> tuple[Plot | None, list[str]]:
    """The board over the run's time, and notes on what it lacks (or why it is not drawn)."""
    ot = over_time(run, records, lambda r: full_record(r, warn))
    named = f" [{ctx.label(run)}]" if several else ""
    if not ot.has_health and not ot.has_power:
        return None, [f"no plot over the run's time{named}: " + "; ".join(ot.missing)]
    drawn = [w for w, ok in (("temperature", ot.temp), ("ARM clock", ot.arm or ot.requested),
                             ("throttle flags", ot.throttle), ("power", ot.has_power)) if ok]
    fig = overtime_figure(ot, ctx.heading(
        "Over the run's time: " + ", ".join(drawn) + named, False))
    stem = "over-time" + (f"-{slug(ctx.label(run))}" if several else "")
    return (Plot(stem, ", ".join(drawn) + " over the run's time", fig),
            [f"over the run's time{named}, not drawn: {m}" for m in ot.missing])


def build(runs: list[Run], cases: list[str] | None = None, warn: Warn | None = None,
          ctx: PlotContext | None = None) -> tuple[list[Plot], list[str]]:
    """Every figure the runs have, and notes on what was not drawn. ``ctx``: the title and
    the runs' labels (``bench.plots.context.context_of``)."""
    ctx = _ctx(runs, ctx)
    plots = [p for p in (metric_plot(runs, "gen_tps", ctx), metric_plot(runs, "prompt_tps", ctx),
                         metric_plot(runs, "ttft_s", ctx), power_plot(runs, ctx),
                         mixed_plot(runs, ctx))
             if p is not None]
    plots += sweep_plots(runs, ctx)
    notes = []
    if not has_power(runs):
        notes.append("no power figures in these runs: no power plot")
    for run, records in runs:
        plot, why = overtime_plot(run, records, ctx, len(runs) > 1, warn)
        if plot is not None:
            plots.append(plot)
        notes += why
    picked = pick_timelines(runs, cases, lambda r: full_record(r, warn))
    if cases and not picked:
        notes.append(f"no case matches {', '.join(cases)}: no timeline")
    for run, record in picked:
        tl = timeline(run, record)
        if tl is None:
            err = (record.get("error") or {}).get("message")
            notes.append(f"{record['case_id']}: no repetition with token times"
                         + (f" (FAILED: {err})" if err else "") + ": no timeline")
            continue
        several = len(runs) > 1
        stem = f"timeline-{slug(record['case_id'])}" + (
            f"-{slug(ctx.label(run))}" if several else "")
        fig = timeline_figure(tl, ctx.heading(f"Per-token timeline: {record['case_id']}"
                                              + (f" [{ctx.label(run)}]" if several else ""),
                                              False))
        what = f"per-token timeline of {record['case_id']}" + (
            " with power" if tl.power_t else "")
        plots.append(Plot(stem, what, fig))
    return plots, notes


def save(plot: Plot, out_dir: Path, fmt: str) -> Path:
    """Written whole under a free name (never over a file or through a link)."""
    import io

    from bench.results.safe_io import write_new

    buf = io.BytesIO()
    plot.figure.savefig(buf, format=fmt, dpi=DPI)
    path = free_path(out_dir / f"{plot.stem}.{fmt}")
    write_new(path, buf.getvalue())
    return path


def write_plots(runs: list[Run], out_dir: Path, fmt: str = "png",
                cases: list[str] | None = None, warn: Warn | None = None,
                ctx: PlotContext | None = None,
                ) -> tuple[list[tuple[Path, str]], list[str]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    plots, notes = build(runs, cases, warn, ctx)
    return [(save(p, out_dir, fmt), p.what) for p in plots], notes
