"""Build the figures of run folders and write them as PNG or SVG, never overwriting a file
(a second plot of the same folder gets ``gen_tps-2.png``, as reports do)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.plots import require_matplotlib
from bench.plots.data import (
    METRICS,
    Run,
    has_power,
    metric_bars,
    mixed_bars,
    pick_timelines,
    power_bars,
    power_covers,
    run_names,
    slug,
    timeline,
)
from bench.report.export import _free as free_path
from bench.results.reader import Warn, full_record
from bench.results.schema import UNITS

require_matplotlib()

from matplotlib.figure import Figure  # noqa: E402

from bench.plots.bars import Column, bar_figure  # noqa: E402
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


def metric_plot(runs: list[Run], metric: str) -> Plot | None:
    bars = metric_bars(runs, metric)
    if not bars:
        return None
    label = METRICS[metric][1]
    unit = UNITS[metric]
    fig = bar_figure([Column(metric, "", f"{label} ({unit})", bars)],
                     f"{TITLES[metric]} ({unit}) per model and backend: {run_names(runs)}",
                     f"{BARS} {CAPTIONS[metric]}")
    return Plot(STEMS[metric], f"{label} ({unit}), median with min..max, per model/backend",
                fig)


def power_plot(runs: list[Run]) -> Plot | None:
    if not has_power(runs):
        return None
    tpj, watts = power_bars(runs)
    caption = ("Power: each case's first meter (every meter is in cases.jsonl). Tokens per "
               "joule = generated tokens / request energy (prompt + generation), pooled over "
               "n repetitions: one figure per case, no error bar. Mean W over the generation "
               "phase; error bars: ± sample standard deviation of the per-repetition means. "
               "n/a: no power figure for that case (none drawn). What the meters cover: "
               + "; ".join(power_covers(runs)) + ".")
    fig = bar_figure([Column("tokens_per_j", "tokens per joule", "tokens/J", tpj),
                      Column("gen_mean_w", "mean power, generation", "W", watts)],
                     f"Energy: tokens per joule and mean W per model and backend: "
                     f"{run_names(runs)}", caption)
    return Plot("power", "tokens per joule and mean W (generation) per model/backend", fig)


def mixed_plot(runs: list[Run]) -> Plot | None:
    fps, tps = mixed_bars(runs)
    if not fps:
        return None
    caption = ("Mixed mode: vision and an LLM alone, then at the same time. Vision: frames "
               "finished per second of the window (n: frames; one window, no error bar). LLM: "
               "median generation tokens/s (first token excluded, harness clock); error bars: "
               "min to max; n: repetitions. n/a: not measured; FAILED: that side failed in "
               "that phase.")
    fig = bar_figure([Column("vision_fps", "vision", "frames/s", fps),
                      Column("llm_gen_tps", "LLM generation", "tokens/s", tps)],
                     f"Mixed mode: alone vs mixed per placement: {run_names(runs)}", caption)
    return Plot("mixed", "vision frames/s and LLM tokens/s, alone vs mixed, per placement", fig)


def sweep_plots(runs: list[Run]) -> list[Plot]:
    """tokens/s against threads and against depth, where the runs sweep them."""
    out = []
    axes: tuple[Axis, ...] = ("threads", "depth")
    for axis in axes:
        series = sweep_series(runs, axis)
        if series:
            fig = sweep_figure(series, axis,
                               f"tokens/s against {axis}, per model and device: "
                               f"{run_names(runs)}")
            out.append(Plot(f"sweep-{axis}", f"tokens/s against {axis} (median, min..max), "
                            "per model and device", fig))
    return out


def build(runs: list[Run], cases: list[str] | None = None,
          warn: Warn | None = None) -> tuple[list[Plot], list[str]]:
    """Every figure the runs have, and notes on what was not drawn."""
    plots = [p for p in (metric_plot(runs, "gen_tps"), metric_plot(runs, "prompt_tps"),
                         metric_plot(runs, "ttft_s"), power_plot(runs), mixed_plot(runs))
             if p is not None]
    plots += sweep_plots(runs)
    notes = []
    if not has_power(runs):
        notes.append("no power figures in these runs: no power plot")
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
        stem = f"timeline-{slug(record['case_id'])}" + (f"-{slug(run)}" if len(runs) > 1 else "")
        fig = timeline_figure(tl, f"Per-token timeline: {record['case_id']} (run {run})")
        what = f"per-token timeline of {record['case_id']}" + (
            " with power" if tl.power_t else "")
        plots.append(Plot(stem, what, fig))
    return plots, notes


def save(plot: Plot, out_dir: Path, fmt: str) -> Path:
    """Written whole under a free name (never over a file or through a link)."""
    import io

    from bench.results.safe_io import write_new

    buf = io.BytesIO()
    plot.figure.savefig(buf, format=fmt, dpi=120)
    path = free_path(out_dir / f"{plot.stem}.{fmt}")
    write_new(path, buf.getvalue())
    return path


def write_plots(runs: list[Run], out_dir: Path, fmt: str = "png",
                cases: list[str] | None = None, warn: Warn | None = None,
                ) -> tuple[list[tuple[Path, str]], list[str]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    plots, notes = build(runs, cases, warn)
    return [(save(p, out_dir, fmt), p.what) for p in plots], notes
