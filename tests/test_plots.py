"""``pibench plot`` on real run folders of the mock device (virtual clock): the files, and the
figures drawn, read back from the matplotlib artists and compared with the records."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from bench.plots import MISSING
from bench.runner.session import start_run
from tests.conftest import ROOT, SIM_CONFIG

pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"

# SIM_CONFIG with a power meter, a backend failing at load for one model, and one whose second
# measured repetition fails for the other model (mock fail.rep counts calls from 1: warm-up 1)
POWER_FAIL = SIM_CONFIG.replace("name: sim", "name: pw").replace(
    "repetitions: 3", "repetitions: 3\nidle_s: 1").replace(
    "  - {name: npu, type: mock, options: {profile: hailo10h, jitter: 0}}",
    "  - {name: npu, type: mock, options: {profile: hailo10h, jitter: 0, fail: {at: token, "
    "token: 5, rep: 3, models: [Llama-3.2-3B-Instruct]}}}\n"
    "  - {name: broken, type: mock, options: {profile: hailo10h, fail: {at: load, "
    "models: [Qwen2-1.5B-Instruct]}}}",
) + "meters:\n  - {type: mock, rate_hz: 20}\n"


@pytest.fixture
def runs(write_config, tmp_path):
    """(run with power and failures, plain run without meters), as (name, records)."""
    a = start_run(write_config(POWER_FAIL, "pw.yaml"), output_dir=tmp_path / "a", quiet=True)
    b = start_run(write_config(SIM_CONFIG, "sim.yaml"), output_dir=tmp_path / "b", quiet=True)
    assert a.exit_code == 1 and b.exit_code == 0
    return [(a.run_dir.path.name, a.run_dir.cases()), (b.run_dir.path.name, b.run_dir.cases())]


def _artists(fig, key):
    """{gid: artist} of a figure's bars, labels, ranges and n/a texts."""
    out = {}
    for ax in fig.axes:
        for a in [*ax.patches, *ax.texts, *ax.collections, *ax.lines]:
            if a.get_gid():
                out[a.get_gid()] = a
    return {g: a for g, a in out.items() if f"|{key}|" in g or g.endswith(f"|{key}")}


def test_plot_command_writes_valid_files_and_never_overwrites(runs, tmp_path, cli):
    run_dir = tmp_path / "a" / runs[0][0]
    out = tmp_path / "plots"
    code, stdout, err = cli("plot", run_dir, "--out", out)
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["gen_tps.png", "over-time.png", "power.png", "prompt_tps.png",
                     "timeline-Qwen2-1.5B-Instruct_cpu_pp100-tg50.png", "ttft.png"]
    for p in out.iterdir():
        assert p.read_bytes()[:8] == PNG and p.stat().st_size > 10_000
    assert "written:" in stdout and "power.png" in stdout
    before = (out / "gen_tps.png").read_bytes()
    code, _, _ = cli("plot", run_dir, "--out", out)
    assert code == 0
    assert (out / "gen_tps-2.png").exists() and (out / "gen_tps.png").read_bytes() == before
    code, _, _ = cli("plot", run_dir, "--out", tmp_path / "svg", "--format", "svg")
    svg = (tmp_path / "svg" / "gen_tps.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg
    assert f'id="{runs[0][0]}|Qwen2-1.5B-Instruct/cpu/pp100-tg50|gen_tps|cpu"' in svg


def _record(runs, run_index, case_id):
    return next(r for r in runs[run_index][1] if r["case_id"] == case_id)


@pytest.mark.parametrize("metric", ["gen_tps", "prompt_tps", "ttft_s"])
def test_bar_heights_and_ranges_are_the_records_summaries(runs, metric):
    from bench.plots.write import metric_plot

    plot = metric_plot(runs, metric)
    drawn = _artists(plot.figure, metric)
    checked = 0
    for run, records in runs:
        for r in records:
            s = r["summary"].get(metric) or {}
            ids = [g for g in drawn if g.startswith(f"{run}|{r['case_id']}|")]
            if not s.get("n"):  # not measured: no bar, an "n/a" or "FAILED" text
                assert ids and all(g.endswith("|no figure") for g in ids), r["case_id"]
                continue
            bar = drawn[next(g for g in ids if g.count("|") == 3)]
            assert bar.get_height() == s["median"] > 0
            seg = drawn[next(g for g in ids if g.endswith("|range"))].get_segments()[0]
            assert [y for _, y in seg] == pytest.approx([s["min"], s["max"]])
            label = drawn[next(g for g in ids if g.endswith("|label"))].get_text()
            assert f"n={s['n']}" in label
            checked += 1
    assert checked >= 8
    assert plot.figure.axes[0].get_ylabel().endswith(("(tokens/s)", "(s)"))


def test_prompt_speed_not_measured_is_na_never_zero(runs):
    from bench.plots.write import metric_plot

    drawn = _artists(metric_plot(runs, "prompt_tps").figure, "prompt_tps")
    run = runs[1][0]
    # the Hailo profile has no prompt figure: text "n/a", no bar
    ids = [g for g in drawn if g.startswith(f"{run}|Qwen2-1.5B-Instruct/npu/pp100-tg50|")]
    assert len(ids) == 1 and ids[0].endswith("|no figure")
    assert drawn[ids[0]].get_text().startswith("n/a")
    heights = [a.get_height() for g, a in drawn.items() if g.count("|") == 3]
    assert heights and 0 not in heights


def test_power_figures_and_missing_power_is_na(runs):
    from bench.plots.write import power_plot

    fig = power_plot(runs).figure
    tpj, watts = _artists(fig, "tokens_per_j"), _artists(fig, "gen_mean_w")
    powered, plain = runs
    r = _record(runs, 0, "Qwen2-1.5B-Instruct/npu/pp100-tg50")
    bar_id = next(g for g in tpj if g.startswith(f"{powered[0]}|{r['case_id']}|")
                  and g.count("|") == 3)
    assert tpj[bar_id].get_height() == r["power"][0]["tokens_per_j"]
    w_id = bar_id.replace("|tokens_per_j|", "|gen_mean_w|")
    assert watts[w_id].get_height() == r["power"][0]["generation"]["mean_w"]
    assert watts[w_id].get_height() == pytest.approx(7.0, rel=0.02)
    # the run without a meter: "n/a" at every place, never a bar
    for rec in plain[1]:
        ids = [g for g in {**tpj, **watts} if g.startswith(f"{plain[0]}|{rec['case_id']}|")]
        assert len(ids) == 2 and all(g.endswith("|no figure") for g in ids)
        assert all({**tpj, **watts}[g].get_text().startswith("n/a") for g in ids)
    # what the meter covers is said
    assert "simulated device" in fig.get_supxlabel().replace("\n", " ")


def test_simulated_and_synthetic_rows_are_marked(runs):
    from bench.plots.write import metric_plot

    synth = copy.deepcopy(_record(runs, 1, "Qwen2-1.5B-Instruct/cpu/pp100-tg50"))
    synth["labels"] = ["synthetic weights: speed only"]
    synth["backend"]["name"] = "cpu-real"
    run = ("synth-run", [synth])
    fig = metric_plot([runs[1], run], "gen_tps").figure
    drawn = _artists(fig, "gen_tps")
    sim_id = f"{runs[1][0]}|Qwen2-1.5B-Instruct/cpu/pp100-tg50|gen_tps|cpu [sim]"
    assert drawn[sim_id].get_hatch() == "//"
    assert "simulated" in drawn[sim_id + "|label"].get_text()
    syn_id = "synth-run|Qwen2-1.5B-Instruct/cpu/pp100-tg50|gen_tps|cpu-real [synth-run]"
    assert drawn[syn_id].get_hatch() == ".."
    assert "synthetic" in drawn[syn_id + "|label"].get_text()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "simulated" in legend and "synthetic weights: speed only" in legend


def test_failed_cases_are_shown(runs):
    from bench.plots.write import metric_plot

    fig = metric_plot(runs[:1], "gen_tps").figure
    drawn = _artists(fig, "gen_tps")
    run = runs[0][0]
    # failed at load: no figure, the word FAILED at its place
    text = drawn[f"{run}|Qwen2-1.5B-Instruct/broken/pp100-tg50|gen_tps|broken|no figure"]
    assert text.get_text().startswith("FAILED")
    # failed in its second repetition: the finished one is drawn, red-edged, tagged FAILED
    rec = _record(runs, 0, "Llama-3.2-3B-Instruct/npu/pp100-tg50")
    assert rec["status"] == "failed" and rec["summary"]["gen_tps"]["n"] == 1
    bar = drawn[f"{run}|Llama-3.2-3B-Instruct/npu/pp100-tg50|gen_tps|npu"]
    assert bar.get_height() == rec["summary"]["gen_tps"]["median"]
    assert bar.get_edgecolor()[:3] == pytest.approx((0.75, 0.0, 0.0), abs=0.01)
    label = drawn[f"{run}|Llama-3.2-3B-Instruct/npu/pp100-tg50|gen_tps|npu|label"].get_text()
    assert "FAILED" in label and "n=1" in label
    caption = fig.get_supxlabel().replace("\n", " ")
    assert "FAILED: " in caption and "simulated failure" in caption


def test_timeline_draws_the_raw_token_times_and_power(runs):
    from bench.plots.data import pick_timelines, timeline
    from bench.plots.timeline import timeline_figure

    picked = pick_timelines(runs[:1], None)
    assert len(picked) == 1 and picked[0][1]["power"]  # the default prefers a metered case
    rec = _record(runs, 0, "Qwen2-1.5B-Instruct/npu/pp100-tg50")
    fig = timeline_figure(timeline(runs[0][0], rec), "t")
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.lines if ln.get_gid()}
    rep0 = rec["reps"][0]
    tokens = lines[f"{rec['case_id']}|rep0"]
    assert list(tokens.get_xdata()) == [0.0, *rep0["token_t"]]
    assert list(tokens.get_ydata()) == list(range(len(rep0["token_t"]) + 1))
    assert f"{rec['case_id']}|rep2" in lines  # the other repetitions, in grey
    power = lines[f"{rec['case_id']}|power"]
    starts = rec["power"][0]["rep_t_request_s"]
    assert len(starts) == len(rec["reps"]) and starts == sorted(starts) and starts[0] >= 0
    # the samples of repetition 0's span, moved onto its request's time
    samples = [(t - starts[0], w) for t, w in rec["power"][0]["samples"]
               if t - starts[0] <= rep0["e2e_s"]]
    first = list(power.get_xdata()).index(samples[0][0])
    assert list(power.get_xdata())[first:first + len(samples)] == [t for t, _ in samples]
    assert list(power.get_ydata())[first:first + len(samples)] == [w for _, w in samples]
    assert fig.axes[1].get_ylabel().startswith("power (W")
    assert fig.axes[0].get_xlabel() == "time since the request (s)"
    marks = next(t for t in fig.axes[0].texts if t.get_gid() == f"{rec['case_id']}|marks")
    assert "simulated" in marks.get_text()


def _mixed_record(base: dict, placement: str, **over) -> dict:
    rec = copy.deepcopy(base)
    rec["case_id"] += f"@{placement}"
    rec["mixed"] = {
        "placement": placement, "simulated": {"vision": True, "llm": False},
        "vision": {"alone": {"fps": {"value": 29.9, "n": 299}},
                   "mixed": {"fps": {"value": 20.0, "n": 200}}},
        "llm": {"alone": {"gen_tps_median": 8.0, "n": 2,
                          "per_run": [{"gen_tps": 7.5}, {"gen_tps": 8.5}]},
                "mixed": {"gen_tps_median": 6.0, "n": 2,
                          "per_run": [{"gen_tps": 5.5}, {"gen_tps": 6.5}]}},
        "failures": [], **over,
    }
    return rec


def test_mixed_alone_vs_mixed(runs):
    from bench.plots.write import mixed_plot

    base = _record(runs, 1, "Qwen2-1.5B-Instruct/cpu/pp100-tg50")
    crash = _mixed_record(base, "vis-crash", failures=[
        {"side": "vision", "phase": "mixed", "kind": "crash", "message": "SIGSEGV"}])
    crash["mixed"]["vision"]["mixed"]["fps"] = {"value": None, "n": 0}
    crash["status"] = "failed"
    fig = mixed_plot([("m", [_mixed_record(base, "vis-ok"), crash])]).figure
    fps, tps = _artists(fig, "vision_fps"), _artists(fig, "llm_gen_tps")
    ok = "m|Qwen2-1.5B-Instruct/cpu/pp100-tg50@vis-ok"
    assert fps[f"{ok}|vision_fps|alone"].get_height() == 29.9
    assert fps[f"{ok}|vision_fps|mixed"].get_height() == 20.0
    assert fps[f"{ok}|vision_fps|alone"].get_hatch() == "//"  # the vision side is simulated
    assert tps[f"{ok}|llm_gen_tps|mixed"].get_height() == 6.0
    assert tps[f"{ok}|llm_gen_tps|mixed"].get_hatch() is None  # the LLM side is not
    seg = tps[f"{ok}|llm_gen_tps|mixed|range"].get_segments()[0]
    assert [y for _, y in seg] == [5.5, 6.5]
    bad = "m|Qwen2-1.5B-Instruct/cpu/pp100-tg50@vis-crash"
    assert fps[f"{bad}|vision_fps|mixed|no figure"].get_text().startswith("FAILED: vision crash")
    assert "FAILED" not in tps[f"{bad}|llm_gen_tps|mixed|label"].get_text()


def test_missing_matplotlib_is_one_line_exit_2(runs, tmp_path, cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    run_dir = tmp_path / "a" / runs[0][0]
    code, out, err = cli("plot", run_dir, "--out", tmp_path / "p")
    assert (code, out, err) == (2, "", MISSING + "\n")
    assert not (tmp_path / "p").exists()
    code, _, err = cli("report", run_dir, "--out", tmp_path / "r", "--plots")
    assert code == 2 and err == MISSING + "\n"
    assert (tmp_path / "r" / "report.md").exists() and not (tmp_path / "r" / "gen_tps.png").exists()


def test_report_plots_beside_the_report(runs, tmp_path, cli):
    code, out, _ = cli("report", tmp_path / "b" / runs[1][0], "--out", tmp_path / "r", "--plots")
    assert code == 0
    names = {p.name for p in (tmp_path / "r").iterdir()}
    assert {"report.md", "gen_tps.png", "ttft.png"} <= names and "power.png" not in names
    assert "no power figures" in out


def test_matplotlib_stays_unimported_by_the_cli_and_the_data():
    code = ("import sys; from bench.cli.main import build_parser; build_parser(); "
            "import bench.plots.data; print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "False"
