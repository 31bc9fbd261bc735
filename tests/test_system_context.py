"""environment.json's ``system``: a Pi 5 shaped tree read whole; an x86 tree read as nulls with
their reasons; the CPU named from its part codes; the report's System section."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.meters.cpu import arm_part_name, cpu_description
from bench.meters.gencmd import open_gencmd
from bench.report.system import differences, system_section
from bench.results.system import ask_firmware, collect_system, decode_revision
from tests.fakes.pi5 import pi5_system_firmware, pi5_system_tree

X86_CPUINFO = "".join(
    f"processor\t: {i}\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n"
    "flags\t\t: fpu vme\n\n" for i in range(2))


def x86_tree(root: Path) -> Path:
    files = {"proc/cpuinfo": X86_CPUINFO, "proc/meminfo": "MemTotal:        4030000 kB\n",
             "etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
             "proc/sys/kernel/osrelease": "6.1.0-27-cloud-amd64\n"}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def no_firmware(command: str) -> str:
    raise RuntimeError("no VideoCore mailbox and no vcgencmd program here (not a Raspberry Pi)")


def test_revision_codes_decode_from_their_bit_fields() -> None:
    assert decode_revision("d04170") == {
        "type": "5", "processor": "BCM2712", "memory": "8GB", "manufacturer": "Sony UK",
        "revision": "1.0", "warranty_voided": False}
    pi4 = decode_revision("c03112")  # Pi 4B 4GB rev 1.2, Sony UK
    assert pi4 is not None and (pi4["type"], pi4["memory"], pi4["processor"],
                                pi4["revision"]) == ("4B", "4GB", "BCM2711", "1.2")
    cm5 = decode_revision("e04180")  # 16GB, type 0x18, Sony UK
    assert cm5 is not None and (cm5["type"], cm5["memory"]) == ("CM5", "16GB")
    assert decode_revision("a22082")["manufacturer"] == "Embest"  # type: ignore[index]
    assert decode_revision("0010") is None  # old-style code (bit 23 clear): no fields


def test_arm_part_codes_name_the_cores() -> None:
    assert arm_part_name(0x41, 0xD0B) == "Cortex-A76"
    assert arm_part_name(0x41, 0xD08) == "Cortex-A72"
    assert arm_part_name(0x41, 0xD03) == "Cortex-A53"
    assert arm_part_name(0x41, 0xD99) == "ARM part 0xd99"
    assert arm_part_name(0x51, 0xD0B) == "implementer 0x51 part 0xd0b"


def test_cpu_description_on_a_pi5_and_on_x86(tmp_path: Path) -> None:
    pi = pi5_system_tree(tmp_path / "pi")
    assert cpu_description(str(pi)) == "Cortex-A76 ×4, 2.4 GHz"
    x86 = x86_tree(tmp_path / "x86")
    assert cpu_description(str(x86)) == "Intel(R) Xeon(R) CPU @ 2.20GHz ×2"
    assert cpu_description(str(tmp_path / "nothing")) is None


def test_pi5_system_context_is_read_whole(tmp_path: Path) -> None:
    root = pi5_system_tree(tmp_path)
    fw = pi5_system_firmware()
    ask = open_gencmd("mailbox", ["vcgencmd"], io=fw)
    s = collect_system(str(root), ask=ask, argv=["pibench", "run", "configs/q.yaml"],
                       versions={"hailort": "5.1.1", "pibench": "0.9.0"}, commit="abc123")
    assert s["board_model"] == "Raspberry Pi 5 Model B Rev 1.0"
    assert s["board_revision"] == "d04170" and s["soc"] == "BCM2712"
    assert s["revision"]["memory"] == "8GB" and s["revision"]["type"] == "5"
    assert s["memory_total_mb"] == 8053
    assert s["os_release"] == "Debian GNU/Linux 12 (bookworm)"
    assert s["rpi_issue"] == "Raspberry Pi reference 2024-11-19"
    assert s["kernel"] == "6.6.62+rpt-rpi-2712"
    assert s["cpu"] == "Cortex-A76 ×4, 2.4 GHz" and s["cpu_governor"] == "ondemand"
    assert s["firmware"] == "2024/09/23 14:02:56, version 26826259 (release) (embedded)"
    assert s["bootloader"].startswith("2024/09/23 13:02:56, version 86d4c4ef")
    assert s["config"] == {"arm_boost": 1, "arm_freq": 2800, "arm_freq_min": 1500,
                           "core_freq": 910, "force_turbo": 0, "gpu_freq": 1000,
                           "over_voltage_delta": 50000, "sdram_freq": 4267}
    assert s["cooler"] == {"fan": "pwmfan", "rpm": 2712, "pwm": 75}
    assert s["pcie"] == {"device": "0001:01:00.0", "of": "Hailo device",
                         "speed": "8.0 GT/s PCIe", "width": 1, "max_speed": "8.0 GT/s PCIe",
                         "max_width": 1}
    assert s["hat"]["product"] == "AI HAT+ 2" and s["hat"]["vendor"] == "Raspberry Pi Ltd"
    assert s["hailo_driver"] == {"module": "hailo1x_pci", "version": "5.1.1"}
    assert s["hailort"] == "5.1.1" and s["pibench_version"] == "0.9.0"
    assert s["command_line"] == "pibench run configs/q.yaml"
    # the only null: the Hailo firmware, which needs the device opened
    assert s["unavailable"] == {"hailo_firmware": s["unavailable"]["hailo_firmware"]}
    assert "opening the device" in s["unavailable"]["hailo_firmware"]
    assert ("/dev/vcio_gencmd", "get_config int") in fw.calls


def test_x86_system_context_is_nulls_with_reasons(tmp_path: Path) -> None:
    root = x86_tree(tmp_path)
    s = collect_system(str(root), ask=no_firmware, argv=["/usr/bin/pibench", "run", "a b.yaml"],
                       versions={"hailort": None, "pibench": "0.9.0"}, commit=None)
    assert s["cpu"] == "Intel(R) Xeon(R) CPU @ 2.20GHz ×2" and s["memory_total_mb"] == 3936
    assert s["command_line"] == "pibench run 'a b.yaml'"
    nulls = {k for k, v in s.items() if v is None}
    assert nulls == set(s["unavailable"])  # every null has its reason, nothing else has one
    assert nulls >= {"board_model", "soc", "board_revision", "revision", "rpi_issue", "firmware",
                     "bootloader", "config", "cooler", "pcie", "hat", "hailort",
                     "hailo_driver", "hailo_firmware", "pibench_commit", "cpu_governor"}
    u = s["unavailable"]
    assert u["hat"] == "no /proc/device-tree/hat (no HAT with an EEPROM)"
    assert "not a Raspberry Pi" in u["firmware"] and "`vcgencmd version`" in u["firmware"]
    assert "chosen/bootloader" in u["bootloader"]
    assert "no pwmfan" in u["cooler"] and "no /sys/bus/pci/devices" in u["pcie"]


@pytest.mark.skipif(os.path.exists("/dev/vcio") or os.path.exists("/dev/vcio_gencmd"),
                    reason="a VideoCore mailbox exists here: this is the not-a-Pi case")
def test_firmware_questions_on_a_machine_without_firmware_give_a_reason() -> None:
    ask, _, close = ask_firmware()
    try:
        s = collect_system(ask=ask)
    finally:
        close()
    if s["firmware"] is None:  # a vcgencmd program may exist and answer; else the reason
        assert s["unavailable"]["firmware"].startswith("`vcgencmd version` failed")


def test_system_section_of_one_run_and_of_runs_that_differ(tmp_path: Path) -> None:
    pi = collect_system(str(pi5_system_tree(tmp_path / "pi")),
                        ask=open_gencmd("mailbox", ["vcgencmd"], io=pi5_system_firmware()),
                        argv=["pibench", "run", "c.yaml"], versions={"pibench": "0.9.0"})
    x86 = collect_system(str(x86_tree(tmp_path / "x86")), ask=no_firmware,
                         argv=["pibench", "run", "c.yaml"], versions={"pibench": "0.9.0"})
    one = system_section([("run-a", {"host": "pi-a", "system": pi})])
    assert one.startswith("## System")
    for text in ("pi-a", "Raspberry Pi 5 Model B Rev 1.0 (d04170: 5, 8GB, BCM2712, Sony UK",
                 "Cortex-A76 ×4, 2.4 GHz", "arm_freq=2800", "AI HAT+ 2", "pwmfan",
                 "8.0 GT/s PCIe x1", "hailo1x_pci 5.1.1", "`pibench run c.yaml`",
                 "Hailo firmware: n/a (not readable without opening the device"):
        assert text in one, text
    two = system_section([("run-a", {"host": "pi-a", "system": pi}),
                          ("run-b", {"host": "box", "system": x86})])
    assert "run-a" in two and "run-b" in two
    diff = differences([{"host": "pi-a", "system": pi}, {"host": "box", "system": x86}])
    assert "host" in diff and "board" in diff and "command line" not in diff
    # a run folder without environment.json: said, not skipped silently
    assert "no environment.json" in system_section([("old", {})])
    older = system_section([("old", {"host": "h", "board": "x"})])  # no "system" key
    assert "- board: n/a (recorded by an older pibench: no system context)" in older
    # a link trained below what the device can do is shown with its maximum
    slow = dict(pi, pcie={**pi["pcie"], "speed": "5.0 GT/s PCIe"})
    assert "5.0 GT/s PCIe x1 (Hailo device 0001:01:00.0, can do 8.0 GT/s PCIe x1)" in \
        system_section([("gen2", {"system": slow})])


def test_report_md_of_a_mock_run_has_a_system_section(write_config, tmp_path, cli) -> None:  # type: ignore[no-untyped-def]
    import platform

    from tests.conftest import SIM_CONFIG

    config = write_config(SIM_CONFIG, "a.yaml")
    code, _, _ = cli("run", config, "--output", tmp_path / "a", "--quiet")
    assert code == 0
    (run_a,) = (tmp_path / "a").iterdir()  # --output is the folder the run's folder goes in
    md = (run_a / "report.md").read_text()
    section = md[md.index("## System"):]
    assert f"- host: {platform.node()}" in section
    assert "- command line: `pibench run" in section and str(config) in section
    env = json.loads((run_a / "environment.json").read_text())
    assert set(env["system"]["unavailable"]) == {k for k, v in env["system"].items() if v is None}
    # two runs: the shared facts once, then one line per run with what differs
    code, _, _ = cli("run", config, "--output", tmp_path / "b", "--quiet")
    assert code == 0
    (run_b,) = (tmp_path / "b").iterdir()
    code, _, _ = cli("report", run_a, run_b, "--out", tmp_path / "rep")
    assert code == 0
    merged = (tmp_path / "rep" / "report.md").read_text()
    assert "Same in every run:" in merged and f"- host: {platform.node()}" in merged
    per_run = merged[merged.index("What differs, per run:"):]
    # two runs started in the same second share a folder name: then their whole paths
    same = run_a.name == run_b.name
    for run in (run_a, run_b):
        assert f"- `{run if same else run.name}`: command line `pibench run" in per_run


def test_settings_one_by_one_when_get_config_int_does_not_fit(tmp_path: Path) -> None:
    """The firmware fails `get_config int` with EINVAL when its answer exceeds the buffer
    (tests/fakes/vcio.py); then each speed setting is asked for alone."""
    root = pi5_system_tree(tmp_path)
    fw = pi5_system_firmware()
    fw.answers["get_config int"] = "x=1\n" * 2000
    fw.answers.update({"get_config arm_freq": "arm_freq=2400",
                       "get_config over_voltage_delta": "over_voltage_delta=0"})
    s = collect_system(str(root), ask=open_gencmd("mailbox", ["vcgencmd"], io=fw))
    assert s["config"] == {"arm_freq": 2400, "over_voltage_delta": 0}
    assert ("/dev/vcio_gencmd", "get_config sdram_freq") in fw.calls  # asked, unknown: left out
    fw.answers.pop("get_config arm_freq")
    fw.answers.pop("get_config over_voltage_delta")
    s = collect_system(str(root), ask=open_gencmd("mailbox", ["vcgencmd"], io=fw))
    assert s["config"] is None and "`vcgencmd get_config int` failed" in s["unavailable"]["config"]
