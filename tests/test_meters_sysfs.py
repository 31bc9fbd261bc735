"""hwmon and RAPL over a fake sysfs tree in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.clock import VirtualClock
from bench.errors import MeterUnavailable, SensorGone
from bench.meters.hwmon import HwmonMeter, HwmonOptions, find_sensors
from bench.meters.rapl import RaplMeter, RaplOptions, energy_delta_uj
from bench.meters.sources import read_text


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


@pytest.fixture
def hwmon(tmp_path: Path) -> Path:
    root = tmp_path / "hwmon"
    write(root / "hwmon0" / "name", "cpu_thermal")
    write(root / "hwmon0" / "temp1_input", "46200")
    write(root / "hwmon1" / "name", "ina226")
    write(root / "hwmon1" / "power1_input", "5125000")  # microwatts
    write(root / "hwmon2" / "name", "ina219")
    write(root / "hwmon2" / "curr1_input", "1000")  # mA
    write(root / "hwmon2" / "in1_input", "5100")  # mV
    write(root / "hwmon2" / "in0_input", "80")  # shunt, mV
    write(root / "hwmon10" / "name", "ina226")
    write(root / "hwmon10" / "power1_input", "2500000")
    return root


def test_find_sensors_numeric_order(hwmon: Path) -> None:
    names = [(Path(d).name, n) for d, n in find_sensors(str(hwmon))]
    assert names == [("hwmon0", "cpu_thermal"), ("hwmon1", "ina226"), ("hwmon2", "ina219"),
                     ("hwmon10", "ina226")]


def test_power_file_in_microwatts(hwmon: Path) -> None:
    m = HwmonMeter(HwmonOptions(sensor="ina226", root=str(hwmon), covers="Pi 5 V input"))
    m.check()
    assert m.read_watts() == pytest.approx(5.125)
    assert m.covers == "Pi 5 V input"
    assert m.describe()["basis"] == "power_input"


def test_second_sensor_of_the_same_name(hwmon: Path) -> None:
    m = HwmonMeter(HwmonOptions(sensor="ina226", index=1, root=str(hwmon)))
    m.check()
    assert m.read_watts() == pytest.approx(2.5)


def test_current_times_voltage_without_power_file(hwmon: Path) -> None:
    m = HwmonMeter(HwmonOptions(sensor="ina219", root=str(hwmon)))
    m.check()
    assert m.read_watts() == pytest.approx(1.0 * 5.1)  # 1000 mA x 5100 mV
    assert m.describe()["basis"] == "curr_input x in_input"


def test_missing_sensor_names_what_exists(hwmon: Path) -> None:
    with pytest.raises(MeterUnavailable) as exc:
        HwmonMeter(HwmonOptions(sensor="ina260", root=str(hwmon))).check()
    msg = str(exc.value)
    assert "ina260" in msg and "cpu_thermal, ina219, ina226" in msg and "\n" not in msg


def test_sensor_without_power_channels(hwmon: Path) -> None:
    with pytest.raises(MeterUnavailable, match="power1_input"):
        HwmonMeter(HwmonOptions(sensor="cpu_thermal", root=str(hwmon))).check()


def test_vanished_file_is_sensor_gone(hwmon: Path) -> None:
    m = HwmonMeter(HwmonOptions(sensor="ina226", root=str(hwmon)))
    m.check()
    (hwmon / "hwmon1" / "power1_input").unlink()
    with pytest.raises(SensorGone, match="power1_input"):
        m.read_watts()


# ---- RAPL ---------------------------------------------------------------------------

MAX = 262_143_328_850


@pytest.fixture
def powercap(tmp_path: Path) -> Path:
    root = tmp_path / "powercap"
    write(root / "intel-rapl:0" / "name", "package-0")
    write(root / "intel-rapl:0" / "energy_uj", "1000000")
    write(root / "intel-rapl:0" / "max_energy_range_uj", str(MAX))
    write(root / "intel-rapl:0:0" / "name", "core")  # a subzone: not summed
    write(root / "intel-rapl:0:0" / "energy_uj", "5")
    write(root / "intel-rapl:1" / "name", "psys")
    write(root / "intel-rapl:1" / "energy_uj", "7")
    write(root / "intel-rapl:1" / "max_energy_range_uj", str(MAX))
    return root


def test_energy_delta_handles_one_wrap() -> None:
    assert energy_delta_uj(100, 600, MAX) == 500
    assert energy_delta_uj(MAX - 1000, 500, MAX) == 1500


def test_power_from_energy_difference(powercap: Path) -> None:
    clock = VirtualClock(100.0)
    m = RaplMeter(RaplOptions(root=str(powercap)), clock=clock)
    m.check()
    assert m.describe()["zones"] == [str(powercap / "intel-rapl:0" / "energy_uj")]
    clock.advance(0.5)
    write(powercap / "intel-rapl:0" / "energy_uj", str(1_000_000 + 6_000_000))  # 6 J in 0.5 s
    assert m.read_watts() == pytest.approx(12.0)


def test_power_across_wrap_around(powercap: Path) -> None:
    clock = VirtualClock(0.0)
    write(powercap / "intel-rapl:0" / "energy_uj", str(MAX - 2_000_000))
    m = RaplMeter(RaplOptions(root=str(powercap)), clock=clock)
    m.check()
    clock.advance(0.25)
    write(powercap / "intel-rapl:0" / "energy_uj", "1000000")  # wrapped: 3 J in 0.25 s
    assert m.read_watts() == pytest.approx(12.0)


def test_permission_denied_says_root_or_chmod(powercap: Path) -> None:
    def read(path: str) -> str:
        if path.endswith("energy_uj"):
            raise PermissionError(13, "Permission denied", path)
        return read_text(path)

    with pytest.raises(MeterUnavailable) as exc:
        RaplMeter(RaplOptions(root=str(powercap)), read=read).check()
    msg = str(exc.value)
    assert "intel-rapl:0/energy_uj" in msg and "root" in msg and "chmod" in msg
    assert "\n" not in msg


def test_no_rapl_here(tmp_path: Path) -> None:
    with pytest.raises(MeterUnavailable, match="no powercap zone"):
        RaplMeter(RaplOptions(root=str(tmp_path / "none"))).check()


def test_samples_are_timed_at_interval_middles(powercap: Path) -> None:
    """Threaded sampling on a real clock: only the structure is checked, not the timing."""
    m = RaplMeter(RaplOptions(root=str(powercap), rate_hz=200))
    m.check()
    with m.track() as rec:
        import time

        deadline = time.monotonic() + 5
        while sum(s.watts is not None for s in rec.samples) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    valid = [s for s in rec.samples if s.watts is not None]
    assert len(valid) >= 3
    assert all(s.watts == 0.0 for s in valid)  # the counter did not move
    assert rec.meta["kind"] == "rapl"
    assert all(rec.t_start - 1.0 < s.t <= rec.t_end for s in rec.samples)
