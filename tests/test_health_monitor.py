"""Board health: parsers, sysfs/vcgencmd sources, throttle flags, cooling wait."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from bench.clock import VirtualClock
from bench.errors import MeterUnavailable
from bench.meters.gencmd import take_warnings
from bench.meters.health import (
    BoardReader,
    HealthMonitor,
    HealthOptions,
    flags_of,
    parse_clock_hz,
    parse_temp,
    parse_throttled,
    sticky_new,
)
from tests.fakes.pi5 import pi5_firmware, pi5_tree
from tests.fakes.vcio import FakeFirmware, pi5_devices


class FakeReader(BoardReader):
    """A BoardReader whose readings come from lists (the last value repeats)."""

    def __init__(self, temps: Sequence[float | None] = (), mhz: Sequence[float | None] = (),
                 throttled: Sequence[int | None] = ()) -> None:
        super().__init__(run=lambda argv: "", read=lambda path: "", io=FakeFirmware({}))
        self._t, self._m, self._b = list(temps), list(mhz), list(throttled)
        self.sources.update({"temp": "fake" if temps else None,
                             "clock": "fake" if mhz else None,
                             "throttle": "fake" if throttled else None})

    def probe(self) -> dict[str, str | None]:
        return dict(self.sources)

    @staticmethod
    def _next(values: list):  # type: ignore[no-untyped-def]
        if not values:
            return None
        return values.pop(0) if len(values) > 1 else values[0]

    def temp_c(self) -> float | None:
        return self._next(self._t)

    def arm_mhz(self) -> float | None:
        return self._next(self._m)

    def throttled(self) -> int | None:
        return self._next(self._b)


def test_parsers_on_real_shaped_output() -> None:
    assert parse_temp("temp=46.2'C\n") == 46.2
    assert parse_clock_hz("frequency(0)=2400000000\n") == 2.4e9
    assert parse_throttled("throttled=0x0\n") == 0
    assert parse_throttled("throttled=0x50000\n") == 0x50000
    assert parse_throttled("throttled=0x50005\n") == 0x50005
    assert parse_temp("error") is None and parse_throttled("") is None


def test_throttle_bits() -> None:
    assert flags_of(0x50005) == ["under-voltage", "throttled"]
    assert flags_of(0x50000) == []  # only "since boot" bits
    assert flags_of(0xF) == ["under-voltage", "arm-capped", "throttled", "soft-temp-limit"]
    assert sticky_new(0x50000, 0x50000) == []
    assert sticky_new(0x0, 0x80000) == ["soft-temp-limit"]
    assert sticky_new(0x10000, 0x70000) == ["arm-capped", "throttled"]


def test_reader_prefers_sysfs_and_falls_back_to_vcgencmd(tmp_path: Path) -> None:
    (tmp_path / "sys/class/thermal/thermal_zone0").mkdir(parents=True)
    (tmp_path / "sys/class/thermal/thermal_zone0/temp").write_text("46200\n")
    calls: list[list[str]] = []
    answers = {"get_throttled": "throttled=0x50000\n",
               "measure_clock": "frequency(0)=1500000000\n", "measure_temp": "temp=51.0'C\n"}

    def run(argv: Sequence[str]) -> str:
        calls.append(list(argv))
        return answers[argv[1]]

    no_devices = FakeFirmware({}, devices={})
    r = BoardReader("/usr/bin/vcgencmd", str(tmp_path), run=run, io=no_devices)
    src = r.probe()
    assert src["temp"] is not None and src["temp"].endswith("thermal_zone0/temp")
    assert src["clock"] == "vcgencmd measure_clock arm (vcgencmd)"
    assert src["throttle"] == "vcgencmd get_throttled (vcgencmd)" and r.transport == "vcgencmd"
    assert r.temp_c() == pytest.approx(46.2)
    assert r.arm_mhz() == pytest.approx(1500.0)
    assert r.throttled() == 0x50000
    assert ["/usr/bin/vcgencmd", "measure_clock", "arm"] in calls
    assert take_warnings() == []  # no device at all: not a Pi, nothing to warn about


def test_cpufreq_is_only_the_requested_clock(tmp_path: Path) -> None:
    f = tmp_path / "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"
    f.parent.mkdir(parents=True)
    f.write_text("2400000\n")

    def run(argv: Sequence[str]) -> str:
        raise FileNotFoundError(argv[0])

    r = BoardReader(sysfs_root=str(tmp_path), run=run, io=FakeFirmware({}, devices={}))
    src = r.probe()
    assert src["requested_clock"] == str(f) and src["clock"] is None  # no fake real clock
    assert r.arm_requested_mhz() == pytest.approx(2400.0) and r.arm_mhz() is None
    take_warnings()


def test_throttled_pi5_records_the_firmware_clock_not_the_requested_one(tmp_path: Path) -> None:
    """Requested 2400 MHz (cpufreq), real 1500 MHz (firmware), capped and throttled now."""
    root = pi5_tree(tmp_path, requested_khz=2400000)
    fw = pi5_firmware(arm_hz=1500000000, throttled=0x60006,
                      devices=pi5_devices(vcio=False, vcio_gencmd=True))
    reader = BoardReader(sysfs_root=str(root), io=fw)
    mon = HealthMonitor(HealthOptions(rate_hz=50), VirtualClock(), reader=reader)
    with mon.track():
        mon.poll()
    s = mon.summary()
    assert s["arm_mhz_min"] == 1500.0 and s["arm_mhz_mean"] == 1500.0
    assert s["arm_requested_mhz_min"] == 2400.0
    assert s["sources"]["clock"] == "vcgencmd measure_clock arm (mailbox /dev/vcio_gencmd)"
    assert s["flags"] == ["arm-capped", "throttled"] and s["throttled"] is True
    assert s["throttle_history"] == "throttled"
    mon.close()


def test_pi5_record_carries_soc_revision_fan_and_ext5v(tmp_path: Path) -> None:
    root = pi5_tree(tmp_path, fan_rpm=2712, fan_pwm=75)
    fw = pi5_firmware(ext5v=5.0712)
    mon = HealthMonitor(HealthOptions(), VirtualClock(),
                        reader=BoardReader(sysfs_root=str(root), io=fw))
    with mon.track():
        pass
    s = mon.summary()
    assert s["board"] == {"model": "Raspberry Pi 5 Model B Rev 1.0", "soc": "BCM2712",
                          "soc_source": "device tree compatible", "revision": "d04170"}
    assert s["fan_rpm_mean"] == 2712.0 and s["fan_pwm_max"] == 75.0
    assert s["sources"]["fan"] == str(root / "sys/class/hwmon/hwmon2/fan1_input")
    assert s["ext5v_v_min"] == pytest.approx(5.0712)
    assert s["temp_start_c"] == pytest.approx(61.25)
    assert s["throttle_rate_hz"] == 10.0  # through the mailbox
    assert s["throttle_history"] == "clean" and s["throttled"] is False
    mon.close()


def test_throttle_poll_rate_follows_the_transport(tmp_path: Path) -> None:
    fw = pi5_firmware(devices=pi5_devices(vcio=False, vcio_gencmd=False))

    def run(argv: Sequence[str]) -> str:
        return fw.vcgencmd(argv, devices=pi5_devices())

    mon = HealthMonitor(HealthOptions(rate_hz=2), VirtualClock(),
                        reader=BoardReader(sysfs_root=str(tmp_path), io=fw, run=run))
    assert mon.reader.transport == "vcgencmd" and mon.throttle_rate_hz == 2.0
    forced = HealthMonitor(HealthOptions(throttle_rate_hz=25), VirtualClock(),
                           reader=BoardReader(sysfs_root=str(tmp_path), io=pi5_firmware()))
    assert forced.throttle_rate_hz == 25.0
    assert len(take_warnings()) == 1


def test_sticky_bits_set_before_the_case() -> None:
    # polled clear throughout, no gap: clean, with a note saying what that rests on
    clean = HealthMonitor(HealthOptions(), VirtualClock(),
                          reader=FakeReader(throttled=[0x50000]))
    with clean.track():
        clean.poll_throttle()
    s = clean.summary()
    assert s["throttle_history"] == "clean" and s["throttled"] is False
    assert s["throttle_note"] is not None and "sticky bits were set" in s["throttle_note"]
    assert s["throttle_polls"] == 3
    # a poll that failed: a cap may have passed unseen
    holed = HealthMonitor(HealthOptions(), VirtualClock(),
                          reader=FakeReader(throttled=[0x50000, None, 0x50000]))
    with holed.track():
        holed.poll_throttle()
    s = holed.summary()
    assert s["throttle_history"] == "unknown" and s["throttled"] is False
    assert "1 failed polls" in (s["throttle_note"] or "")
    # clear sticky bits before: the sticky bits themselves cover the time between polls
    fresh = HealthMonitor(HealthOptions(), VirtualClock(),
                          reader=FakeReader(throttled=[0x0, None, 0x0]))
    with fresh.track():
        fresh.poll_throttle()
    assert fresh.summary()["throttle_history"] == "clean"


def test_a_gap_between_polls_makes_the_history_unknown() -> None:
    clock = VirtualClock()
    mon = HealthMonitor(HealthOptions(throttle_rate_hz=10), clock,
                        reader=FakeReader(throttled=[0x80000]))
    with mon.track():
        clock.sleep(0.1)
        mon.poll_throttle()
        clock.sleep(1.0)  # 10 periods without a poll
    s = mon.summary()
    assert s["throttle_max_gap_s"] == pytest.approx(1.0)
    assert s["throttle_history"] == "unknown" and "largest gap 1.00 s" in (s["throttle_note"] or "")


def test_summary_flags_a_throttled_case() -> None:
    clock = VirtualClock()
    reader = FakeReader(temps=[60.0, 78.5, 81.0, 79.0], mhz=[2400, 1800, 1500, 2400],
                        throttled=[0x0, 0x0, 0x6, 0x60006])
    mon = HealthMonitor(HealthOptions(rate_hz=50), clock, reader=reader)
    with mon.track():
        mon.poll()
        mon.poll_throttle()
        mon.poll()
        mon.poll_throttle()
    s = mon.summary()
    assert s["temp_start_c"] == 60.0 and s["temp_max_c"] == 81.0
    assert s["arm_mhz_min"] == 1500
    assert s["throttled_before"] == "0x0" and s["throttled_after"] == "0x60006"
    assert s["flags"] == ["arm-capped", "throttled"] and s["throttled"] is True
    assert s["n_polls"] >= 4


def test_sticky_bit_set_during_the_case_is_flagged() -> None:
    mon = HealthMonitor(HealthOptions(), VirtualClock(),
                        reader=FakeReader(throttled=[0x50000, 0x58000 | 0x80000]))
    with mon.track():
        pass
    s = mon.summary()
    assert s["flags"] == ["soft-temp-limit"] and s["throttled"] is True


def test_clean_case_and_missing_readings() -> None:
    mon = HealthMonitor(HealthOptions(), VirtualClock(), reader=FakeReader(temps=[45.0]))
    with mon.track():
        pass
    s = mon.summary()
    assert s["flags"] == [] and s["throttled"] is None  # no get_throttled: unknown, not False
    assert s["arm_mhz_min"] is None and s["throttled_before"] is None
    assert mon.check() == ["health: no clock, throttle reading here; those figures are null"]
    assert s["throttle_history"] is None and s["throttle_polls"] == 0


def test_required_health_without_any_reading() -> None:
    mon = HealthMonitor(HealthOptions(enabled=True), VirtualClock(), reader=FakeReader())
    with pytest.raises(MeterUnavailable, match="no temperature"):
        mon.check()
    auto = HealthMonitor(HealthOptions(), VirtualClock(), reader=FakeReader())
    assert not auto.active


def test_wait_cool_reaches_and_times_out() -> None:
    clock = VirtualClock(0.0)
    mon = HealthMonitor(HealthOptions(), clock, reader=FakeReader(temps=[72.0, 66.0, 59.5]))
    r = mon.wait_cool(60.0, 100.0)
    assert r["reached"] and r["waited_s"] == pytest.approx(2.0) and r["temp_c"] == 59.5
    hot = HealthMonitor(HealthOptions(), clock, reader=FakeReader(temps=[85.0]))
    r = hot.wait_cool(60.0, 5.0)
    assert not r["reached"] and r["waited_s"] == pytest.approx(5.0)
    none = HealthMonitor(HealthOptions(), clock, reader=FakeReader())
    assert none.wait_cool(60.0, 5.0) == {"target_c": 60.0, "reached": False, "waited_s": 0.0,
                                         "temp_c": None}


def test_options_shape() -> None:
    assert HealthOptions.model_validate({}).enabled == "auto"
    assert HealthOptions.model_validate({"enabled": False}).enabled is False
    with pytest.raises(ValueError):
        HealthOptions.model_validate({"enabled": "sometimes"})


def test_soc_from_revision_code_when_the_device_tree_says_nothing(tmp_path: Path) -> None:
    from bench.meters.board import board_facts, soc_from_revision

    assert soc_from_revision("d04170") == "BCM2712"  # Pi 5 8GB: processor field 4
    assert soc_from_revision("c03111") == "BCM2711"  # Pi 4 4GB
    assert soc_from_revision("000e") is None  # old-style code: no processor field
    root = pi5_tree(tmp_path)
    (root / "proc/device-tree/compatible").unlink()
    facts = board_facts(str(root))
    assert (facts["soc"], facts["soc_source"]) == ("BCM2712", "revision code")
    assert board_facts(str(tmp_path / "nothing")) == {
        "model": None, "soc": None, "soc_source": None, "revision": None}


def test_doctor_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.meters import gencmd
    from bench.meters.board import BoardReader, readable
    from bench.meters.pmic import check_pmic

    pmic_text = (Path(__file__).parent / "data" / "pmic_read_adc.txt").read_text()
    fw = pi5_firmware(devices=pi5_devices(vcio=False))
    fw.answers["pmic_read_adc"] = pmic_text
    monkeypatch.setattr(gencmd, "OsMailboxIO", lambda: fw)
    assert check_pmic() == (True, "12 rails through mailbox /dev/vcio_gencmd")
    found = readable(BoardReader(sysfs_root=str(pi5_tree(tmp_path)), io=fw))
    assert found["throttle"] is not None and found["fan"] is not None
    monkeypatch.setattr(gencmd, "OsMailboxIO", lambda: FakeFirmware({}, devices={}))
    ok, why = check_pmic()
    assert not ok and why.startswith("pi5-pmic: ")
    take_warnings()
