"""The mixed-mode table: n/a where not measured, simulated rows marked, failures listed."""

from __future__ import annotations

from bench.vision.report import render_mixed_table


def result(placement: str, **over: object) -> dict:
    base: dict = {
        "placement": placement, "vision_device": "npu", "llm_device": "cpu",
        "simulated": {"vision": False, "llm": False},
        "vision": {"alone": {"fps": {"value": 29.94}, "latency_p99": {"value": 35.2}},
                   "mixed": {"fps": {"value": 20.0}, "latency_p99": {"value": 51.0}}},
        "llm": {"alone": {"gen_tps_median": 8.0}, "mixed": {"gen_tps_median": 6.0}},
        "interference": {"vision_fps": {"value": 0.668}, "llm_gen_tps": {"value": 0.75}},
        "power": {"mixed": [{"value": 7.25, "unit": "W", "n": 73, "source": "shelly",
                             "simulated": False}]},
        "failures": [],
    }
    base.update(over)
    return base


def test_a_full_row() -> None:
    table = render_mixed_table([result("vision-npu+llm-cpu")])
    row = table.splitlines()[2]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == ["vision-npu+llm-cpu", "npu", "cpu", "29.9", "20.0", "0.67", "35.2 / 51.0",
                     "8.0", "6.0", "0.75", "7.2 W, n=73 (shelly)", "none"]
    assert "simulated" not in table


def test_missing_figures_are_na_and_simulated_rows_marked() -> None:
    r = result("vision-cpu+llm-npu", simulated={"vision": True, "llm": True},
               llm={"alone": {"gen_tps_median": None}, "mixed": {}},
               interference={}, power={},
               failures=[{"side": "vision", "phase": "mixed", "kind": "crash",
                          "t_in_phase_s": 3.21, "message": "vision process killed by signal "
                          "SIGSEGV | long " + "x" * 100}])
    table = render_mixed_table([r])
    row = table.splitlines()[2]
    assert "(simulated: vision, llm)" in row
    assert row.count("n/a") == 5  # tok/s alone and mixed, both ratios, W
    assert "vision crash (mixed at 3.2 s): vision process killed by signal SIGSEGV / long" in row
    assert "..." in row  # long messages are cut
    assert "Rows marked simulated" in table


def test_one_row_per_placement_in_order() -> None:
    table = render_mixed_table([result(n) for n in ("a", "b", "c", "d")])
    rows = [line for line in table.splitlines() if line.startswith("| ") and "placement" not in
            line]
    assert [r.split("|")[1].strip() for r in rows] == ["a", "b", "c", "d"]
