"""vcgencmd questions through the mailbox (device chosen as vcgencmd does) or a process."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import pytest

from bench.errors import MeterUnavailable, SensorGone
from bench.meters import gencmd
from bench.meters.gencmd import (
    GencmdFailed,
    MailboxUnavailable,
    ProcessGencmd,
    open_gencmd,
    open_mailbox,
    pack_request,
    take_warnings,
)
from bench.meters.health import BoardReader
from bench.meters.pmic import PmicMeter, PmicOptions, parse_pmic, rail_sum_watts
from tests.fakes.vcio import FakeDevice, FakeFirmware, pi5_devices

PMIC_OUTPUT = (Path(__file__).parent / "data" / "pmic_read_adc.txt").read_text()


@pytest.fixture(autouse=True)
def _no_stale_warnings() -> None:
    take_warnings()


def test_request_layout_word_by_word() -> None:
    buf = pack_request("get_throttled")
    words = struct.unpack(f"={len(buf) // 4}I", buf)
    # raspberrypi/utils vcgencmd.c gencmd(): (MAX_STRING >> 2) + 7 words, MAX_STRING 4096
    assert len(buf) == 4 * (4096 // 4 + 7) and words[0] == len(buf)
    assert words[1:6] == (0, 0x00030080, 4096, 0, 0)
    assert bytes(buf[24:38]) == b"get_throttled\0" and words[-1] == 0
    pack_request("x" * 4094)  # len + 1 >= MAX_STRING is refused, 4094 still goes
    with pytest.raises(GencmdFailed, match="4095 bytes: the limit is 4094"):
        pack_request("x" * 4095)


def test_root_only_vcio_and_readable_vcio_gencmd_give_mailbox_readings() -> None:
    fw = FakeFirmware({"get_throttled": "throttled=0x50000", "pmic_read_adc": PMIC_OUTPUT},
                      devices=pi5_devices(vcio=False, vcio_gencmd=True))
    m = PmicMeter(PmicOptions(), io=fw)
    m.check()
    assert m.describe()["transport"] == "mailbox /dev/vcio_gencmd"
    expected = rail_sum_watts(parse_pmic(PMIC_OUTPUT))
    assert [m.read_watts() for _ in range(3)] == [pytest.approx(expected)] * 3
    assert fw.calls == [("/dev/vcio_gencmd", "pmic_read_adc")] * 5  # start-up, check, 3 reads
    assert take_warnings() == []
    m.close()
    assert fw._open == {}


def test_vcio_gencmd_is_tried_first_and_vcio_is_the_fallback() -> None:
    both = FakeFirmware({"get_throttled": "throttled=0x0"})
    assert open_mailbox(io=both).device == "/dev/vcio_gencmd"
    old_kernel = FakeFirmware({"get_throttled": "throttled=0x0"},
                              devices={"/dev/vcio": FakeDevice()})
    g = open_gencmd("auto", ["vcgencmd"], io=old_kernel, check="get_throttled")
    assert g.transport == "mailbox /dev/vcio" and g("get_throttled") == "throttled=0x0"


def test_neither_device_readable_gives_one_warning_and_process_readings() -> None:
    fw = FakeFirmware({"pmic_read_adc": PMIC_OUTPUT, "get_throttled": "throttled=0x0",
                       "measure_temp": "temp=50.0'C"},
                      devices=pi5_devices(vcio=False, vcio_gencmd=False))
    # the process runs with rights this one lacks (e.g. a sudoers rule for vcgencmd)
    def run(argv: Sequence[str]) -> str:
        return fw.vcgencmd(argv, devices=pi5_devices())

    m = PmicMeter(PmicOptions(), io=fw, run=run)
    m.check()
    assert m.describe()["transport"] == "vcgencmd"
    assert m.read_watts() == pytest.approx(rail_sum_watts(parse_pmic(PMIC_OUTPUT)))
    r = BoardReader(io=fw, run=run, sysfs_root="/nonexistent")
    assert r.probe()["throttle"] == "vcgencmd get_throttled (vcgencmd)"
    (warning,) = take_warnings()  # pmic and health fell back: one warning
    assert "/dev/vcio_gencmd: permission denied" in warning
    assert "/dev/vcio: permission denied" in warning
    assert "usermod -aG video" in warning and "udev rule" in warning
    assert "one vcgencmd process per reading: a fork and an exec" in warning
    assert "\n" not in warning


def test_vcgencmd_without_rights_fails_with_the_same_fix() -> None:
    fw = FakeFirmware({"pmic_read_adc": PMIC_OUTPUT},
                      devices=pi5_devices(vcio=False, vcio_gencmd=False))
    m = PmicMeter(PmicOptions(), io=fw, run=fw.vcgencmd)
    with pytest.raises(MeterUnavailable) as err:
        m.check()
    msg = str(err.value)
    assert "Can't open device file: /dev/vcio_gencmd" in msg and "usermod -aG video" in msg
    assert "\n" not in msg


def test_forced_mailbox_names_each_device_and_the_fix() -> None:
    fw = FakeFirmware({}, devices={"/dev/vcio": FakeDevice(readable=False)})
    m = PmicMeter(PmicOptions(transport="mailbox"), io=fw)
    with pytest.raises(MeterUnavailable) as err:
        m.check()
    msg = str(err.value)
    assert msg.startswith("pi5-pmic: no mailbox device opens (/dev/vcio_gencmd: missing;"
                          " /dev/vcio: permission denied")
    assert "update the kernel for /dev/vcio_gencmd" in msg and "\n" not in msg
    nothing = FakeFirmware({}, devices={})
    with pytest.raises(MailboxUnavailable, match="not a Raspberry Pi"):
        open_mailbox(io=nothing)
    custom = PmicMeter(PmicOptions(transport="mailbox", command="/opt/wrapper"))
    with pytest.raises(MeterUnavailable, match="transport mailbox sends `pmic_read_adc`"):
        custom.check()


def test_a_firmware_that_leaves_word_4_clear_still_works() -> None:
    for sets_word4 in (False, True):
        fw = FakeFirmware({"measure_clock arm": "frequency(0)=1500000000"},
                          sets_word4=sets_word4)
        g = open_mailbox(io=fw)
        buf = pack_request("measure_clock arm")  # answer: 23 characters + NUL
        fw.ioctl(g._fd, gencmd.IOCTL_MBOX_PROPERTY, buf)  # type: ignore[arg-type]
        assert struct.unpack_from("=I", buf, 16)[0] == (0x80000018 if sets_word4 else 0)
        assert g("measure_clock arm") == "frequency(0)=1500000000"


def test_an_answer_larger_than_the_buffer_is_one_clear_error() -> None:
    fw = FakeFirmware({"get_config int": "x" * 4096, "get_throttled": "throttled=0x0"})
    g = open_mailbox(io=fw)
    with pytest.raises(GencmdFailed) as err:
        g("get_config int")
    msg = str(err.value)
    assert "`get_config int`" in msg and "EINVAL" in msg and "4096-byte buffer" in msg
    assert "\n" not in msg
    assert g("get_throttled") == "throttled=0x0"  # the device stays usable
    # vcgencmd itself prints the ioctl failure and exits 0: the process reader sees it too
    p = ProcessGencmd(["vcgencmd"], run=fw.vcgencmd)
    with pytest.raises(GencmdFailed, match="`get_config int`: ioctl_set_msg failed:-1"):
        p("get_config int")


def test_unknown_command_is_minus_one_and_the_firmware_text() -> None:
    fw = FakeFirmware({"get_throttled": "throttled=0x0"})
    g = open_mailbox(io=fw)
    with pytest.raises(GencmdFailed, match='error -1 for `pmic_read_adx`: error=1 error_msg='
                                           '"Command not registered"'):
        g("pmic_read_adx")
    with pytest.raises(Exception, match="exited 255: vc_gencmd_read_response returned -1"):
        ProcessGencmd(["vcgencmd"], run=fw.vcgencmd)("pmic_read_adx")


def test_failing_start_up_check_falls_back_to_the_process_for_the_run() -> None:
    class BrokenFirmware(FakeFirmware):
        def ioctl(self, fd: int, request: int, buf: bytearray) -> int:
            raise OSError(5, "Input/output error")

    fw = BrokenFirmware({"pmic_read_adc": PMIC_OUTPUT})
    argvs: list[list[str]] = []

    def run(argv: Sequence[str]) -> str:
        argvs.append(list(argv))
        return PMIC_OUTPUT

    m = PmicMeter(PmicOptions(), io=fw, run=run)
    m.check()
    m.read_watts()
    assert m.describe()["transport"] == "vcgencmd" and len(argvs) == 2
    (warning,) = take_warnings()
    assert "start-up question through /dev/vcio_gencmd failed" in warning
    assert "for this run" in warning and fw._open == {}
    # an unknown command is the firmware's answer, not a broken transport: no fallback
    fw2 = FakeFirmware({})
    g = open_gencmd("auto", ["vcgencmd"], io=fw2, check="pmic_read_adc")
    assert g.transport == "mailbox /dev/vcio_gencmd" and take_warnings() == []


def test_vcio_gencmd_refuses_other_tags() -> None:
    fw = FakeFirmware({})
    fd = fw.open("/dev/vcio_gencmd")
    buf = bytearray(struct.pack("=6I", 24, 0, 0x00010004, 8, 0, 0) + b"\0" * 4)  # get serial
    buf[0:4] = struct.pack("=I", len(buf))
    with pytest.raises(PermissionError):
        fw.ioctl(fd, gencmd.IOCTL_MBOX_PROPERTY, buf)


def test_custom_command_and_forced_process_never_use_the_mailbox() -> None:
    fw = FakeFirmware({"pmic_read_adc": PMIC_OUTPUT})
    assert isinstance(open_gencmd("auto", ["/opt/my-pmic-wrapper"], io=fw), ProcessGencmd)
    assert isinstance(open_gencmd("vcgencmd", ["vcgencmd"], io=fw), ProcessGencmd)
    assert fw.calls == [] and take_warnings() == []


def test_pmic_reading_with_a_rail_missing_is_a_gap() -> None:
    cut = "\n".join(ln for ln in PMIC_OUTPUT.splitlines() if "VDD_CORE_V" not in ln)
    fw = FakeFirmware({"pmic_read_adc": PMIC_OUTPUT})
    m = PmicMeter(PmicOptions(transport="mailbox"), io=fw)
    m.check()
    fw.answers["pmic_read_adc"] = cut
    with pytest.raises(SensorGone, match="rails missing from a reading: VDD_CORE"):
        m.read_watts()


def test_board_reader_asks_through_the_mailbox(tmp_path: Path) -> None:
    fw = FakeFirmware({"get_throttled": "throttled=0x4", "measure_temp": "temp=61.5'C",
                       "measure_clock arm": "frequency(0)=1800000000"})
    r = BoardReader(sysfs_root=str(tmp_path), io=fw)
    src = r.probe()
    assert src["temp"] == "vcgencmd measure_temp (mailbox /dev/vcio_gencmd)"
    assert src["clock"] == "vcgencmd measure_clock arm (mailbox /dev/vcio_gencmd)"
    assert src["throttle"] == "vcgencmd get_throttled (mailbox /dev/vcio_gencmd)"
    assert src["requested_clock"] is None and src["fan"] is None and src["ext5v"] is None
    assert (r.temp_c(), r.arm_mhz(), r.throttled()) == (61.5, 1800.0, 0x4)
    r.close()


def test_the_default_rate_follows_the_transport_and_is_recorded() -> None:
    from bench.meters.pmic import DEFAULT_RATE_HZ

    fw = FakeFirmware({"get_throttled": "throttled=0x0", "pmic_read_adc": PMIC_OUTPUT})
    mailbox = PmicMeter(PmicOptions(), io=fw)
    assert mailbox.rate_hz == DEFAULT_RATE_HZ["vcgencmd"]  # transport unknown: the lower one
    mailbox.check()
    # the process's rate is the lower: a fork and an exec per reading on the measured cores
    assert DEFAULT_RATE_HZ["vcgencmd"] < DEFAULT_RATE_HZ["mailbox"]
    process = PmicMeter(PmicOptions(transport="vcgencmd"), io=fw, run=fw.vcgencmd)
    process.check()
    configured = PmicMeter(PmicOptions(transport="vcgencmd", rate_hz=3), io=fw,
                           run=fw.vcgencmd)
    configured.check()
    for meter, rate, basis in (
            (mailbox, DEFAULT_RATE_HZ["mailbox"], "default for the mailbox transport"),
            (process, DEFAULT_RATE_HZ["vcgencmd"], "default for the vcgencmd transport"),
            (configured, 3.0, "configured (rate_hz)")):
        with meter.track() as rec:  # the sampling thread runs at the meter's rate
            pass
        assert rec.rate_hz == rate and rec.meta["rate_basis"].startswith(basis), rec.meta
        assert rec.meta["transport"] == meter.describe()["transport"]
        meter.close()
    take_warnings()
