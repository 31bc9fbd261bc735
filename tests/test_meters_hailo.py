"""The hailo meter against a fake module that follows hailo_platform's names."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace
from typing import Any

import pytest

from bench.errors import MeterUnavailable
from bench.meters.case import check_meters
from bench.meters.hailo import HailoPowerMeter, HailoPowerOptions


class FakeControl:
    def __init__(self, supported: bool, watts: float | Exception) -> None:
        self.supported, self.watts = supported, watts
        self.calls: list[tuple[Any, Any]] = []

    def get_extended_device_information(self) -> Any:
        return SimpleNamespace(supported_features=SimpleNamespace(
            ethernet=False, pcie=True, current_monitoring=False, mdio=False,
            power_measurement=self.supported))

    def power_measurement(self, dvm: Any = "AUTO", measurement_type: Any = "AUTO") -> float:
        self.calls.append((dvm, measurement_type))
        if isinstance(self.watts, Exception):
            raise self.watts
        return self.watts


def fake_api(supported: bool = True, watts: float | Exception = 1.75,
             ids: tuple[str, ...] = ("0001:01:00.0",)) -> Any:
    control = FakeControl(supported, watts)
    released: list[str] = []

    class Device:
        def __init__(self, device_id: str | None = None) -> None:
            self.device_id = device_id
            self.control = control

        @staticmethod
        def scan() -> list[str]:
            return list(ids)

        def release(self) -> None:
            released.append(str(self.device_id))

    return SimpleNamespace(
        Device=Device, control=control, released=released,
        DvmTypes=SimpleNamespace(AUTO="DVM_AUTO"),
        PowerMeasurementTypes=SimpleNamespace(POWER="POWER", AUTO="AUTO"),
    )


def test_reads_power_where_supported() -> None:
    api = fake_api()
    m = HailoPowerMeter(HailoPowerOptions(), api=api)
    m.check()
    assert m.read_watts() == pytest.approx(1.75)
    assert api.control.calls[-1] == ("DVM_AUTO", "POWER")
    assert m.describe()["device_id"] == "0001:01:00.0"
    m.close()
    assert api.released == ["0001:01:00.0"]


def test_not_supported_is_said_once_and_the_run_goes_on() -> None:
    api = fake_api(watts=RuntimeError("libhailort failed with error: 7 (HAILO_NOT_SUPPORTED)"))
    meters: list[Any] = [HailoPowerMeter(HailoPowerOptions(), api=api)]
    warnings = check_meters(meters)  # optional by default
    assert meters == [] and len(warnings) == 1
    assert "power measurement not supported" in warnings[0]
    assert api.released  # the device was let go


def test_supported_features_flag_is_not_the_gate() -> None:
    # v5.1.1 control.cpp never fills supported_features.power_measurement on a PCIe card: the
    # flag is garbage, so a card whose read works is measured whatever the flag says
    api = fake_api(supported=False, watts=2.25)
    m = HailoPowerMeter(HailoPowerOptions(optional=False), api=api)
    m.check()
    assert m.read_watts() == pytest.approx(2.25)
    m.close()


def test_firmware_refusing_the_measurement() -> None:
    api = fake_api(watts=RuntimeError("HAILO_NOT_SUPPORTED(7)"))
    with pytest.raises(MeterUnavailable, match="not supported"):
        HailoPowerMeter(HailoPowerOptions(optional=False), api=api).check()


def test_no_device_and_unknown_device_id() -> None:
    with pytest.raises(MeterUnavailable, match="no Hailo device"):
        HailoPowerMeter(HailoPowerOptions(), api=fake_api(ids=())).check()
    with pytest.raises(MeterUnavailable, match="not found"):
        HailoPowerMeter(HailoPowerOptions(device_id="0002:01:00.0"), api=fake_api()).check()


@pytest.mark.skipif(importlib.util.find_spec("hailo_platform") is not None,
                    reason="hailo_platform is installed here")
def test_without_hailort_names_the_apt_package() -> None:
    with pytest.raises(MeterUnavailable) as exc:
        HailoPowerMeter(HailoPowerOptions()).check()
    assert "hailo-h10-all" in str(exc.value) and "\n" not in str(exc.value)
