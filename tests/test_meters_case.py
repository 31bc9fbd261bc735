"""The runner-facing API: build, check, idle baseline, track, summary; mock meter; gaps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import simdevice
from bench.clock import RealClock, VirtualClock
from bench.errors import MeterUnavailable, UserError
from bench.meters.analysis import RepWindow
from bench.meters.base import MeterOptions
from bench.meters.case import CaseMeters, build_meters, check_meters, parse_meter_options
from bench.meters.hwmon import HwmonOptions
from bench.meters.mock import MockMeter, MockMeterOptions
from bench.meters.pmic import PmicOptions


@pytest.fixture
def device() -> Iterator[simdevice.SimulatedDevice]:
    d = simdevice.SimulatedDevice("sim", idle_w=2.0)
    simdevice.register(d)
    yield d
    simdevice.unregister(d)


def test_parse_meter_options_validates_per_type() -> None:
    opts = parse_meter_options({"type": "pi5-pmic", "rate_hz": 5, "optional": True})
    assert isinstance(opts, PmicOptions) and opts.rate_hz == 5 and opts.optional
    with pytest.raises(UserError) as exc:
        parse_meter_options({"type": "shelly", "host": "plug", "gen": 3}, "cfg.yaml: meters[1]")
    assert "cfg.yaml: meters[1]" in str(exc.value) and "'gen'" in str(exc.value)
    with pytest.raises(UserError, match="did you mean 'shelly'"):
        parse_meter_options({"type": "shely", "host": "x"})
    with pytest.raises(UserError, match="rate_hz"):
        parse_meter_options({"type": "mock", "rate_hz": 0})


def test_build_meters_from_base_options_and_virtual_clock_rule() -> None:
    clock = VirtualClock()
    [m] = build_meters([MeterOptions(type="mock", rate_hz=20)], clock)
    assert isinstance(m, MockMeter) and m.options.rate_hz == 20
    with pytest.raises(UserError, match="virtual"):
        build_meters([PmicOptions()], clock)


def test_non_optional_missing_meter_is_one_line() -> None:
    meters = build_meters([PmicOptions(command="/nonexistent/vcgencmd pmic_read_adc")],
                          RealClock())
    with pytest.raises(MeterUnavailable) as exc:
        check_meters(meters)
    msg = str(exc.value)
    assert msg.startswith("meter 'pmic':") and "optional: true" in msg and "\n" not in msg


def test_optional_missing_meter_is_dropped_with_a_warning(tmp_path: Path) -> None:
    meters = build_meters(
        [HwmonOptions(sensor="ina226", root=str(tmp_path), optional=True, label="usb-c"),
         MockMeterOptions()],
        RealClock(),
    )
    warnings = check_meters(meters)
    assert [m.kind for m in meters] == ["mock"]
    assert len(warnings) == 1 and warnings[0].startswith("meter 'usb-c' left out: hwmon:")


def test_mock_meter_on_virtual_clock_end_to_end(device: simdevice.SimulatedDevice) -> None:
    clock = VirtualClock(100.0)
    meters = build_meters([MockMeterOptions(rate_hz=10, noise_w=0.0)], clock)
    assert check_meters(meters) == []
    cm = CaseMeters(meters, None, clock, idle_s=1.0)
    cm.idle_baseline()
    assert clock.now() == pytest.approx(101.0)
    windows = []
    with cm.track():
        for _ in range(2):
            t_req = clock.now()
            clock.advance(0.5)  # prompt processing at 6 W
            device.busy(t_req, clock.now(), 6.0)
            t_first = clock.now()
            clock.advance(2.0)  # generation at 5 W
            device.busy(t_first, clock.now(), 5.0)
            windows.append(RepWindow(t_req, t_first, clock.now(), 64, 32))
            clock.advance(0.3)
    power, health = cm.summary(windows)
    assert health is None and len(power) == 1
    p = power[0]
    assert p["simulated"] is True and p["source"] == "mock"
    assert p["n_samples"] == 57  # 5.6 s at 10 Hz, both ends
    assert p["idle"] is not None and p["idle"]["mean_w"] == pytest.approx(2.0)
    # sampling smooths each step over one period: error <= 0.1 s x step (W) / window (s)
    assert p["generation"]["mean_w"] == pytest.approx(5.0, abs=0.1 * 3.0 / 2.0)
    assert p["prompt"]["mean_w"] == pytest.approx(6.0, abs=0.1 * 4.0 / 0.5)
    assert p["request"]["peak_w"] == pytest.approx(6.0)
    assert p["j_per_token"] == pytest.approx((0.5 * 6 + 2.0 * 5) / 32, abs=0.1 * 4.0 / 32)
    assert p["samples"][0][0] == 0.0
    assert p["estimated_input"] is None  # the mock meter states no fit


def test_mock_meter_noise_is_seeded(device: simdevice.SimulatedDevice) -> None:
    def run(seed: int) -> list[float | None]:
        clock = VirtualClock(0.0)
        m = MockMeter(MockMeterOptions(noise_w=0.1, seed=seed), clock=clock)
        with m.track() as rec:
            clock.advance(1.0)
        return [s.watts for s in rec.samples]

    a, b, c = run(1), run(1), run(2)
    assert a == b and a != c and len(a) == 11
    assert all(w is not None and abs(w - 2.0) < 1.0 for w in a)


def test_mock_meter_without_device_records_gaps() -> None:
    clock = VirtualClock(0.0)
    m = MockMeter(MockMeterOptions(), clock=clock)
    with m.track() as rec:
        clock.advance(0.5)
    assert all(s.watts is None for s in rec.samples)
    assert rec.errors == ["mock: no simulated device is loaded"]


def test_sensor_vanishing_mid_run_is_a_recorded_gap(tmp_path: Path) -> None:
    """A real sampling thread: only structure is asserted, never timing."""
    d = tmp_path / "hwmon0"
    d.mkdir()
    (d / "name").write_text("ina260\n")
    power = d / "power1_input"
    power.write_text("4000000\n")
    [m] = build_meters([HwmonOptions(sensor="ina260", root=str(tmp_path), rate_hz=500)],
                       RealClock())
    check_meters([m])
    cm = CaseMeters([m], None, RealClock(), idle_s=0)

    def wait_for(cond) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 5
        while not cond() and time.monotonic() < deadline:
            time.sleep(0.005)

    clock = RealClock()
    with cm.track():
        rec = cm.recordings[0]
        t0 = clock.now()
        wait_for(lambda: sum(s.watts is not None for s in rec.samples) >= 3)
        power.unlink()
        wait_for(lambda: any(s.watts is None for s in rec.samples))
        t1 = clock.now()
    valid = [s for s in rec.samples if s.watts is not None]
    assert valid and all(s.watts == 4.0 for s in valid)
    assert any(s.watts is None for s in rec.samples)
    assert len(rec.errors) == 1 and "power1_input" in rec.errors[0]
    power_sum, _ = cm.summary([RepWindow(t0, None, t1, None, 10)])
    p = power_sum[0]
    assert p["n_gaps"] >= 1 and p["gap_s"] > 0 and p["errors"] == rec.errors


def test_health_is_tracked_with_the_case(device: simdevice.SimulatedDevice) -> None:
    from bench.meters.health import HealthMonitor, HealthOptions
    from tests.test_health_monitor import FakeReader

    clock = VirtualClock(0.0)
    reader = FakeReader(temps=[70.0, 65.0, 55.0, 50.0], throttled=[0x0, 0x50005, 0x50005])
    health = HealthMonitor(HealthOptions(cool_below_c=60.0), clock, reader=reader)
    cm = CaseMeters(build_meters([MockMeterOptions()], clock), health, clock, idle_s=0.5)
    cm.idle_baseline()
    with cm.track():
        clock.advance(1.0)
    _, h = cm.summary([])
    assert h is not None and h["cooldown"] is not None
    assert h["cooldown"]["reached"] is True and h["cooldown"]["waited_s"] == pytest.approx(2.0)
    assert h["throttled"] is True and h["flags"] == ["under-voltage", "throttled"]


def test_a_meters_fit_lands_beside_its_raw_figures(device: simdevice.SimulatedDevice) -> None:
    clock = VirtualClock(0.0)
    (meter,) = build_meters([MockMeterOptions(rate_hz=10, noise_w=0.0)], clock)
    meter.estimate = lambda: ((lambda w: 2 * w + 1), {"slope": 2, "intercept": 1})  # type: ignore[method-assign]
    cm = CaseMeters([meter], None, clock, idle_s=0.0)
    with cm.track():
        t0 = clock.now()
        clock.advance(2.0)
        device.busy(t0, clock.now(), 5.0)
        windows = [RepWindow(t0, t0 + 1.0, clock.now(), 8, 4)]
    (p,), _ = cm.summary(windows)
    assert p["request"]["mean_w"] == pytest.approx(5.0, abs=0.2)
    est = p["estimated_input"]
    assert est is not None and est["fit"] == {"slope": 2, "intercept": 1}
    assert est["request"]["mean_w"] == pytest.approx(2 * p["request"]["mean_w"] + 1)
