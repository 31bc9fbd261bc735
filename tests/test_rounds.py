"""Rounds, interleaved order, per-repetition thermal conditioning and drift (issue 16).

The drift tests run the simulated heating board (bench/simthermal.py, mock profile pi5-hot)
on the virtual clock: a run that takes minutes of simulated time is instant and exact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.config.loader import ConfigErrors, load_config
from bench.config.overrides import Overrides
from bench.plots.data import marks
from bench.report.compare import compare, differs_cell, verdict
from bench.report.markdown import bench_table, comparison_table
from bench.report.markdown import legend as bench_legend
from bench.report.thermal import compared_summary
from bench.results.drift import label as drift_label
from bench.results.drift import mann_kendall, trend
from bench.runner.plan import build_plan, reps_per_round, schedule
from bench.runner.record import not_cooled_label
from bench.runner.session import resume_run, start_run
from tests.test_interrupt_keeps_reps import CtrlCAt

TWO_BOARDS = """
name: hot
clock: virtual
repetitions: {reps}
warmup: 0
{extra}
models: [{{name: Llama-3.2-1B-Instruct}}]
backends:
  - {{name: board-a, type: mock, options: {{profile: pi5-hot}}}}
  - {{name: board-b, type: mock, options: {{profile: pi5-hot}}}}
workloads:
  - {{name: tg64, kind: throughput, prompt_tokens: 16, gen_tokens: 64}}
"""


def _run(tmp_path: Path, write_config: Any, extra: str, reps: int = 9,
         name: str = "cfg.yaml") -> dict[str, dict[str, Any]]:
    cfg = write_config(TWO_BOARDS.format(reps=reps, extra=extra), name)
    res = start_run(cfg, output_dir=tmp_path / f"out-{name}", quiet=True)
    assert res.exit_code == 0
    return {r["backend"]["name"]: r for r in res.run_dir.cases()}


# -- the schedule -------------------------------------------------------------------------


def test_repetitions_are_spread_over_the_rounds() -> None:
    assert reps_per_round(9, 3) == [3, 3, 3]
    assert reps_per_round(5, 3) == [2, 2, 1]
    assert sum(reps_per_round(7, 4)) == 7


def test_interleave_puts_a_models_backends_together_and_turns_who_goes_first(
        write_config: Any) -> None:
    cfg = load_config(write_config(TWO_BOARDS.format(
        reps=4, extra="rounds: 2\norder: interleave-devices").replace(
        "workloads:\n", "workloads:\n  - {name: tg8, kind: throughput, prompt_tokens: 4, "
                        "gen_tokens: 8}\n")))
    cases, _ = build_plan(cfg)
    visits = schedule(cases, 2, "interleave-devices", None, 4)
    got = [(v.round, v.case.backend.name[-1], v.case.workload.name, v.first_rep,
            v.opens_round) for v in visits]
    assert all(v.n_reps == 1 for v in visits)  # the devices take turns rep by rep
    assert got == [(1, "a", "tg8", 0, True), (1, "b", "tg8", 0, True),
                   (1, "a", "tg8", 1, False), (1, "b", "tg8", 1, False),
                   (1, "a", "tg64", 0, True), (1, "b", "tg64", 0, True),
                   (1, "a", "tg64", 1, False), (1, "b", "tg64", 1, False),
                   (2, "b", "tg8", 2, True), (2, "a", "tg8", 2, True),
                   (2, "b", "tg8", 3, False), (2, "a", "tg8", 3, False),
                   (2, "b", "tg64", 2, True), (2, "a", "tg64", 2, True),
                   (2, "b", "tg64", 3, False), (2, "a", "tg64", 3, False)]


def test_shuffle_is_the_same_for_the_same_seed_and_differs_between_rounds(
        write_config: Any) -> None:
    text = TWO_BOARDS.format(reps=8, extra="rounds: 8")
    text = text.replace("workloads:\n", "workloads:\n" + "".join(
        f"  - {{name: w{i}, kind: throughput, prompt_tokens: 4, gen_tokens: 8}}\n"
        for i in range(4)))
    cases, _ = build_plan(load_config(write_config(text)))
    one = [v.case.case_id for v in schedule(cases, 8, "shuffle", 42, 8)]
    assert one == [v.case.case_id for v in schedule(cases, 8, "shuffle", 42, 8)]
    per_round = [one[i:i + len(cases)] for i in range(0, len(one), len(cases))]
    assert len({tuple(r) for r in per_round}) > 1
    assert all(sorted(r) == sorted(c.case_id for c in cases) for r in per_round)


# -- config and command line --------------------------------------------------------------


def test_more_rounds_than_repetitions_names_the_line_of_rounds(write_config: Any) -> None:
    path = write_config(TWO_BOARDS.format(reps=2, extra="rounds: 3"))
    with pytest.raises(ConfigErrors) as err:
        load_config(path)
    line = path.read_text().splitlines().index("rounds: 3") + 1
    assert str(err.value).startswith(f"{path}:{line}: rounds: 3 rounds need at least as many "
                                     "repetitions (repetitions is 2)")


def test_order_seed_without_shuffle_and_an_unknown_order_are_refused(write_config: Any) -> None:
    with pytest.raises(ConfigErrors, match="order_seed: order_seed is for order: shuffle"):
        load_config(write_config(TWO_BOARDS.format(reps=3, extra="order_seed: 4")))
    with pytest.raises(ConfigErrors, match="order: expected 'blocks', 'shuffle' or "
                                           "'interleave-devices', got \"zigzag\""):
        load_config(write_config(TWO_BOARDS.format(reps=3, extra="order: zigzag")))


def test_rounds_and_order_from_the_command_line(write_config: Any, cli: Any) -> None:
    path = write_config(TWO_BOARDS.format(reps=2, extra=""))
    cfg = load_config(path, overrides=Overrides(rounds=2, order="interleave-devices"))
    assert (cfg.run.rounds, cfg.run.order) == (2, "interleave-devices")
    with pytest.raises(ConfigErrors, match=r"^--rounds 3 \(command line\): rounds: 3 rounds"):
        load_config(path, overrides=Overrides(rounds=3))
    code, _out, err = cli("run", str(path), "--rounds", "0")
    assert code == 2 and "--rounds 0: must be at least 1" in err


def test_a_config_without_rounds_keeps_its_fingerprint(write_config: Any) -> None:
    plain = load_config(write_config(TWO_BOARDS.format(reps=3, extra=""), "a.yaml"))
    spelled = load_config(write_config(TWO_BOARDS.format(
        reps=3, extra="rounds: 1\norder: blocks\nreload_per_round: false"), "b.yaml"))
    assert plain.fingerprint() == spelled.fingerprint()
    assert "rounds" not in plain.to_dict()


# -- drift --------------------------------------------------------------------------------


def test_mann_kendall_sees_a_trend_and_not_noise() -> None:
    s, z, p = mann_kendall([10.0, 9.8, 9.9, 9.5, 9.4, 9.0, 8.8])
    assert s < 0 and z < 0 and p < 0.01
    assert mann_kendall([5.0] * 6) == (0, 0.0, 1.0)
    flat = trend([10.0, 10.2, 9.9, 10.1, 9.8, 10.2, 9.9])
    assert flat is not None and not flat["drifting"]
    assert trend([1.0, 2.0, 3.0, 4.0]) is None  # n = 4 cannot reach p < 0.05
    down = trend([10.0, 9.0, 8.0, 7.0, 6.0])
    assert down is not None and down["drifting"] and down["change_pct"] == -50.0
    assert drift_label({"gen_tps": down}) == "drifting: tg -50.0 % over 5 reps (p=0.027)"


# -- the simulated heating board: blocks lie, rounds with interleaving do not --------------


def test_blocks_show_a_false_device_difference_that_interleaved_rounds_remove(
        tmp_path: Path, write_config: Any) -> None:
    blocks = _run(tmp_path, write_config, "", name="blocks.yaml")
    a, b = blocks["board-a"], blocks["board-b"]
    # the same simulated device twice: board-b, run second, meets a hotter board
    ratio, v = verdict(a["summary"]["gen_tps"], b["summary"]["gen_tps"], True)
    assert v == "WORSE" and ratio is not None and ratio < 0.85
    assert a["thermal"]["temp_c_mean"] + 10 < b["thermal"]["temp_c_mean"]
    assert any(lab.startswith("drifting: tg -") for lab in a["labels"])  # heats during A
    assert any(m.startswith("drifting: tg -") for m in marks(a))  # what the plots draw
    assert "drifting: tg -" in bench_table([a, b])
    table = comparison_table([a, b])
    assert "SoC C, ARM MHz" in table and " C, " in table and "(sim)" in table

    rounds = _run(tmp_path, write_config, "rounds: 3\norder: interleave-devices",
                  name="rounds.yaml")
    a, b = rounds["board-a"], rounds["board-b"]
    for r in (a, b):
        assert r["status"] == "ok" and len(r["reps"]) == 9
        assert [x["round"] for x in r["reps"]] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
        assert [x["n_reps"] for x in r["rounds"]] == [3, 3, 3]
        assert "simulated" in r["labels"]
        label = next(lab for lab in r["labels"] if lab.startswith("drifting"))
        assert str(r["drift"]["gen_tps"]["change_pct"])[:3] in label.replace("+", "")
    ra, rb = compared_summary(a, "gen_tps"), compared_summary(b, "gen_tps")
    assert ra is not None and rb is not None and ra["n"] == 3
    ratio, v = verdict(ra, rb, True)
    assert v == "~" and ratio is not None and abs(ratio - 1) < 0.05
    assert abs(a["thermal"]["temp_c_mean"] - b["thermal"]["temp_c_mean"]) < 5


def test_cooling_before_every_repetition_removes_the_drift(tmp_path: Path,
                                                           write_config: Any) -> None:
    got = _run(tmp_path, write_config, "health: {cool_below_c: 50, cool_timeout_s: 600}")
    a, b = got["board-a"], got["board-b"]
    for r in (a, b):
        assert not any(lab.startswith("drifting") for lab in r["labels"])
        assert r["drift"]["gen_tps"]["drifting"] is False
        for rep in r["reps"]:
            th = rep["thermal"]
            assert th["cooled"]["reached"] is True and th["cooled"]["target_c"] == 50
            assert th["temp_start_c"] < 50 and th["arm_mhz_start"] == 2400.0
            assert th["temp_end_c"] > th["temp_start_c"]  # it heats while generating
        assert r["thermal"]["cool_wait_s"] > 0
    assert sum(rep["thermal"]["cooled"]["waited_s"] for rep in b["reps"]) > 0
    _ratio, v = verdict(a["summary"]["gen_tps"], b["summary"]["gen_tps"], True)
    assert v == "~"


# -- resume per round ---------------------------------------------------------------------


def _lines(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run_dir / "cases.jsonl").read_text().splitlines()]


def test_kill_in_round_2_and_resume_loses_nothing_and_duplicates_nothing(
        tmp_path: Path, write_config: Any) -> None:
    cfg = write_config(TWO_BOARDS.format(reps=6, extra="rounds: 3\norder: shuffle"))
    stop = CtrlCAt("Llama-3.2-1B-Instruct/board-b/tg64", "rep 2/2 (round 2)")
    res = start_run(cfg, output_dir=tmp_path / "out", progress=stop)
    assert res.exit_code == 130
    run_dir = res.run_dir.path
    seed = json.loads((run_dir / "run.json").read_text())["schedule"]["seed"]
    assert isinstance(seed, int)
    before = _lines(run_dir)
    partial_b = [r for r in before if r["backend"]["name"] == "board-b"][-1]
    assert partial_b["status"] == "interrupted"
    assert [x["round"] for x in partial_b["reps"]] == [1, 1, 2]  # round 2 stopped after 1

    assert res.outcome.partial == 1  # shuffle: board-b is stopped, board-a has a whole round

    again = resume_run(run_dir, quiet=True)
    assert again.exit_code == 0
    final = {r["backend"]["name"]: r for r in again.run_dir.cases()}
    for name, r in final.items():
        assert r["status"] == "ok", name
        assert [x["rep"] for x in r["reps"]] == list(range(6))
        assert [x["round"] for x in r["reps"]] == [1, 1, 2, 2, 3, 3]
        assert [(x["round"], x["complete"]) for x in r["rounds"]] == [
            (1, True), (2, True), (3, True)]
    # the finished round 1 of board-b was kept, not measured again
    kept = [x["token_t"] for x in partial_b["reps"] if x["round"] == 1]
    assert [x["token_t"] for x in final["board-b"]["reps"][:2]] == kept
    assert len([r for r in _lines(run_dir) if r["status"] == "ok"]) == 2


# -- compare ------------------------------------------------------------------------------


def test_compare_uses_round_means_and_says_when_the_heat_differs(
        tmp_path: Path, write_config: Any) -> None:
    hot = _run(tmp_path, write_config, "rounds: 3\norder: interleave-devices", name="h.yaml")
    cool = _run(tmp_path, write_config, "rounds: 3\norder: interleave-devices\n"
                "health: {cool_below_c: 45, cool_timeout_s: 900}", name="c.yaml")
    [res] = compare([hot["board-a"]], [cool["board-a"]])
    cell = differs_cell(res)
    assert "thermal state differs: A " in cell and "(sim)" in cell
    assert "per round tg: A " in cell and ", B " in cell and "spread" in cell
    # judged on the round means: three values a side; the hot run's fall from round to round
    # (about 30 %) is noise for that comparison, so the 15 % gain is not a verdict
    assert compared_summary(hot["board-a"], "gen_tps")["source"] == "per-round means (3 rounds)"
    assert float(res.cells[0]) > 1.1 and res.cells[1] == "~"


def test_reload_per_round_loads_every_round_and_blocks_load_once(tmp_path: Path,
                                                                 write_config: Any) -> None:
    again = _run(tmp_path, write_config, "rounds: 3\nreload_per_round: true", reps=3,
                 name="reload.yaml")
    once = _run(tmp_path, write_config, "rounds: 3", reps=3, name="once.yaml")
    for r in again.values():
        assert [x["load_s"] for x in r["rounds"]] == [1.0, 1.0, 1.0]  # the profile's load_s
    for r in once.values():
        assert [x["load_s"] for x in r["rounds"]] == [1.0, None, None]


class _Reader:
    """Readings as bench.meters.board.BoardReader gives them."""

    def __init__(self, bits: int | None, real: float | None, asked: float | None) -> None:
        self.bits, self.real, self.asked = bits, real, asked

    def temp_c(self) -> float | None:
        return 50.0

    def arm_mhz(self) -> float | None:
        return self.real

    def arm_requested_mhz(self) -> float | None:
        return self.asked

    def throttled(self) -> int | None:
        return self.bits


def test_a_real_boards_clock_is_at_its_maximum_when_the_firmware_caps_nothing() -> None:
    from bench.runner.thermal import BoardProbe

    assert BoardProbe(_Reader(0x50000, 1500.0, 2400.0)).at_max() is True  # sticky bits only
    assert BoardProbe(_Reader(0x2, 1500.0, 1500.0)).at_max() is False  # arm-capped now
    assert BoardProbe(_Reader(0x8, 2400.0, 2400.0)).at_max() is False  # soft limit now
    assert BoardProbe(_Reader(None, 1500.0, 2400.0)).at_max() is False  # runs below the ask
    assert BoardProbe(_Reader(None, 2399.0, 2400.0)).at_max() is True
    assert BoardProbe(_Reader(None, None, 2400.0)).at_max() is None


def test_the_wait_is_bounded_and_says_it_did_not_get_there() -> None:
    from bench.clock import VirtualClock
    from bench.runner.thermal import BoardProbe, wait_ready

    clock = VirtualClock()
    got = wait_ready(BoardProbe(_Reader(0x2, 1500.0, 1500.0)), clock, 60.0, 30.0, poll_s=1.0)
    assert got == {"target_c": 60.0, "reached": False, "waited_s": 30.0, "temp_c": 50.0,
                   "clock_at_max": False}


class CtrlCAtNth(CtrlCAt):
    """Ctrl-C at the ``nth`` time the runner starts that repetition label of that case."""

    def __init__(self, case_id: str, label: str, nth: int) -> None:
        super().__init__(case_id, label)
        self.left = nth

    def rep(self, label: str) -> None:
        if self.current == self.at and label == self.label:
            self.left -= 1
            if self.left == 0:
                raise KeyboardInterrupt


def test_ctrl_c_in_an_interleaved_round_keeps_the_other_devices_reps(
        tmp_path: Path, write_config: Any) -> None:
    cfg = write_config(TWO_BOARDS.format(reps=6, extra="rounds: 2\norder: interleave-devices"))
    # round 2 opens with board-b; stop board-a's second rep of it: board-b has two
    # repetitions of round 2 in memory that are not a whole round yet
    stop = CtrlCAtNth("Llama-3.2-1B-Instruct/board-a/tg64", "rep 1/1 (round 2)", 2)
    res = start_run(cfg, output_dir=tmp_path / "out", progress=stop)
    assert res.exit_code == 130
    last = {}
    for r in _lines(res.run_dir.path):
        last[r["backend"]["name"]] = r
    a, b = last["board-a"], last["board-b"]
    assert [x["round"] for x in a["reps"]] == [1, 1, 1, 2]
    assert [x["round"] for x in b["reps"]] == [1, 1, 1, 2, 2]
    assert b["status"] == "interrupted" and "interrupted: 5 of 6 reps" in b["labels"]
    assert [(x["round"], x["complete"]) for x in b["rounds"]] == [(1, True), (2, False)]
    again = resume_run(res.run_dir.path, quiet=True)
    assert again.exit_code == 0
    for r in again.run_dir.cases():
        assert [x["round"] for x in r["reps"]] == [1, 1, 1, 2, 2, 2]
        assert [x["rep"] for x in r["reps"]] == list(range(6))


def test_power_and_health_of_the_rounds_are_pooled_into_the_case(tmp_path: Path,
                                                                 write_config: Any) -> None:
    got = _run(tmp_path, write_config, "rounds: 3\nidle_s: 1\nmeters: [{type: mock, "
               "rate_hz: 5}]", reps=3, name="power.yaml")
    for r in got.values():
        [case] = r["power"]
        per_round = [x["power"][0] for x in r["rounds"]]
        assert case["rounds_merged"] == 3 and case["samples"] == []
        assert all(p["samples"] for p in per_round)  # the raw samples are in the rounds
        assert case["generation"]["n_windows"] == 3 == sum(
            p["generation"]["n_windows"] for p in per_round)
        assert case["generation"]["peak_w"] == max(p["generation"]["peak_w"] for p in per_round)
        assert case["gen_tokens"] == sum(p["gen_tokens"] for p in per_round) == 3 * 64
        means = [p["generation"]["mean_w"] for p in per_round]
        assert min(means) <= case["generation"]["mean_w"] <= max(means)


def test_health_of_two_visits_pooled() -> None:
    from bench.runner.pooled import merge_health

    one = {"n_polls": 1, "temp_start_c": 40.0, "temp_max_c": 50.0, "arm_mhz_min": 2400.0,
           "arm_mhz_mean": 2400.0, "flags": [], "throttled": False,
           "throttle_history": "clean", "throttle_note": None, "throttled_after": "0x0"}
    three = {**one, "n_polls": 3, "temp_start_c": 60.0, "temp_max_c": 70.0,
             "arm_mhz_min": 1800.0, "arm_mhz_mean": 2000.0, "flags": ["arm-capped"],
             "throttled": True, "throttle_history": "throttled", "throttled_after": "0x20002"}
    got = merge_health([one, three])
    assert got is not None
    assert (got["n_polls"], got["temp_start_c"], got["temp_max_c"], got["arm_mhz_min"]) == (
        4, 40.0, 70.0, 1800.0)
    assert got["arm_mhz_mean"] == 2100.0  # (2400 x 1 + 2000 x 3) / 4
    assert got["throttled"] is True and got["flags"] == ["arm-capped"]
    assert got["throttle_history"] == "throttled" and got["throttled_after"] == "0x20002"
    assert merge_health([None, one]) == one


def test_a_model_that_does_not_load_fails_its_cases_once_each(tmp_path: Path,
                                                              write_config: Any) -> None:
    text = TWO_BOARDS.format(reps=3, extra="rounds: 3\norder: interleave-devices").replace(
        "{profile: pi5-hot}}\n  - {name: board-b",
        "{profile: pi5-hot, fail: {at: load}}}\n  - {name: board-b")
    assert "fail: {at: load}" in text
    res = start_run(write_config(text), output_dir=tmp_path / "out", quiet=True)
    assert res.exit_code == 1 and res.outcome.failed == 1 and res.outcome.ok == 1
    lines = _lines(res.run_dir.path)
    failed = [r for r in lines if r["backend"]["name"] == "board-a"]
    assert len(failed) == 1 and failed[0]["status"] == "failed"
    assert failed[0]["error"]["phase"] == "load" and failed[0]["labels"] == ["simulated"]
    ok = [r for r in lines if r["status"] == "ok"]
    assert [x["round"] for x in ok[0]["reps"]] == [1, 2, 3]


def test_a_wait_that_runs_out_is_recorded_and_labelled(tmp_path: Path,
                                                      write_config: Any) -> None:
    # below the simulated board's ambient temperature: never reached, each wait bounded
    got = _run(tmp_path, write_config, "health: {cool_below_c: 5, cool_timeout_s: 2}", reps=5)
    for r in got.values():
        cooled = [rep["thermal"]["cooled"] for rep in r["reps"]]
        assert [c["reached"] for c in cooled] == [False] * 5
        assert all(2 <= c["waited_s"] < 4 for c in cooled), cooled
        assert "not cooled in 5/5 reps" in r["labels"], r["labels"]
    assert not_cooled_label([{"rep": 0}]) is None  # no reading: nothing to say
    assert "not cooled in K/N reps: the wait" in bench_legend(list(got.values()))
