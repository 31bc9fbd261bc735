"""Integration of power samples against hand-computed figures; the null rules."""

from __future__ import annotations

import pytest

from bench.meters.analysis import Curve, RepWindow, summarize
from bench.meters.base import PowerSample, Recording

S = PowerSample


def rec(samples: list[tuple[float, float | None]], rate_hz: float, t0: float, t1: float,
        ) -> Recording:
    r = Recording("test", "test rig", rate_hz, samples=[S(t, w) for t, w in samples])
    r.t_start, r.t_end = t0, t1
    r.meta = {"kind": "hwmon"}
    return r


def test_trapezoid_with_interpolated_edges() -> None:
    # w(t) = 1 + t sampled at 1 Hz; over [0.5, 3.5]: [t + t^2/2] = 9.625 - 0.625 = 9.0 J
    c = Curve([S(t, 1.0 + t) for t in range(5)], rate_hz=1.0)
    f = c.window(0.5, 3.5)
    assert f.energy_j == pytest.approx(9.0)
    assert f.mean_w == pytest.approx(3.0)
    assert f.peak_w == 4.0 and f.n_samples == 3 and f.reason is None


def test_not_mean_times_duration() -> None:
    # uneven samples: 1 W at 0, 0.1, 0.2 s; 5 W at 1.0 s. Trapezoid over [0, 1]:
    # 0.1*1 + 0.1*1 + 0.8*(1+5)/2 = 2.6 J; the naive mean of samples x 1 s would be 2.0 J
    c = Curve([S(0.0, 1.0), S(0.1, 1.0), S(0.2, 1.0), S(1.0, 5.0)], rate_hz=1.0)
    assert c.window(0.0, 1.0).energy_j == pytest.approx(2.6)


def test_too_few_samples_gives_null() -> None:
    c = Curve([S(0.0, 2.0), S(1.0, 2.0), S(2.0, 2.0)], rate_hz=1.0)
    none_inside = c.window(0.2, 0.8)
    assert none_inside.energy_j is None and none_inside.mean_w is None
    assert none_inside.peak_w is None and none_inside.n_samples == 0
    assert none_inside.reason == "too few samples (0 < 2)"
    one_inside = c.window(0.5, 1.5)
    assert one_inside.energy_j is None and one_inside.n_samples == 1
    assert c.window(0.5, 2.0).energy_j == pytest.approx(3.0)  # two inside: a figure


def test_edges_held_one_period_at_most() -> None:
    c = Curve([S(1.0, 3.0), S(2.0, 3.0), S(3.0, 3.0)], rate_hz=2.0)  # period 0.5 s
    assert c.window(0.6, 3.0).energy_j == pytest.approx(3.0 * 2.4)  # 0.4 s held
    outside = c.window(0.0, 3.0)  # 1 s before the first sample: not covered
    assert outside.energy_j is None and outside.reason == "window outside the recording"


def test_short_gap_bridged_but_counted() -> None:
    samples = [S(0.0, 2.0), S(1.0, 2.0), S(2.0, None), S(3.0, 4.0), S(4.0, 4.0)]
    c = Curve(samples, rate_hz=1.0)
    assert c.n_gaps == 1 and c.gap_s == pytest.approx(2.0)  # from 1.0 to 3.0
    # line from (1, 2) to (3, 4) across the gap: 2 + 3 + 4 = 9... integrate [0, 4]:
    # [0,1]: 2; [1,3]: 2*(2+4)/2 = 6; [3,4]: 4 -> 12 J
    assert c.window(0.0, 4.0).energy_j == pytest.approx(12.0)


def test_long_gap_gives_null_energy() -> None:
    samples = [S(0.0, 2.0), S(0.1, 2.0), S(0.2, None), S(0.3, None), S(0.4, None),
               S(0.5, None), S(0.6, 2.0), S(0.7, 2.0)]
    c = Curve(samples, rate_hz=10.0)  # gap 0.1 -> 0.6 = 5 periods > 3
    assert c.n_gaps == 1 and c.gap_s == pytest.approx(0.5)
    f = c.window(0.0, 0.7)
    assert f.energy_j is None and f.reason is not None and "gap" in f.reason
    assert f.peak_w == 2.0
    assert c.window(0.6, 0.7).energy_j == pytest.approx(0.2)  # after the gap: fine


def test_stale_samples_without_failure_are_a_gap() -> None:
    c = Curve([S(0.0, 1.0), S(0.1, 1.0), S(1.0, 1.0), S(1.1, 1.0)], rate_hz=10.0)
    assert c.n_gaps == 1 and c.gap_s == pytest.approx(0.9)
    assert c.window(0.0, 1.1).energy_j is None


def test_trailing_failures_count_as_gap() -> None:
    c = Curve([S(0.0, 1.0), S(0.1, 1.0), S(0.2, None), S(0.3, None)], rate_hz=10.0,
              t_start=0.0, t_end=0.35)
    assert c.n_gaps == 1 and c.gap_s == pytest.approx(0.25)


def test_case_summary_hand_computed() -> None:
    # 10 Hz, 5 W constant from t=0 to 5 s; idle 2 W before
    r = rec([(k / 10, 5.0) for k in range(51)], 10.0, 0.0, 5.0)
    idle = rec([(-2.0 + k / 10, 2.0) for k in range(20)], 10.0, -2.0, -0.1)
    windows = [
        RepWindow(t_request=0.0, t_first=1.0, t_end=3.0, prompt_tokens=128, gen_tokens=10),
        RepWindow(t_request=3.0, t_first=3.5, t_end=5.0, prompt_tokens=128, gen_tokens=20),
    ]
    p = summarize(r, windows, idle)
    assert p["source"] == "hwmon" and p["covers"] == "test rig" and p["simulated"] is False
    assert p["n_samples"] == 51 and p["rate_hz_target"] == 10.0
    assert p["rate_hz_achieved"] == pytest.approx(10.0)
    assert p["idle"] is not None and p["idle"]["mean_w"] == pytest.approx(2.0)
    # prompt: 1.0 s and 0.5 s at 5 W: mean energy per rep (5 + 2.5) / 2
    assert p["prompt"]["energy_j"] == pytest.approx(3.75)
    assert p["prompt"]["mean_w"] == pytest.approx(5.0)
    assert p["prompt"]["energy_above_idle_j"] == pytest.approx(3.75 - 2.0 * 0.75)
    assert p["generation"]["energy_j"] == pytest.approx((10.0 + 7.5) / 2)
    assert p["request"]["n_windows_measured"] == 2 and p["request"]["peak_w"] == 5.0
    # J/token: (15 + 10) J / 30 tokens; above idle: (25 - 2 * 5) / 30
    assert p["gen_tokens"] == 30
    assert p["j_per_token"] == pytest.approx(25 / 30)
    assert p["tokens_per_j"] == pytest.approx(30 / 25)
    assert p["j_per_token_above_idle"] == pytest.approx(15 / 30)
    assert p["j_per_token_generation"] == pytest.approx(17.5 / 28)  # tokens after the first
    assert p["j_per_token_stdev"] == pytest.approx(
        ((1.5 - 1.0) ** 2 + (0.5 - 1.0) ** 2) ** 0.5)  # per rep 1.5 and 0.5 J/token
    assert p["samples"][0] == [0.0, 5.0] and p["samples"][-1] == [5.0, 5.0]
    assert p["idle_samples"][0] == [-2.0, 2.0]


def test_short_prompt_phase_is_null_not_a_guess() -> None:
    r = rec([(k / 10, 4.0) for k in range(31)], 10.0, 0.0, 3.0)
    windows = [RepWindow(0.02, 0.07, 3.0, 16, 10)]  # prompt phase 50 ms at 10 Hz: no sample
    p = summarize(r, windows)
    assert p["prompt"]["energy_j"] is None and p["prompt"]["mean_w"] is None
    assert p["prompt"]["reasons"] == ["too few samples (0 < 2)"]
    assert p["generation"]["energy_j"] == pytest.approx(4.0 * 2.93)
    assert p["idle"] is None and p["j_per_token_above_idle"] is None
    assert p["j_per_token"] == pytest.approx(4.0 * 2.98 / 10)


def test_no_first_token_counts_only_the_request() -> None:
    r = rec([(k / 10, 3.0) for k in range(11)], 10.0, 0.0, 1.0)
    p = summarize(r, [RepWindow(0.0, None, 1.0, None, 0)])
    assert p["prompt"]["n_windows"] == 0 and p["generation"]["n_windows"] == 0
    assert p["request"]["energy_j"] == pytest.approx(3.0)
    assert p["j_per_token"] is None and p["tokens_per_j"] is None


def test_all_failed_readings() -> None:
    r = rec([(k / 10, None) for k in range(11)], 10.0, 0.0, 1.0)
    p = summarize(r, [RepWindow(0.0, 0.5, 1.0, 8, 5)])
    assert p["request"]["energy_j"] is None and p["j_per_token"] is None
    assert p["n_samples"] == 11 and p["samples"][3] == [0.3, None]
