"""Smart plugs over HTTP: wall power of the whole setup (Pi, power supply, HAT, USB...).

- Shelly Gen1: ``GET /meter/<ch>`` -> ``power`` (W), ``is_valid``.
- Shelly Gen2+: ``GET /rpc/Switch.GetStatus?id=<ch>`` -> ``apower`` (W).
  ``gen: auto`` asks ``GET /shelly`` once: Gen2+ answers with a ``gen`` field, Gen1 without.
- Tasmota: ``GET /cm?cmnd=Status%208`` -> ``StatusSNS.ENERGY.Power`` (W; a list on
  multi-channel plugs, summed).

Plugs update about once a second and are poor below ~0.5 W: the default rate is 1 Hz.
httpx is imported only when a plug is opened. The seam is ``get_json(url) -> object``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field

from bench.clock import Clock
from bench.errors import MeterUnavailable, SensorGone
from bench.meters.base import MeterOptions, PowerMeter

GetJson = Callable[[str], Any]

WALL = "whole setup at the wall socket (Pi, power supply losses, AI HAT+ 2, USB devices)"


class PlugOptions(MeterOptions):
    host: str
    port: int = Field(default=80, gt=0, lt=65536)
    timeout_s: float = Field(default=2.0, gt=0)
    rate_hz: float = Field(default=1.0, gt=0, le=20)


class ShellyOptions(PlugOptions):
    type: str = "shelly"
    channel: int = Field(default=0, ge=0)
    gen: Literal["auto", 1, 2] = "auto"
    """1: the Gen1 API; 2: the RPC API of Gen2 and later; auto: ask the plug."""


class TasmotaOptions(PlugOptions):
    type: str = "tasmota"


class PlugError(Exception):
    pass


class _Plug(PowerMeter):
    opts: PlugOptions

    def __init__(
        self, options: PlugOptions, *, clock: Clock | None = None, get_json: GetJson | None = None
    ) -> None:
        super().__init__(options, clock=clock)
        self.opts = options
        self._get_json = get_json
        self._client: Any = None

    @property
    def base_url(self) -> str:
        return f"http://{self.opts.host}:{self.opts.port}"

    @property
    def covers(self) -> str:
        return WALL

    def _get(self, path: str) -> Any:
        url = self.base_url + path
        if self._get_json is not None:
            return self._get_json(url)
        import httpx

        if self._client is None:
            self._client = httpx.Client(timeout=self.opts.timeout_s)
        try:
            resp = self._client.get(url)
            resp.raise_for_status()
            return resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise PlugError(f"GET {url}: {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _check_read(self) -> None:
        try:
            self.read_watts()
        except SensorGone as exc:
            raise MeterUnavailable(
                f"{self.kind} plug at {self.base_url}: {exc}; check `host:`/`port:` and that"
                " the plug is on this network"
            ) from None


class ShellyMeter(_Plug):
    kind: ClassVar[str] = "shelly"

    def __init__(
        self, options: ShellyOptions, *, clock: Clock | None = None, get_json: GetJson | None = None
    ) -> None:
        super().__init__(options, clock=clock, get_json=get_json)
        self.channel = options.channel
        self.gen: int | None = None if options.gen == "auto" else int(options.gen)

    def describe(self) -> dict[str, Any]:
        return {"url": self.base_url, "gen": self.gen, "basis": "plug's instantaneous power"}

    def detect_gen(self) -> int:
        info = self._get("/shelly")
        if not isinstance(info, dict):
            raise PlugError(f"GET {self.base_url}/shelly: not a JSON object")
        gen = info.get("gen")
        return int(gen) if isinstance(gen, int) and gen >= 2 else 1

    def check(self) -> None:
        if self.gen is None:
            try:
                self.gen = self.detect_gen()
            except Exception as exc:  # connection refused, timeout, bad JSON...
                raise MeterUnavailable(
                    f"shelly plug at {self.base_url}: not reachable ({exc}); check `host:`/"
                    "`port:` or mark the meter `optional: true`"
                ) from None
        self._check_read()

    def read_watts(self) -> float:
        ch = self.channel
        try:
            if self.gen is None:
                self.gen = self.detect_gen()
            if self.gen >= 2:
                data = self._get(f"/rpc/Switch.GetStatus?id={ch}")
                return float(data["apower"])
            data = self._get(f"/meter/{ch}")
            if data.get("is_valid") is False:
                raise SensorGone("shelly: the plug says its reading is not valid")
            return float(data["power"])
        except SensorGone:
            raise
        except (PlugError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SensorGone(f"shelly: {exc}") from None


def _tasmota_power(data: Any) -> float:
    power = data["StatusSNS"]["ENERGY"]["Power"]
    if isinstance(power, list):
        return float(sum(power))
    return float(power)


class TasmotaMeter(_Plug):
    kind: ClassVar[str] = "tasmota"

    def describe(self) -> dict[str, Any]:
        return {"url": self.base_url, "basis": "plug's instantaneous power"}

    def check(self) -> None:
        self._check_read()

    def read_watts(self) -> float:
        try:
            return _tasmota_power(self._get("/cm?cmnd=Status%208"))
        except (PlugError, KeyError, TypeError, ValueError) as exc:
            raise SensorGone(f"tasmota: {exc}") from None
