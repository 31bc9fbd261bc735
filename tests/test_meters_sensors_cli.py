"""`pibench sensors`: probing, config meters, one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.cli.main import main
from bench.clock import RealClock
from bench.meters.hwmon import HwmonOptions
from bench.meters.probe import discover, probe
from bench.meters.rapl import RaplOptions


def test_discover_in_a_fake_sysfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # no vcgencmd
    h = tmp_path / "sys/class/hwmon/hwmon3"
    h.mkdir(parents=True)
    (h / "name").write_text("ina226\n")
    (h / "power1_input").write_text("3300000\n")
    t = tmp_path / "sys/class/hwmon/hwmon0"
    t.mkdir()
    (t / "name").write_text("cpu_thermal\n")
    z = tmp_path / "sys/class/powercap/intel-rapl:0"
    z.mkdir(parents=True)
    (z / "name").write_text("package-0\n")
    (z / "energy_uj").write_text("100\n")
    (z / "max_energy_range_uj").write_text("1000000\n")
    found = discover(str(tmp_path))
    kinds = [(type(o).__name__, o.label) for o in found if o.type != "hailo"]
    assert kinds == [("HwmonOptions", "hwmon:ina226"), ("RaplOptions", None)]
    assert all(o.optional for o in found)
    results = probe(found, RealClock())
    by_kind = {p.meter.kind: p for p in results}
    assert by_kind["hwmon"].ok and by_kind["hwmon"].watts == pytest.approx(3.3)
    assert by_kind["rapl"].ok and by_kind["rapl"].watts == pytest.approx(0.0)


def test_probe_reports_unusable_meters() -> None:
    results = probe([HwmonOptions(sensor="nope", root="/nonexistent"),
                     RaplOptions(root="/nonexistent")], RealClock())
    assert [p.ok for p in results] == [False, False]
    assert "no sensor named 'nope'" in results[0].status


CONFIG = """\
name: t
models:
  - name: Qwen2.5-1.5B-Instruct
backends:
  - {name: sim, type: mock}
workloads:
  - {name: w, kind: throughput, prompt_tokens: 8, gen_tokens: 4}
meters:
"""


def test_sensors_command_with_config(tmp_path: Path, capsys: Any) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG + "  - {type: mock, rate_hz: 5}\n"
                   "  - {type: hwmon, sensor: ina260, root: /nonexistent, optional: true}\n")
    assert main(["sensors", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "mock" in out and "ina260" in out and "SoC temperature" in out


def test_sensors_bad_config_is_exit_2(tmp_path: Path, capsys: Any) -> None:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG + "  - {type: shelly}\n")
    assert main(["sensors", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "meters[0]" in err and "'host'" in err and len(err.strip().splitlines()) == 1
    assert main(["sensors", "--config", str(tmp_path / "missing.yaml")]) == 2
