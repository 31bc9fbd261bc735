"""Shelly Gen1, Shelly Gen2+ and Tasmota plugs against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bench.errors import MeterUnavailable, SensorGone
from bench.meters.case import check_meters
from bench.meters.plugs import ShellyMeter, ShellyOptions, TasmotaMeter, TasmotaOptions

SHELLY_GEN1 = {
    "/shelly": {"type": "SHPLG-S", "mac": "A1B2C3D4E5F6", "auth": False,
                "fw": "20230913-112003/v1.14.0-gcb84623", "num_outputs": 1, "num_meters": 1},
    "/meter/0": {"power": 4.73, "overpower": 0.0, "is_valid": True, "timestamp": 1700000000,
                 "counters": [4.7, 4.8, 4.6], "total": 52113},
}
SHELLY_GEN2 = {
    "/shelly": {"name": None, "id": "shellyplusplugs-a1b2c3d4e5f6", "mac": "A1B2C3D4E5F6",
                "slot": 0, "model": "SNPL-00112EU", "gen": 2,
                "fw_id": "20231107-164738/1.0.8-g8c7bb8d", "ver": "1.0.8", "app": "PlugS",
                "auth_en": False, "auth_domain": None},
    "/rpc/Switch.GetStatus?id=0": {
        "id": 0, "source": "init", "output": True, "apower": 6.2, "voltage": 231.4,
        "current": 0.048, "aenergy": {"total": 1234.567, "by_minute": [103.2, 104.9, 101.0],
                                      "minute_ts": 1700000040},
        "temperature": {"tC": 41.2, "tF": 106.2}},
}
TASMOTA = {
    "/cm?cmnd=Status%208": {"StatusSNS": {"Time": "2024-05-01T12:00:00", "ENERGY": {
        "TotalStartTime": "2024-01-01T00:00:00", "Total": 12.345, "Yesterday": 0.212,
        "Today": 0.101, "Power": 7, "ApparentPower": 9, "ReactivePower": 5, "Factor": 0.78,
        "Voltage": 229, "Current": 0.039}}},
}


class Plug:
    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.hits: list[str] = []


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(routes: dict[str, Any]) -> tuple[Plug, int]:
        plug = Plug(routes)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                plug.hits.append(self.path)
                if self.path not in plug.routes:
                    self.send_error(404)
                    return
                body = json.dumps(plug.routes[self.path]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(srv)
        threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True).start()
        return plug, srv.server_address[1]

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_shelly_gen1_auto_detected(serve: Any) -> None:
    plug, port = serve(SHELLY_GEN1)
    m = ShellyMeter(ShellyOptions(host="127.0.0.1", port=port))
    m.check()
    assert m.gen == 1
    assert m.read_watts() == pytest.approx(4.73)
    assert "/meter/0" in plug.hits and "wall" in m.covers
    m.close()


def test_shelly_gen2_auto_detected(serve: Any) -> None:
    plug, port = serve(SHELLY_GEN2)
    m = ShellyMeter(ShellyOptions(host="127.0.0.1", port=port))
    m.check()
    assert m.gen == 2
    assert m.read_watts() == pytest.approx(6.2)
    assert "/rpc/Switch.GetStatus?id=0" in plug.hits
    m.close()


def test_shelly_explicit_gen_skips_detection(serve: Any) -> None:
    plug, port = serve(SHELLY_GEN2)
    m = ShellyMeter(ShellyOptions(host="127.0.0.1", port=port, gen=2))
    m.check()
    assert "/shelly" not in plug.hits
    m.close()


def test_shelly_gen1_invalid_reading_is_a_gap(serve: Any) -> None:
    routes = dict(SHELLY_GEN1)
    routes["/meter/0"] = {**SHELLY_GEN1["/meter/0"], "is_valid": False}
    _, port = serve(routes)
    m = ShellyMeter(ShellyOptions(host="127.0.0.1", port=port, gen=1))
    with pytest.raises(SensorGone, match="not valid"):
        m.read_watts()
    m.close()


def test_tasmota(serve: Any) -> None:
    plug, port = serve(TASMOTA)
    m = TasmotaMeter(TasmotaOptions(host="127.0.0.1", port=port))
    m.check()
    assert m.read_watts() == pytest.approx(7.0)
    assert plug.hits[-1] == "/cm?cmnd=Status%208"
    m.close()


def test_tasmota_multi_channel_power_is_summed(serve: Any) -> None:
    routes = {"/cm?cmnd=Status%208": {"StatusSNS": {"ENERGY": {"Power": [3, 4.5]}}}}
    _, port = serve(routes)
    m = TasmotaMeter(TasmotaOptions(host="127.0.0.1", port=port))
    assert m.read_watts() == pytest.approx(7.5)
    m.close()


def test_wrong_answer_is_sensor_gone(serve: Any) -> None:
    _, port = serve({"/cm?cmnd=Status%208": {"StatusSNS": {}}})
    m = TasmotaMeter(TasmotaOptions(host="127.0.0.1", port=port))
    with pytest.raises(SensorGone, match="tasmota"):
        m.read_watts()
    m.close()


def test_unreachable_plug_one_line_then_optional_warning() -> None:
    port = free_port()
    m = ShellyMeter(ShellyOptions(host="127.0.0.1", port=port, timeout_s=0.5))
    with pytest.raises(MeterUnavailable) as exc:
        check_meters([m])
    msg = str(exc.value)
    assert f"127.0.0.1:{port}" in msg and "optional: true" in msg and "\n" not in msg

    opt = TasmotaMeter(TasmotaOptions(host="127.0.0.1", port=port, timeout_s=0.5, optional=True))
    meters: list[Any] = [opt]
    warnings = check_meters(meters)
    assert meters == [] and len(warnings) == 1 and "tasmota" in warnings[0]
