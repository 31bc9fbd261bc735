"""pi5-pmic: parsing real-shaped `vcgencmd pmic_read_adc` output, sums, fit, errors."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from bench.errors import MeterUnavailable, SensorGone
from bench.meters.pmic import (
    RAILS,
    LinearFit,
    PmicMeter,
    PmicOptions,
    ext5v_volts,
    parse_pmic,
    rail_sum_watts,
)

# shaped like a Pi 5 at idle (currents first, then volts; right-aligned names)
PMIC_OUTPUT = (Path(__file__).parent / "data" / "pmic_read_adc.txt").read_text()

# the same products written out by hand: V x I per rail
HAND_SUM = (
    3.71777400 * 0.00390372
    + 3.31371900 * 0.05173930
    + 1.80146500 * 0.16590460
    + 1.11111100 * 0.02049453
    + 0.60561660 * 0.00000000
    + 1.10695900 * 0.18153950
    + 0.80476190 * 0.32792560
    + 0.72380000 * 0.71200000
    + 3.30769200 * 0.00048840
    + 3.30769200 * 0.00036630
    + 0.79853480 * 0.00427350
    + 5.15384600 * 0.02051280
)


def fake_run(text: str, calls: list[Sequence[str]] | None = None):
    def run(argv: Sequence[str]) -> str:
        if calls is not None:
            calls.append(list(argv))
        return text

    return run


def test_parse_all_twelve_rails_and_nothing_else() -> None:
    rails = parse_pmic(PMIC_OUTPUT)
    assert sorted(rails) == sorted(RAILS)
    assert "EXT5V" not in rails and "BATT" not in rails
    assert rails["VDD_CORE"] == (0.7238, 0.712)
    assert ext5v_volts(PMIC_OUTPUT) == pytest.approx(5.150183)


def test_rail_sum_matches_hand_computed_figure() -> None:
    assert rail_sum_watts(parse_pmic(PMIC_OUTPUT)) == pytest.approx(HAND_SUM, rel=1e-12)
    assert round(HAND_SUM, 4) == 1.5998  # ~1.6 W: a Pi 5 at idle


def test_raw_reading_and_metadata() -> None:
    calls: list[Sequence[str]] = []
    m = PmicMeter(PmicOptions(command="/opt/vc/bin/vcgencmd pmic_read_adc"),
                  run=fake_run(PMIC_OUTPUT, calls))
    m.check()
    assert m.read_watts() == pytest.approx(HAND_SUM)
    assert calls[0] == ["/opt/vc/bin/vcgencmd", "pmic_read_adc"]
    meta = m.describe()
    assert meta["basis"] == "raw PMIC rail sum" and meta["fit"] is None
    assert meta["includes_npu"] is False and len(meta["rails"]) == 12
    assert "NOT the AI HAT+ 2 NPU" in m.covers


def test_estimated_input_is_beside_the_raw_sum_not_instead() -> None:
    opts = PmicOptions(estimate_input=LinearFit(slope=1.1451, intercept=0.5879))
    m = PmicMeter(opts, run=fake_run(PMIC_OUTPUT))
    assert m.read_watts() == pytest.approx(HAND_SUM)  # the primary figure stays raw
    est = m.estimate()
    assert est is not None and est[0](HAND_SUM) == pytest.approx(1.1451 * HAND_SUM + 0.5879)
    meta = m.describe()
    assert meta["basis"] == "raw PMIC rail sum" and "USB-C input" in meta["estimated_input"]
    assert meta["fit"]["slope"] == 1.1451 and meta["fit"]["intercept"] == 0.5879
    assert (meta["fit"]["author"], meta["fit"]["url"], meta["fit"]["date"]) == (
        "jfikar", "https://github.com/jfikar/RPi5-power", "2024-04-22")
    assert meta["fit"]["limits"] == "USB-C input, one board, no HAT"
    assert "NOT the AI HAT+ 2 NPU" in m.covers
    assert PmicMeter(PmicOptions(), run=fake_run(PMIC_OUTPUT)).estimate() is None


def test_estimated_input_figures_from_the_fitted_samples() -> None:
    from bench.meters.analysis import RepWindow, summarize, summarize_estimate
    from bench.meters.base import PowerSample, Recording

    rec = Recording("pmic", "rails", 10.0, t_start=0.0, t_end=2.0,
                    samples=[PowerSample(i / 10, 2.0) for i in range(21)])
    windows = [RepWindow(t_request=0.5, t_first=1.0, t_end=1.5, prompt_tokens=10,
                         gen_tokens=5)]
    fit = LinearFit()
    est = summarize_estimate(rec, windows, None, lambda w: fit.slope * w + fit.intercept,
                             fit.model_dump())
    raw = summarize(rec, windows)
    assert raw["request"]["mean_w"] == pytest.approx(2.0)
    assert raw["request"]["energy_j"] == pytest.approx(2.0)
    watts_in = 1.1451 * 2.0 + 0.5879
    assert est["request"]["mean_w"] == pytest.approx(watts_in)
    assert est["request"]["energy_j"] == pytest.approx(watts_in * 1.0)
    assert est["j_per_token"] == pytest.approx(watts_in / 5)
    assert est["fit"]["author"] == "jfikar"


def test_config_shape_of_estimate_input() -> None:
    opts = PmicOptions.model_validate(
        {"type": "pi5-pmic", "estimate_input": {"slope": 1.1327, "intercept": 0.6444}}
    )
    assert opts.estimate_input is not None and opts.estimate_input.slope == 1.1327
    assert opts.estimate_input.author is None and opts.estimate_input.date is None
    assert "source was not stated" in (opts.estimate_input.limits or "")
    named = LinearFit.model_validate({"slope": 1.2, "intercept": 0.4, "author": "me"})
    assert named.author == "me" and named.url is None and named.limits is None
    raw = PmicOptions.model_validate({"type": "pi5-pmic", "estimate_input": None})
    assert raw.estimate_input is None


def test_no_vcgencmd_is_one_clear_line() -> None:
    def run(argv: Sequence[str]) -> str:
        raise FileNotFoundError(argv[0])

    with pytest.raises(MeterUnavailable) as exc:
        PmicMeter(PmicOptions(), run=run).check()
    msg = str(exc.value)
    assert "vcgencmd" in msg and "not found" in msg and "\n" not in msg


def test_output_without_rails_is_refused() -> None:
    with pytest.raises(MeterUnavailable, match="no rail readings"):
        text = 'error=1 error_msg="Command not registered"\n'
        PmicMeter(PmicOptions(), run=fake_run(text)).check()


def test_real_command_missing_gives_meter_unavailable() -> None:
    m = PmicMeter(PmicOptions(command="/nonexistent/vcgencmd pmic_read_adc"))
    with pytest.raises(MeterUnavailable, match="not found"):
        m.check()


def test_failed_reading_mid_run_is_sensor_gone() -> None:
    def run(argv: Sequence[str]) -> str:
        raise subprocess.TimeoutExpired(list(argv), 2.0)

    with pytest.raises(SensorGone):
        PmicMeter(PmicOptions(), run=run).read_watts()
    with pytest.raises(SensorGone):
        PmicMeter(PmicOptions(), run=fake_run("")).read_watts()
