"""Plots fit for publishing, on real mock run folders: 1200 px wide, titled by ``--title`` or
the config's description, x labels that do not overlap (their rendered boxes, Agg renderer)
and sit under their bars, runs told apart by what differs in environment.json ``system``
(never by folder names), and the board over the run's time (temperature, ARM clock,
throttle flags, power) drawn from the samples the record keeps, or its absence explained."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from bench.meters import gencmd
from bench.runner.session import start_run
from tests.conftest import SIM_CONFIG
from tests.fakes.pi5 import pi5_firmware, pi5_tree
from tests.fakes.vcio import FakeFirmware

pytest.importorskip("matplotlib")

DESCRIPTION = "Two small LLMs on the simulated Pi 5 CPU and Hailo-10H"
CONFIG = SIM_CONFIG.replace("name: sim\n", f"name: sim\ndescription: {DESCRIPTION}\n")
METERED = CONFIG + "meters:\n  - {type: mock, rate_hz: 10}\n"
HOT_AFTER = 12
"""get_throttled polls after which the fake board runs capped and throttled."""


class HeatingFirmware(FakeFirmware):
    """A Pi 5 (``pi5_firmware``'s answers, the same text shapes) that warms by 0.5 C per
    get_throttled poll (the thermal_zone0 file rewritten) and, after HOT_AFTER polls, runs
    the ARM at 1.5 GHz with bits 1-2 (arm-capped, throttled) set now and since boot."""

    def __init__(self, root: Path) -> None:
        super().__init__(dict(pi5_firmware().answers))
        self.root, self.polls = root, 0

    def _firmware(self, path: str, msg: bytearray, size: int) -> None:
        if b"get_throttled" in bytes(msg[24:40]):
            self.polls += 1
            millidegrees = 50_000 + 500 * self.polls
            (self.root / "sys/class/thermal/thermal_zone0/temp").write_text(f"{millidegrees}\n")
            hot = self.polls > HOT_AFTER
            self.answers["measure_clock arm"] = f"frequency(0)={1500 if hot else 2400}000000"
            self.answers["get_throttled"] = "throttled=0x60006" if hot else "throttled=0x0"
        super()._firmware(path, msg, size)


def _set_system(run: Path, host: str, memory: str) -> None:
    """environment.json as two Pis would write it (host, board and its memory); the reading
    itself is tested in test_system_context on fake Pi file trees."""
    path = run / "environment.json"
    env = json.loads(path.read_text())
    env["host"] = host
    env["system"].update(board_model="Raspberry Pi 5 Model B Rev 1.0", board_revision="d04170",
                         revision={"type": "5", "memory": memory, "processor": "BCM2712",
                                   "manufacturer": "Sony UK", "revision": "1.0"})
    env["system"]["unavailable"].pop("board_model", None)
    path.write_text(json.dumps(env))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """hot: health polls and a power meter; plain: neither; power: a meter, no health."""
    base = tmp_path_factory.mktemp("publish")
    root = pi5_tree(base / "pi5")
    out: dict[str, Path] = {}
    firmware = HeatingFirmware(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gencmd, "OsMailboxIO", lambda: firmware)
        gencmd.take_warnings()
        (base / "hot.yaml").write_text(METERED + f"health: {{sysfs_root: '{root}'}}\n")
        out["hot"] = start_run(base / "hot.yaml", output_dir=base / "a", quiet=True
                               ).run_dir.path
    for name, text in (("plain", CONFIG + "health: {enabled: false}\n"),
                       ("power", METERED + "health: {enabled: false}\n")):
        (base / f"{name}.yaml").write_text(text)
        out[name] = start_run(base / f"{name}.yaml", output_dir=base / name, quiet=True
                              ).run_dir.path
    _set_system(out["hot"], "pi-a", "8GB")
    _set_system(out["plain"], "pi-b", "4GB")
    return out


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _plots(paths: list[Path], title: str | None = None) -> tuple[list[Any], list[str]]:
    from bench.plots.context import context_of
    from bench.plots.write import build
    from bench.report.rows import load_runs, run_names

    loaded = load_runs([str(p) for p in paths])
    ctx = context_of(paths, title)
    names = run_names(paths)  # runs made in the same second share a folder name
    return build([(n, recs) for n, (_, recs) in zip(names, loaded, strict=True)], ctx=ctx)


def test_every_file_is_1200_px_wide_and_the_over_time_plot_is_there(runs, tmp_path, cli):
    code, out, err = cli("plot", runs["hot"], "--out", tmp_path / "p")
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert {"gen_tps.png", "prompt_tps.png", "ttft.png", "power.png", "over-time.png"} <= set(
        names)
    for name in names:
        width, height = _png_size(tmp_path / "p" / name)
        assert width == 1200 and 300 < height < 6000, (name, width, height)
    assert "over-time.png  (temperature, ARM clock, throttle flags, power over the run's " \
           "time)" in out


def test_titles_come_from_the_description_or_title(runs):
    from bench.plots.layout import title_of

    plots, _ = _plots([runs["hot"]])
    assert len(plots) >= 6
    for plot in plots:
        title = title_of(plot.figure)
        assert title.split("\n")[0] == DESCRIPTION, (plot.stem, title)
        assert runs["hot"].name not in title
    plots, _ = _plots([runs["hot"]], title="Pi 5 fleet, November")
    assert all(title_of(p.figure).startswith("Pi 5 fleet, November\n") for p in plots)


def _bars_by_group(ax: Any) -> dict[int, list[float]]:
    """x centres of the bars of each group (tick index), from the drawn rectangles."""
    out: dict[int, list[float]] = {}
    for patch in ax.patches:
        if patch.get_gid():
            x = patch.get_x() + patch.get_width() / 2
            out.setdefault(round(x), []).append(x)
    return out


def _check_ticks(fig: Any) -> int:
    """No two x labels overlap; each is centred on its group and no wider than it."""
    from bench.plots.layout import tick_overlaps

    assert tick_overlaps(fig) == []
    renderer = fig.canvas.get_renderer()
    checked = 0
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        groups = _bars_by_group(ax)
        lo, hi = ax.get_xlim()
        group_px = ax.get_window_extent(renderer).width / (hi - lo)
        for i, label in enumerate(ticks):
            box = label.get_window_extent(renderer)
            x = ax.get_xticks()[i]
            centre = ax.transData.transform((x, 0))[0]
            assert abs((box.x0 + box.x1) / 2 - centre) < 1.5, label.get_text()
            assert box.width <= group_px, (label.get_text(), box.width, group_px)
            for bar_x in groups.get(int(x), []):
                assert abs(bar_x - x) < 0.5  # the group's bars stand over its label
            checked += 1
    return checked


def test_x_labels_do_not_overlap_and_stand_under_their_bars(runs):
    plots, _ = _plots([runs["hot"], runs["plain"]])
    bars = [p for p in plots if p.stem in ("gen_tps", "prompt_tps", "ttft", "power")]
    assert len(bars) == 4
    assert sum(_check_ticks(p.figure) for p in bars) >= 8


def test_long_names_are_wrapped_or_numbered_with_a_key(runs):
    from bench.plots.bars import DENSE
    from bench.plots.write import metric_plot
    from bench.report.rows import load_runs

    ((_, records),) = load_runs([str(runs["plain"])])
    base = [r for r in records if r["workload"]["name"] == "pp100-tg50"]

    def renamed(n: int, name: str) -> list[dict[str, Any]]:
        out = []
        for i in range(n):
            for r in base:
                c = json.loads(json.dumps(r))
                c["model"]["name"] = name.format(i)
                c["case_id"] = f"{c['model']['name']}/{c['backend']['name']}/pp100-tg50"
                out.append(c)
        return out

    # six long names: wrapped on their dashes, under their bars
    fig = metric_plot([("run", renamed(6, "DeepSeek-R1-Distill-Qwen-{}.5B-Instruct-Q4_K_M"))],
                      "gen_tps").figure
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert all("\n" in t for t in labels) and labels[0].replace("\n", "") == (
        "DeepSeek-R1-Distill-Qwen-0.5B-Instruct-Q4_K_M")
    assert _check_ticks(fig) == 6
    # too many to wrap: numbers under the bars, the names in the caption's key
    many = renamed(DENSE // 2 - 2, "Qwen2.5-Coder-{}-1.5B-Instruct-with-a-long-suffix")
    fig = metric_plot([("run", many)], "gen_tps").figure
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels[:3] == ["1", "2", "3"]
    caption = fig.get_supxlabel().replace("\n", " ")
    assert "x labels: 1 = Qwen2.5-Coder-0-1.5B-Instruct-with-a-long-suffix;" in caption
    assert _check_ticks(fig) >= 10


def test_runs_are_titled_by_what_differs_never_by_folder_names(runs):
    from bench.plots.context import context_of
    from bench.plots.layout import title_of
    from bench.report.rows import run_names

    a, b = runs["hot"], runs["plain"]
    ctx = context_of([a, b])
    assert ctx.by == ["host", "board"]
    name_a, name_b = run_names([a, b])  # the folder names, or paths when the second is shared
    assert ctx.labels == {name_a: "pi-a · Pi 5 Rev 1.0 8GB", name_b: "pi-b · Pi 5 Rev 1.0 4GB"}
    plots, notes = _plots([a, b])
    gen = next(p for p in plots if p.stem == "gen_tps").figure
    title = title_of(gen)
    assert title == (f"{DESCRIPTION}\nGeneration speed (tokens/s) per model and backend, by "
                     "host and board (every figure simulated)")
    legend = [t.get_text() for t in gen.legends[0].get_texts()]
    assert "cpu [pi-a · Pi 5 Rev 1.0 8GB]" in legend and "npu [pi-b · Pi 5 Rev 1.0 4GB]" in legend
    for plot in plots:
        assert a.name not in title_of(plot.figure) and b.name not in title_of(plot.figure)
    assert {p.stem for p in plots} >= {"over-time-pi-a_Pi_5_Rev_1.0_8GB"}
    assert any("over the run's time [pi-b · Pi 5 Rev 1.0 4GB]" in n for n in notes)


def test_runs_that_differ_in_nothing_recorded_are_told_apart_by_start_or_order(runs,
                                                                              tmp_path):
    import shutil

    from bench.plots.context import context_of

    one, two = tmp_path / "one", tmp_path / "two"
    shutil.copytree(runs["power"], one)
    shutil.copytree(runs["power"], two)
    ctx = context_of([one, two])
    assert ctx.by == ["run"] and ctx.labels == {"one": "run 1", "two": "run 2"}
    meta = json.loads((two / "run.json").read_text())
    meta["started"] = "2026-11-27T21:00:00+00:00"
    (two / "run.json").write_text(json.dumps(meta))
    ctx = context_of([one, two])
    assert ctx.by == ["start time"] and ctx.labels["two"] == "2026-11-27 21:00:00 UTC"


def test_over_time_draws_the_recorded_samples(runs):
    from bench.plots.overtime import over_time
    from bench.plots.overtime_figure import overtime_figure
    from bench.results.reader import read_cases

    records = list(read_cases(runs["hot"] / "cases.jsonl", keep_raw=True))
    polled = [r for r in records if r["health"]]
    assert polled and all(len(r["health"]["samples"]) >= 2 for r in polled)
    ot = over_time("hot", records)
    fig = overtime_figure(ot, "t")
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.lines if ln.get_gid()}
    temps = [s[1] for r in polled for s in r["health"]["samples"]]
    drawn = [y for y in lines["hot|temp"].get_ydata() if y == y]  # NaN: the breaks
    assert drawn == temps and max(temps) > min(temps)
    arms = [y for y in lines["hot|arm"].get_ydata() if y == y]
    assert 2400.0 in arms and 1500.0 in arms
    assert "hot|throttle|throttled|set" in lines and "hot|throttle|arm-capped|set" in lines
    assert "hot|throttle|under-voltage|set" not in lines
    power = next(g for g in lines if g.startswith("hot|power|"))
    assert power == "hot|power|mock, simulated"
    xs = [float(x) for x, y in zip(lines["hot|temp"].get_xdata(), lines["hot|temp"].get_ydata(),
                                     strict=True) if y == y]
    assert xs == sorted(xs) and xs[0] >= 0
    first = [t for t, *_ in polled[0]["health"]["samples"]]  # its times, moved as one
    assert [x - xs[0] for x in xs[:len(first)]] == pytest.approx([t - first[0] for t in first])
    assert not ot.restarted and ot.missing == []


def test_over_time_absent_or_partial_says_why_in_the_report(runs, tmp_path, cli):
    code, out, _ = cli("report", runs["plain"], "--out", tmp_path / "r", "--plots")
    assert code == 0
    assert not list((tmp_path / "r").glob("over-time*"))
    reason = ("no plot over the run's time: temperature, ARM clock and throttle: no board "
              "health readings in this run")
    assert reason in out
    md = (tmp_path / "r" / "report.md").read_text()
    assert "## Plots" in md and f"- not drawn: {reason}" in md
    assert "power: no power meter in this run" in md
    assert "- `gen_tps.png`: generation speed" in md
    # a meter but no health: power over time, the rest named as missing
    code, out, _ = cli("report", runs["power"], "--out", tmp_path / "q", "--plots",
                       "--title", "Power only")
    assert code == 0 and (tmp_path / "q" / "over-time.png").exists()
    assert ("over the run's time, not drawn: temperature, ARM clock and throttle: no board "
            "health readings") in out
    assert "`over-time.png`: power over the run's time" in (tmp_path / "q" / "report.md"
                                                            ).read_text()


def test_health_samples_are_cut_when_tables_read_and_read_whole_for_plots(runs):
    from bench.results.reader import full_record, read_cases

    (rec, *_) = [r for r in read_cases(runs["hot"] / "cases.jsonl") if r["health"]]
    assert rec["health"]["samples"] is None and rec["health"]["throttle_samples"] is None
    assert rec["health"]["temp_max_c"] is not None
    whole = full_record(rec)
    assert whole is not None and len(whole["health"]["throttle_samples"]) >= 2
