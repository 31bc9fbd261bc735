"""vcgencmd questions through the mailbox (one ioctl, device opened once) or a process."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import pytest

from bench.errors import MeterUnavailable, SensorGone
from bench.meters.gencmd import (
    GencmdFailed,
    MailboxGencmd,
    ProcessGencmd,
    open_gencmd,
    pack_request,
)
from bench.meters.health import BoardReader
from bench.meters.pmic import PmicMeter, PmicOptions, parse_pmic, rail_sum_watts
from tests.fakes.vcio import FakeFirmware

PMIC_OUTPUT = (Path(__file__).parent / "data" / "pmic_read_adc.txt").read_text()


@pytest.fixture
def device(tmp_path: Path) -> str:
    dev = tmp_path / "vcio"  # any file opens; the fake firmware answers the ioctl
    dev.write_bytes(b"")
    return str(dev)


def test_request_layout_word_by_word() -> None:
    buf = pack_request("get_throttled")
    words = struct.unpack(f"={len(buf) // 4}I", buf)
    assert len(buf) == 24 + 1024 + 4 and words[0] == len(buf)
    assert words[1:6] == (0, 0x00030080, 1024, 0, 0)
    assert bytes(buf[24:38]) == b"get_throttled\0" and words[-1] == 0
    with pytest.raises(GencmdFailed, match="longer than the 1024-byte buffer"):
        pack_request("x" * 1024)


def test_mailbox_answers_and_keeps_one_descriptor(device: str) -> None:
    fw = FakeFirmware({"get_throttled": "throttled=0x50000", "pmic_read_adc": PMIC_OUTPUT})
    g = MailboxGencmd(device, ioctl=fw.ioctl)
    assert g("get_throttled") == "throttled=0x50000"
    for _ in range(3):
        assert g("pmic_read_adc") == PMIC_OUTPUT
    assert len({fd for fd, _ in fw.calls}) == 1 and len(fw.calls) == 4
    g.close()
    with pytest.raises(GencmdFailed, match="closed"):
        g("get_throttled")


def test_mailbox_firmware_error_and_cut_off_answer(device: str) -> None:
    fw = FakeFirmware({"long": "x" * 2000})
    g = MailboxGencmd(device, ioctl=fw.ioctl)
    with pytest.raises(GencmdFailed, match="error 1 for `pmic_read_adx`: error=1"):
        g("pmic_read_adx")
    with pytest.raises(GencmdFailed, match="filled the 1024-byte buffer"):
        g("long")


def test_pmic_meter_through_the_mailbox(device: str) -> None:
    fw = FakeFirmware({"pmic_read_adc": PMIC_OUTPUT})
    m = PmicMeter(PmicOptions(transport="mailbox", device=device), ioctl=fw.ioctl)
    m.check()
    expected = rail_sum_watts(parse_pmic(PMIC_OUTPUT))
    assert [m.read_watts() for _ in range(3)] == [pytest.approx(expected)] * 3
    assert m.describe()["transport"] == "mailbox"
    assert [c for _, c in fw.calls] == ["pmic_read_adc"] * 4
    m.close()


def test_pmic_auto_prefers_mailbox_then_falls_back_to_the_process(device: str,
                                                                   tmp_path: Path) -> None:
    fw = FakeFirmware({"pmic_read_adc": PMIC_OUTPUT})
    m = PmicMeter(PmicOptions(device=device), ioctl=fw.ioctl)
    m.check()
    assert m.describe()["transport"] == "mailbox"

    argvs: list[list[str]] = []

    def run(argv: Sequence[str]) -> str:
        argvs.append(list(argv))
        return PMIC_OUTPUT

    missing = str(tmp_path / "no-vcio")
    m2 = PmicMeter(PmicOptions(device=missing), run=run)
    m2.check()
    assert m2.describe()["transport"] == "vcgencmd" and argvs == [["vcgencmd", "pmic_read_adc"]]
    # a custom command is run as given, never replaced by the mailbox
    g = open_gencmd("auto", ["/opt/my-pmic-wrapper"], device=device, ioctl=fw.ioctl)
    assert isinstance(g, ProcessGencmd)


def test_pmic_mailbox_missing_device_is_one_line(tmp_path: Path) -> None:
    m = PmicMeter(PmicOptions(transport="mailbox", device=str(tmp_path / "vcio")))
    with pytest.raises(MeterUnavailable) as err:
        m.check()
    assert str(err.value).startswith("pi5-pmic: ") and "vcio not found" in str(err.value)
    assert "\n" not in str(err.value)
    custom = PmicMeter(PmicOptions(transport="mailbox", command="/opt/wrapper"))
    with pytest.raises(MeterUnavailable, match="transport mailbox sends `pmic_read_adc`"):
        custom.check()


def test_pmic_reading_with_a_rail_missing_is_a_gap(device: str) -> None:
    cut = "\n".join(ln for ln in PMIC_OUTPUT.splitlines() if "VDD_CORE_V" not in ln)
    fw = FakeFirmware({"pmic_read_adc": PMIC_OUTPUT})
    m = PmicMeter(PmicOptions(transport="mailbox", device=device), ioctl=fw.ioctl)
    m.check()
    fw.answers["pmic_read_adc"] = cut
    with pytest.raises(SensorGone, match="rails missing from a reading: VDD_CORE"):
        m.read_watts()


def test_board_reader_asks_through_the_mailbox(device: str, tmp_path: Path) -> None:
    fw = FakeFirmware({"get_throttled": "throttled=0x4", "measure_temp": "temp=61.5'C",
                       "measure_clock arm": "frequency(0)=1800000000"})
    r = BoardReader(sysfs_root=str(tmp_path), device=device, ioctl=fw.ioctl)
    src = r.probe()
    assert src == {"temp": "vcgencmd measure_temp (mailbox)",
                   "clock": "vcgencmd measure_clock arm (mailbox)",
                   "throttle": "vcgencmd get_throttled (mailbox)"}
    assert (r.temp_c(), r.arm_mhz(), r.throttled()) == (61.5, 1800.0, 0x4)
    r.close()
