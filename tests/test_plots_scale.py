"""Bar figures of large runs: past DENSE bars no text per bar (one bar call per panel), past
MAX_PANELS workloads the rest is named in the caption; every drawn bar is a record's median."""

from __future__ import annotations

import copy

import pytest

from bench.runner.session import start_run
from tests.conftest import SIM_CONFIG

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    base = tmp_path_factory.mktemp("scale")
    (base / "sim.yaml").write_text(SIM_CONFIG)
    run = start_run(base / "sim.yaml", output_dir=base / "runs", quiet=True)
    return [r for r in run.run_dir.cases() if r["workload"]["kind"] == "throughput"
            and r["model"]["name"] == "Qwen2-1.5B-Instruct"]  # one case per backend


def _many(records: list[dict], models: int, workloads: int) -> list[dict]:
    out = []
    for w in range(workloads):
        for m in range(models):
            for r in records:
                c = copy.deepcopy(r)
                c["model"]["name"] = f"model-{m}"
                c["workload"]["name"] = f"wl-{w}"
                c["case_id"] = f"model-{m}/{c['backend']['name']}/wl-{w}"
                out.append(c)
    return out


def _bars(fig):
    return {p.get_gid(): p for ax in fig.axes for p in ax.patches if p.get_gid()}


def test_a_dense_figure_draws_every_median_without_texts(records) -> None:
    from bench.plots.bars import DENSE
    from bench.plots.write import metric_plot

    many = _many(records, models=20, workloads=2)
    assert len(many) > DENSE
    fig = metric_plot([("run", many)], "gen_tps").figure
    drawn = _bars(fig)
    assert len(drawn) == len(many)
    for r in many:
        rect = drawn[f"run|{r['case_id']}|gen_tps|{r['backend']['name']}"]
        assert rect.get_height() == pytest.approx(r["summary"]["gen_tps"]["median"])
    assert not any(t.get_gid() for ax in fig.axes for t in ax.texts)
    assert "Too many bars to label each" in fig.get_supxlabel().replace("\n", " ")


def test_a_figure_of_many_workloads_is_cut_and_says_so(records) -> None:
    from bench.plots.bars import MAX_PANELS
    from bench.plots.write import metric_plot

    fig = metric_plot([("run", _many(records, models=1, workloads=MAX_PANELS + 4))],
                      "gen_tps").figure
    assert len(fig.axes) == MAX_PANELS
    caption = fig.get_supxlabel().replace("\n", " ")
    assert f"Only the first {MAX_PANELS} of {MAX_PANELS + 4} workloads are drawn" in caption
