"""`pibench doctor` against a saved machine folder and the fake hailo_platform (HailoRT 5.1.1
and 5.2.0, which follow HailoRT's source), and against deliberately divergent runtimes, for
which it must name the divergence."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.doctor import system as board
from bench.doctor.result import all_hold, render, write_bundle
from bench.doctor.run import diagnose
from bench.doctor.system import System
from tests.conftest import hailo_fake
from tests.fakes.pi5 import pi5_firmware, pi5_tree
from tests.fakes.vcio import FakeFirmware, pi5_devices

# What a Pi 5 firmware answers `pmic_read_adc` (real-shaped: ../shared/reference/telemetry.md,
# several real captures; raspberrypi/utils vcgencmd/vcgencmd.c at a30e7c7, main(), prints the
# firmware's text as it comes), shared with the pi5-pmic meter's tests.
PMIC = (Path(__file__).parent / "data" / "pmic_read_adc.txt").read_text()


@pytest.fixture(params=["5.1.1", "5.2.0"])
def fake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with hailo_fake(monkeypatch, request.param) as fake_module:
        yield fake_module


def machine(tmp_path: Path, driver: str = "5.1.1", throttled: str = "0x0",
            holder: str | None = None, firmware: FakeFirmware | None = None,
            **system: Any) -> System:
    """A Pi 5 (tests/fakes/pi5.py: its files, the pwmfan fan; its firmware behind the fake
    vcio devices of tests/fakes/vcio.py) with the AI HAT+ 2's driver and device node."""
    root = pi5_tree(tmp_path / "root")
    (root / "dev").mkdir(parents=True)
    (root / "dev" / "hailo0").write_text("")
    mod = root / "sys/module/hailo1x_pci"
    mod.mkdir(parents=True)
    (mod / "version").write_text(driver + "\n")
    if holder:
        pid = root / "proc/4242"
        (pid / "fd").mkdir(parents=True)
        (pid / "comm").write_text(holder + "\n")
        os.symlink("/dev/hailo0", pid / "fd/7")
    if firmware is None:
        firmware = pi5_firmware(throttled=int(throttled, 16))
        firmware.answers["pmic_read_adc"] = PMIC
    return System(root=root, io=firmware, **system)


def _by_name(checks: list[Any]) -> dict[str, Any]:
    return {c.name: c for c in checks}


def test_everything_holds_on_a_faithful_runtime(fake: Any, tmp_path: Path) -> None:
    hef = fake.write_hef(tmp_path / "Qwen2-1.5B-Instruct.hef")
    system = machine(tmp_path, driver=fake.STATE.version)
    checks = diagnose(system, hef, tokens=8)
    assert all_hold(checks), render(checks)
    gen = _by_name(checks)["generation"]
    assert gen.data["tokens_counted"] == 8 and gen.data["final_status"] == "MAX_TOKENS_REACHED"
    assert gen.data["recovery_items"] == ["<|im_end|>"]
    assert gen.data["tokenize_of_text"] == 8 and gen.data["read_after_end"].startswith("raised")
    # the model's stop tokens are put back after the exact-length check, and a chat ends
    assert ("set_stop_tokens", {"stop_tokens": ["<|im_end|>"]}) in fake.STATE.calls
    assert gen.data["chat"]["final_status"] == "LOGICAL_END_OF_GENERATION"
    assert gen.data["chat"]["end_item"] == "<|im_end|>"
    assert fake.STATE.open_llms == 0 and fake.STATE.open_vdevices == 0


def test_default_hef_is_found_in_the_cache_folder(fake: Any, tmp_path: Path) -> None:
    fake.write_hef(tmp_path / "Qwen2.5-1.5B-Instruct.hef")
    checks = diagnose(machine(tmp_path, driver=fake.STATE.version), None, tokens=4,
                      hef_dir=tmp_path)
    assert _by_name(checks)["generation"].data["hef"].endswith("Qwen2.5-1.5B-Instruct.hef")


def test_no_hef_skips_the_generation_with_the_way_to_give_one(fake: Any, tmp_path: Path
                                                              ) -> None:
    checks = diagnose(machine(tmp_path, driver=fake.STATE.version), None, tokens=4,
                      hef_dir=tmp_path / "empty")
    gen = _by_name(checks)["generation"]
    assert gen.status == "skipped" and "--hef" in (gen.fix or "")


def test_device_held_by_hailo_ollama_names_the_stop_command(fake: Any, tmp_path: Path) -> None:
    hef = fake.write_hef(tmp_path / "m.hef")
    checks = diagnose(machine(tmp_path, driver=fake.STATE.version, holder="hailo-ollama"), hef,
                      tokens=4)
    free = _by_name(checks)["free"]
    assert free.status == "failed" and "hailo-ollama (pid 4242)" in free.detail
    assert "systemctl stop hailo-ollama" in (free.fix or "")
    assert _by_name(checks)["generation"].status == "skipped"
    assert not all_hold(checks)


def test_driver_and_hailort_versions_must_match(fake: Any, tmp_path: Path) -> None:
    checks = diagnose(machine(tmp_path, driver="5.0.1"), None, tokens=4, hef_dir=tmp_path)
    driver = _by_name(checks)["driver"]
    assert driver.status == "failed"
    assert f"5.0.1 does not match HailoRT {fake.STATE.version}" in driver.detail


def test_under_voltage_is_a_failure_with_its_fix(fake: Any, tmp_path: Path) -> None:
    checks = diagnose(machine(tmp_path, driver=fake.STATE.version, throttled="0x50005"), None,
                      tokens=4, hef_dir=tmp_path)
    t = _by_name(checks)["throttle"]
    assert t.status == "failed" and "under-voltage now" in t.detail and "27 W" in (t.fix or "")
    assert _by_name(checks)["pmic"].status == "ok"


def test_hailort_501_signatures_are_named(fake: Any, tmp_path: Path) -> None:
    fake.set_version("5.0.1")
    checks = diagnose(machine(tmp_path, driver="5.0.1"), None, tokens=4, hef_dir=tmp_path)
    by = _by_name(checks)
    assert by["hailort"].status == "failed" and "needs >= 5.1.0" in by["hailort"].detail
    assert "LLM.__init__ lacks optimize_memory_on_device" in by["signatures"].detail


def test_divergent_runtime_ignoring_set_stop_tokens_is_named(fake: Any, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    from hailo_platform.pyhailort import _llm

    # a runtime where set_stop_tokens([]) does not remove the end of sentence (as the old
    # reference claimed): the model ends after 3 tokens
    monkeypatch.setattr(_llm.GenAIModel, "set_stop_tokens", lambda self, tokens: None)
    fake.STATE.default_script = fake.Script(tokens=[" one", " two", " three"])
    hef = fake.write_hef(tmp_path / "m.hef")
    checks = diagnose(machine(tmp_path, driver=fake.STATE.version), hef, tokens=8)
    gen = _by_name(checks)["generation"]
    assert gen.status == "failed"
    assert "ended with LOGICAL_END_OF_GENERATION after 4 items" in gen.detail
    assert "end of generation was not removed" in gen.detail


def test_divergent_runtime_merging_items_is_named(fake: Any, tmp_path: Path) -> None:
    # a runtime whose items carry two tokens each (merged pieces): counting items undercounts
    fake.STATE.default_script = fake.Script(tokens=[" one two"] * 16)
    hef = fake.write_hef(tmp_path / "m.hef")
    checks = diagnose(machine(tmp_path, driver=fake.STATE.version), hef, tokens=8)
    gen = _by_name(checks)["generation"]
    assert gen.status == "failed" and "tokenize() of the text gives 16 tokens for 8 items" in \
        gen.detail


def test_bundle_is_written_without_overwriting(fake: Any, tmp_path: Path) -> None:
    hef = fake.write_hef(tmp_path / "m.hef")
    checks = diagnose(machine(tmp_path, driver=fake.STATE.version), hef, tokens=4)
    first = write_bundle(checks, tmp_path / "out" / "doctor.json")
    second = write_bundle(checks, tmp_path / "out" / "doctor.json")
    assert first.name == "doctor.json" and second.name == "doctor-2.json"
    data = json.loads(first.read_text())
    assert data["schema"] == 1 and data["ok"] is True
    assert [c["name"] for c in data["checks"]] == [
        "hailort", "driver", "device", "free", "signatures", "generation", "pmic", "throttle",
        "fan"]
    gen = next(c for c in data["checks"] if c["name"] == "generation")
    assert len(gen["data"]["items"]) == 5 and gen["data"]["items"][-1]["text"] == "<|im_end|>"


def test_doctor_here_without_hailort_says_so_in_one_screen(tmp_path: Path) -> None:
    from tests.conftest import run_pibench

    r = run_pibench("doctor", "--out", str(tmp_path / "b.json"))
    if "ok    hailort" in r.stdout:
        pytest.skip("HailoRT is installed here")
    assert r.returncode == 1 and not r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) <= 24
    assert lines[0].startswith("FAIL  hailort") and "not installed" in lines[0]
    assert any(line.startswith("FAIL  device") for line in lines)
    assert json.loads((tmp_path / "b.json").read_text())["ok"] is False


def test_divergent_runtime_losing_the_restored_stop_tokens_is_named(
        fake: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hailo_platform.pyhailort import _llm

    # a runtime where putting the stop tokens back by their text does not work
    real = _llm.GenAIModel.set_stop_tokens

    def set_stop_tokens(self: Any, tokens: list[str]) -> None:
        real(self, [t + " " for t in tokens])  # re-tokenized into something else

    monkeypatch.setattr(_llm.GenAIModel, "set_stop_tokens", set_stop_tokens)
    fake.STATE.default_script = fake.Script(tokens=[" Yes"], eos=True)
    hef = fake.write_hef(tmp_path / "m.hef")
    checks = diagnose(machine(tmp_path, driver=fake.STATE.version), hef, tokens=4)
    gen = _by_name(checks)["generation"]
    assert gen.status == "failed" and "did not end within 64 tokens" in gen.detail
    # the model's own end token, generated while no stop token was set, is a token, not a fault
    assert "left in the counted text" not in gen.detail


@pytest.mark.parametrize("transport", ["auto", "vcgencmd"])
def test_board_checks_read_through_the_meters_transport(tmp_path: Path, transport: str) -> None:
    fw = pi5_firmware(throttled=0x50000)
    fw.answers["pmic_read_adc"] = PMIC
    system = machine(tmp_path, firmware=fw, transport=transport, run=fw.vcgencmd)
    try:
        pmic, throttle, fan = (board.pmic(system), board.throttle(system), board.fan(system))
    finally:
        system.close()
    via = "mailbox /dev/vcio_gencmd" if transport == "auto" else "vcgencmd"
    assert (pmic.status, pmic.detail) == (
        "ok", f"12 rails through {via} (note: they miss the HAT's 5 V draw)")
    assert pmic.data == {"readings": 12}
    # bits 16 and 18 (raspberrypi/utils vcgencmd/vcgencmd.1: "has occurred"), named as the
    # health monitor names them in records
    assert (throttle.status, throttle.detail) == (
        "ok", "0x50000: under-voltage has occurred, throttled has occurred")
    assert (fan.status, fan.data) == ("ok", {"rpm": 2712.0, "pwm": 75.0})
    # every answer came from the firmware, through the devices the meters open
    assert {c for _, c in fw.calls} >= {"pmic_read_adc", "get_throttled"}


def test_no_fan_is_named_with_its_fix(tmp_path: Path) -> None:
    system = machine(tmp_path)
    (system.root / "sys/class/hwmon/hwmon2/name").write_text("something-else\n")
    fan = board.fan(system)
    system.close()
    assert fan.status == "failed" and "Active Cooler" in (fan.fix or "")


def _firmware(state: str) -> FakeFirmware:
    fw = pi5_firmware(devices=pi5_devices(vcio=False, vcio_gencmd=state != "no device"))
    if state == "rails":
        fw.answers["pmic_read_adc"] = PMIC
    elif state == "volts only":  # a firmware answering with EXT5V_V and BATT_V only
        fw.answers["pmic_read_adc"] = "".join(
            line + "\n" for line in PMIC.splitlines() if "_V volt" in line and
            line.split()[0] in ("EXT5V_V", "BATT_V"))
    return fw  # "unknown command": the firmware's -1 (tests/fakes/vcio.py NOT_REGISTERED)


@pytest.mark.parametrize("state", ["rails", "volts only", "unknown command", "no device"])
def test_doctor_and_the_meter_cannot_disagree(tmp_path: Path, state: str) -> None:
    from bench.errors import MeterUnavailable
    from bench.meters.gencmd import take_warnings
    from bench.meters.pmic import PmicMeter, PmicOptions

    fw = _firmware(state)
    meter = PmicMeter(PmicOptions(), run=fw.vcgencmd, io=fw)
    try:
        meter.check()
        why = None
    except MeterUnavailable as exc:
        why = str(exc)
    finally:
        meter.close()
    system = machine(tmp_path, firmware=_firmware(state), run=fw.vcgencmd)
    check = board.pmic(system)
    take_warnings()
    assert (check.status == "ok") == (why is None) == (state == "rails"), (check, why)
    if why is not None:
        assert check.detail == why and check.fix
