"""The per-token timeline of one case: tokens generated against time since the request, from
the raw token times of the record, with the power samples on a second axis when the case has
them. The flat start is the time to first token, the slope the decode speed; a throttled
board shows as a bend in the slope (and a drop of the power)."""

from __future__ import annotations

import math
import textwrap

from bench.plots import require_matplotlib
from bench.plots.bars import FAILED_COLOR, PALETTE, tags
from bench.plots.data import Timeline
from bench.plots.layout import CAPTION_PT, DPI, LABEL_PT, TITLE_PT, WIDTH_IN

require_matplotlib()

from matplotlib.figure import Figure  # noqa: E402

POWER_COLOR = "#dd8452"


def timeline_figure(tl: Timeline, title: str) -> Figure:
    fig = Figure(figsize=(WIDTH_IN, 5.8 + 0.25 * title.count("\n")), dpi=DPI,
                 layout="constrained")
    ax = fig.subplots()
    for i, (t, n) in enumerate(tl.others):  # from (0 s, 0 tokens): the wait is the TTFT
        ax.plot([0.0, *t], [0, *n], color="0.75", linewidth=1, drawstyle="steps-post",
                label="other repetitions (each from its own request)" if i == 0 else None,
                gid=f"{tl.case_id}|rep{i + 1 + tl.rep}")
    rate = f", {tl.gen_tps:.3g} tokens/s after the first" if tl.gen_tps is not None else ""
    ax.plot([0.0, *tl.token_t], [0, *tl.tokens], color=PALETTE[0], linewidth=1.6, marker="o",
            markersize=2, drawstyle="steps-post", label=f"repetition {tl.rep}{rate}",
            gid=f"{tl.case_id}|rep{tl.rep}")
    if tl.ttft_s is not None:
        ax.axvline(tl.ttft_s, color="black", linestyle="--", linewidth=0.8)
        ax.annotate(f"TTFT {tl.ttft_s:.3g} s", (tl.ttft_s, 0.5), xytext=(-4, 0),
                    xycoords=("data", "axes fraction"), textcoords="offset points",
                    ha="right", fontsize=8)
    ax.set_xlabel("time since the request (s)", fontsize=LABEL_PT)
    ax.set_ylabel("tokens generated (cumulative)", fontsize=LABEL_PT)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    notes = [f"Token times: raw event times of repetition {tl.rep} of {tl.reps} measured "
             "(warm-up excluded), from the record."]
    if tl.others:
        notes.append("Grey: the other repetitions, each on the time since its own request.")
    if tl.power_t:
        pax = ax.twinx()
        w = [math.nan if x is None else x for x in tl.power_w]  # a failed reading: a gap
        line = pax.plot(tl.power_t, w, color=POWER_COLOR, linewidth=1.2,
                        label=f"power ({tl.power_label})", gid=f"{tl.case_id}|power")[0]
        handles.append(line)
        labels.append(str(line.get_label()))
        if tl.idle_w is not None:
            idle = pax.axhline(tl.idle_w, color=POWER_COLOR, linestyle=":", linewidth=1,
                               label=f"idle {tl.idle_w:.2f} W (before the case)")
            handles.append(idle)
            labels.append(str(idle.get_label()))
        pax.set_ylabel(f"power (W, {tl.power_label})", color=POWER_COLOR)
        pax.set_ylim(bottom=0, top=max([x for x in tl.power_w if x is not None]
                                       + [tl.idle_w or 0.0, 0.1]) * 1.25)
        if tl.aligned:
            notes.append(f"Power: samples of the first meter ({tl.power_label}) during "
                         f"repetition {tl.rep}, on the same clock as its tokens.")
        else:
            notes.append(f"Power: samples of the first meter ({tl.power_label}) during "
                         f"repetition {tl.rep}; their clock starts when the metered window "
                         "opens, just before this request (the record has no request time "
                         "on the power clock: written before rep_t_request_s existed).")
    else:
        notes.append("No power samples in this case.")
    ax.legend(handles, labels, loc="upper left", fontsize=8.5)
    marks = tags(tl.marks)
    if marks:
        ax.text(0.99, 0.02, " · ".join(marks), transform=ax.transAxes, ha="right",
                va="bottom", fontsize=10, fontweight="bold",
                color=FAILED_COLOR if any(m.startswith("FAILED") for m in marks) else "black",
                gid=f"{tl.case_id}|marks")
    if tl.error:
        notes.append(f"FAILED: {tl.error[:160]}")
    fig.suptitle(title, fontsize=TITLE_PT)
    fig.supxlabel(textwrap.fill(" ".join(notes), 150), fontsize=CAPTION_PT, x=0.01, ha="left",
                  multialignment="left")
    return fig
