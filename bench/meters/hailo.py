"""``hailo``: HailoRT's own power measurement of the card, where the card can measure it.

Real API (hailo_platform, the Python binding of HailoRT; Debian package python3-h10-hailort):
``Device.scan()`` -> device ids; ``Device(device_id)``; ``device.control`` is a ``Control``
with ``power_measurement(dvm=DvmTypes.AUTO, measurement_type=PowerMeasurementTypes.POWER)``
returning watts; ``device.release()``. ``hailortcli measure-power`` is the CLI of the same.

The ``supported_features.power_measurement`` flag of ``get_extended_device_information()`` is
NOT read: on a PCIe card HailoRT never fills it in (hailo-ai/hailort v5.1.1
hailort/libhailort/src/device_common/control.cpp ``Control::parse_and_validate_extended_device_
information_response`` ~117-131 sets ethernet, pcie, mipi, current_monitoring and mdio only), so
it holds whatever was in memory. The check is one real read: a failure means "not supported".
Nothing shows that the AI HAT+ 2 has a sensor, so this meter is optional by default: "not
supported" is said once at start (a warning) and the run goes on without it. Hailo's
tutorial advises measuring from another process than the one running inference; here it runs
in-process on the sampler thread.
``hailo_platform`` is imported only in ``check()``; tests inject a fake module (``api=``).
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

from bench.clock import Clock
from bench.errors import MeterUnavailable, SensorGone
from bench.meters.base import MeterOptions, PowerMeter

APT_HINT = "install HailoRT 5.x: `sudo apt install hailo-h10-all` (python3-h10-hailort)"


class HailoPowerOptions(MeterOptions):
    type: str = "hailo"
    optional: bool = True
    """The card may not support power measurement: by default a warning, not exit 2."""
    device_id: str | None = None
    """PCIe id as Device.scan() gives it; None: the first device."""


class HailoPowerMeter(PowerMeter):
    kind: ClassVar[str] = "hailo"

    def __init__(
        self, options: HailoPowerOptions, *, clock: Clock | None = None, api: Any = None
    ) -> None:
        super().__init__(options, clock=clock)
        self.opts = options
        self._api = api
        self._device: Any = None
        self._device_id: str | None = None

    @property
    def covers(self) -> str:
        return "the Hailo chip as its firmware measures it (not the Pi, not the HAT's losses)"

    def describe(self) -> dict[str, Any]:
        return {"device_id": self._device_id, "basis": "Control.power_measurement (DVM AUTO)"}

    def check(self) -> None:
        api = self._api
        if api is None:
            try:
                import hailo_platform
            except ImportError:
                raise MeterUnavailable(
                    f"hailo: hailo_platform is not installed; {APT_HINT}"
                ) from None
            self._api = api = hailo_platform
        try:
            ids = list(api.Device.scan())
        except Exception as exc:
            raise MeterUnavailable(f"hailo: cannot scan for devices: {exc}") from None
        if not ids:
            raise MeterUnavailable(
                "hailo: no Hailo device found (is the HAT seated and its driver loaded?)"
            )
        want = self.opts.device_id
        if want is not None and want not in ids:
            raise MeterUnavailable(f"hailo: device {want!r} not found; found: {', '.join(ids)}")
        self._device_id = want or ids[0]
        try:
            self._device = api.Device(self._device_id)
        except Exception as exc:
            self.close()
            raise MeterUnavailable(f"hailo: cannot open {self._device_id}: {exc}") from None
        try:
            self.read_watts()
        except SensorGone as exc:
            self.close()
            raise MeterUnavailable(
                f"hailo: power measurement not supported on {self._device_id} (a test read "
                f"failed: {exc}); the NPU's power is not measured by HailoRT"
            ) from None

    def read_watts(self) -> float:
        if self._device is None:
            raise SensorGone("hailo: device not open (check() not run)")
        api = self._api
        try:
            return float(
                self._device.control.power_measurement(
                    api.DvmTypes.AUTO, api.PowerMeasurementTypes.POWER
                )
            )
        except Exception as exc:
            raise SensorGone(f"hailo: {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        if self._device is not None:
            with contextlib.suppress(Exception):
                self._device.release()
            self._device = None
