"""Sweep plots' data: tokens/s against threads and against depth (bench.plots.sweep)."""

from __future__ import annotations

from typing import Any

import pytest

from bench.plots.sweep import sweep_series


def _rec(threads: int, depth: int, gen: float, status: str = "ok", model: str = "m",
         labels: list[str] | None = None) -> dict[str, Any]:
    fig = {"median": gen, "min": gen - 1, "max": gen + 1, "n": 3}
    return {"case_id": f"{model}/cpu-t{threads}/d{depth}", "status": status,
            "labels": labels or [], "model": {"name": model},
            "backend": {"type": "llama_cpp", "device": "cpu", "threads": threads},
            "workload": {"kind": "throughput", "prompt_tokens": 64, "gen_tokens": 16,
                         "depth": depth},
            "summary": {"gen_tps": fig, "prompt_tps": {"median": gen * 5, "min": gen * 5 - 1,
                                                       "max": gen * 5 + 1, "n": 3}}}


def test_threads_series_per_model_device_and_depth():
    records = [_rec(1, 0, 10.0), _rec(2, 0, 18.0), _rec(4, 0, 30.0, labels=["busy host"]),
               _rec(1, 256, 9.0), _rec(2, 256, 16.0), _rec(2, 256, 1.0, status="failed"),
               _rec(1, 0, 5.0, model="other")]  # one point only: no series
    series = sweep_series([("run", records)], "threads")
    assert [s.label for s in series] == ["m / cpu / pp64-tg16 d0", "m / cpu / pp64-tg16 d256"]
    first = series[0]
    assert [(p.x, p.value, p.lo, p.hi, p.n) for p in first.points["gen_tps"]] == [
        (1, 10.0, 9.0, 11.0, 3), (2, 18.0, 17.0, 19.0, 3), (4, 30.0, 29.0, 31.0, 3)]
    assert first.marks == {"busy host"}
    # the failed case is left out, never drawn
    assert [p.value for p in series[1].points["gen_tps"]] == [9.0, 16.0]


def test_depth_series_and_no_sweep_no_series():
    records = [_rec(2, 0, 20.0), _rec(2, 512, 15.0), _rec(2, 1024, 12.0)]
    (s,) = sweep_series([("run", records)], "depth")
    assert s.label == "m / cpu / pp64-tg16 t2"
    assert [p.x for p in s.points["prompt_tps"]] == [0, 512, 1024]
    assert s.points["prompt_tps"][0].value == pytest.approx(100.0)
    assert sweep_series([("run", records)], "threads") == []


def test_the_figure_draws_when_matplotlib_is_there(tmp_path):
    pytest.importorskip("matplotlib")
    from bench.plots.sweep import sweep_figure

    series = sweep_series([("run", [_rec(1, 0, 10.0), _rec(2, 0, 18.0)])], "threads")
    fig = sweep_figure(series, "threads", "t")
    ax = fig.axes[0]
    assert list(ax.lines[0].get_xdata()) == [1, 2] and list(ax.lines[0].get_ydata()) == [10, 18]
