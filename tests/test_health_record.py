"""Run records of a Pi 5 shaped machine (fake file tree, fake kernel and firmware)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.meters import gencmd
from bench.results.environment import cpu_model
from bench.runner.session import Filters, start_run
from tests.conftest import SIM_CONFIG
from tests.fakes.pi5 import CPUINFO, pi5_firmware, pi5_tree
from tests.fakes.vcio import FakeFirmware, pi5_devices


def _run(write_config: Any, tmp_path: Path, fw: FakeFirmware,
         monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    root = pi5_tree(tmp_path / "pi5", requested_khz=2400000, fan_rpm=3120, fan_pwm=125)
    monkeypatch.setattr(gencmd, "OsMailboxIO", lambda: fw)  # the fake kernel behind os.open
    gencmd.take_warnings()
    cfg = write_config(SIM_CONFIG + f"health: {{sysfs_root: '{root}'}}\n")
    result = start_run(cfg, Filters(backends=["cpu"], workloads=["pp100-tg50"],
                                    models=["Qwen2-1.5B-Instruct"]),
                       output_dir=tmp_path / "out", quiet=True)
    assert result.exit_code == 0
    return list(result.run_dir.cases())


def test_pi5_records_carry_soc_revision_fan_ext5v_and_the_real_clock(
        write_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fw = pi5_firmware(arm_hz=1500000000, throttled=0x60006, ext5v=4.912,
                      devices=pi5_devices(vcio=False, vcio_gencmd=True))
    (rec,) = _run(write_config, tmp_path, fw, monkeypatch)
    h = rec["health"]
    assert h["board"]["soc"] == "BCM2712" and h["board"]["revision"] == "d04170"
    assert h["fan_rpm_mean"] == 3120.0 and h["fan_pwm_max"] == 125.0
    assert h["ext5v_v_min"] == pytest.approx(4.912)
    assert h["arm_mhz_min"] == 1500.0 and h["arm_requested_mhz_min"] == 2400.0
    assert h["sources"]["throttle"] == "vcgencmd get_throttled (mailbox /dev/vcio_gencmd)"
    assert "throttled" in rec["labels"]
    assert {path for path, _ in fw.calls} == {"/dev/vcio_gencmd"}


def test_sticky_bits_with_failed_polls_label_the_case(
        write_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class FlakyFirmware(FakeFirmware):
        """Answers get_throttled with sticky bits set; the 3rd answer onwards fails."""

        asked = 0

        def _firmware(self, path: str, msg: bytearray, size: int) -> None:
            if b"get_throttled" in bytes(msg[24:40]):
                self.asked += 1
                if self.asked > 3:
                    self.answers["get_throttled"] = "garbled"
            super()._firmware(path, msg, size)

    fw = FlakyFirmware(dict(pi5_firmware(throttled=0x50000).answers))
    (rec,) = _run(write_config, tmp_path, fw, monkeypatch)
    h = rec["health"]
    assert h["throttle_history"] == "unknown" and h["throttled"] is False
    assert "throttle history unknown" in rec["labels"] and "throttled" not in rec["labels"]


def test_environment_cpu_is_never_the_hard_coded_bcm2835(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bench.results import environment

    monkeypatch.setattr(environment, "_read",
                        lambda path: CPUINFO if path == "/proc/cpuinfo" else None)
    assert cpu_model() == "Raspberry Pi 5 Model B Rev 1.0"
