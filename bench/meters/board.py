"""Raspberry Pi board readings: what the board is, and what it reads now.

Identity (read once):
- SoC from /proc/device-tree/compatible (NUL-separated; "brcm,bcm2712" on a Pi 5, as
  raspberrypi/linux arch/arm64/boot/dts/broadcom/bcm2712-rpi-5-b.dts declares), else from
  the revision code (new-style codes, bit 23 set: processor in bits 12-15; Raspberry Pi
  documentation "Raspberry Pi revision codes"). /proc/cpuinfo's `Hardware : BCM2835` is
  hard-coded by the kernel and never used.
- revision code: the `Revision` line of /proc/cpuinfo (e.g. d04170).

Readings (``BoardReader``; each returns None when unavailable):
- temperature: /sys/class/thermal/thermal_zone0/temp (millidegrees C), else
  ``vcgencmd measure_temp`` -> ``temp=46.2'C``;
- ARM clock: ``vcgencmd measure_clock arm`` -> ``frequency(0)=1500000000`` (Hz), the clock
  the firmware runs. /sys/.../cpu0/cpufreq/scaling_cur_freq (kHz) is only the clock the
  kernel *requested* (the firmware caps without telling the governor: raspberrypi/linux
  issues 2512, 2986), kept apart as ``arm_requested_mhz``;
- ``vcgencmd get_throttled`` -> ``throttled=0x50000`` (bits: see bench.meters.health);
- fan: the ``pwmfan`` hwmon device (drivers/hwmon/pwm-fan.c registers that name; on a Pi 5
  ``fan1_input`` is the RPM the RP1 counts, ``pwm1`` the duty 0-255);
- 5 V input: ``vcgencmd pmic_read_adc EXT5V_V`` (Pi 5), which sags under load.
vcgencmd questions go through bench.meters.gencmd (mailbox, else one process each).
"""

from __future__ import annotations

import os
import re
import shlex
from typing import TypedDict

from bench.meters.gencmd import Gencmd, MailboxIO, Transport, open_gencmd
from bench.meters.pmic import ext5v_volts
from bench.meters.sources import ReadText, RunCommand, read_text

SOC_BY_PROCESSOR = {0: "BCM2835", 1: "BCM2836", 2: "BCM2837", 3: "BCM2711", 4: "BCM2712"}
"""Processor field of a new-style revision code (Raspberry Pi documentation)."""


class BoardFacts(TypedDict):
    model: str | None
    """/proc/device-tree/model, e.g. "Raspberry Pi 5 Model B Rev 1.0"."""
    soc: str | None
    """e.g. "BCM2712"; null when neither source says."""
    soc_source: str | None
    """"device tree compatible" or "revision code"."""
    revision: str | None
    """The revision code, hex as /proc/cpuinfo prints it (e.g. "d04170")."""


def parse_temp(text: str) -> float | None:
    m = re.search(r"temp=([-0-9.]+)", text)
    return float(m.group(1)) if m else None


def parse_clock_hz(text: str) -> float | None:
    m = re.search(r"frequency\(\d+\)=(\d+)", text)
    return float(m.group(1)) if m else None


def parse_throttled(text: str) -> int | None:
    m = re.search(r"throttled=(0x[0-9a-fA-F]+|\d+)", text)
    return int(m.group(1), 0) if m else None


def parse_revision(cpuinfo: str) -> str | None:
    m = re.search(r"^Revision\s*:\s*([0-9a-fA-F]+)\s*$", cpuinfo, re.MULTILINE)
    return m.group(1).lower() if m else None


def soc_from_compatible(compatible: str) -> str | None:
    """ "brcm,bcm2712" among the NUL-separated strings -> "BCM2712"."""
    for entry in compatible.split("\0"):
        m = re.fullmatch(r"brcm,(bcm\d{4})", entry.strip())
        if m:
            return m.group(1).upper()
    return None


def soc_from_revision(revision: str) -> str | None:
    code = int(revision, 16)
    if not code >> 23 & 1:  # old-style code: no processor field
        return None
    return SOC_BY_PROCESSOR.get(code >> 12 & 0xF)


def board_facts(root: str = "/", read: ReadText | None = None) -> BoardFacts:
    """Model, SoC (and where it came from) and revision code; nulls where unreadable."""
    read = read or read_text

    def text(path: str) -> str | None:
        try:
            return read(os.path.join(root, path))
        except OSError:
            return None

    model = text("proc/device-tree/model")
    revision = parse_revision(text("proc/cpuinfo") or "")
    soc, source = soc_from_compatible(text("proc/device-tree/compatible") or ""), None
    if soc is not None:
        source = "device tree compatible"
    elif revision is not None and (soc := soc_from_revision(revision)) is not None:
        source = "revision code"
    return BoardFacts(model=model.strip("\0\n ") if model else None, soc=soc,
                      soc_source=source, revision=revision)


def find_fan(root: str = "/", read: ReadText | None = None) -> str | None:
    """The hwmon folder named ``pwmfan`` (the Pi 5 fan), or None."""
    read = read or read_text
    base = os.path.join(root, "sys/class/hwmon")
    try:
        entries = sorted(os.listdir(base))
    except OSError:
        return None
    for entry in entries:
        try:
            if read(os.path.join(base, entry, "name")).strip() == "pwmfan":
                return os.path.join(base, entry)
        except OSError:
            continue
    return None


class BoardReader:
    """Reads temperature, clocks, throttle bits, fan and 5 V input; None if unavailable."""

    def __init__(
        self,
        vcgencmd: str = "vcgencmd",
        sysfs_root: str = "/",
        *,
        transport: Transport = "auto",
        device: str | None = None,
        run: RunCommand | None = None,
        read: ReadText | None = None,
        io: MailboxIO | None = None,
    ) -> None:
        self._vc = shlex.split(vcgencmd)
        self._transport, self._device, self._run, self._io = transport, device, run, io
        self._gencmd: Gencmd | None = None
        self._read: ReadText = read or read_text
        self.root = sysfs_root
        self._thermal = os.path.join(sysfs_root, "sys/class/thermal/thermal_zone0/temp")
        self._freq = os.path.join(
            sysfs_root, "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"
        )
        self._fan: str | None = None
        self.sources: dict[str, str | None] = {
            "temp": None, "clock": None, "requested_clock": None, "throttle": None,
            "fan": None, "ext5v": None,
        }  # fmt: skip

    def _vcgencmd(self, command: str) -> str | None:
        try:
            if self._gencmd is None:
                self._gencmd = open_gencmd(
                    self._transport, self._vc, device=self._device, run=self._run,
                    io=self._io, check="get_throttled",
                )
            return self._gencmd(command)
        except Exception:
            return None

    def _via(self, ask: str) -> str:
        return f"vcgencmd {ask} ({self.transport or 'vcgencmd'})"

    @property
    def transport(self) -> str | None:
        """How vcgencmd questions went ("mailbox /dev/vcio_gencmd", "vcgencmd"), or None."""
        return None if self._gencmd is None else self._gencmd.transport

    def close(self) -> None:
        if self._gencmd is not None:
            self._gencmd.close()
            self._gencmd = None

    def _file(self, path: str) -> float | None:
        try:
            return float(self._read(path).strip())
        except (OSError, ValueError):
            return None

    def probe(self) -> dict[str, str | None]:
        """Find which source answers for each reading (called once)."""
        s = self.sources
        if self._file(self._thermal) is not None:
            s["temp"] = self._thermal
        elif parse_temp(self._vcgencmd("measure_temp") or "") is not None:
            s["temp"] = self._via("measure_temp")
        if parse_clock_hz(self._vcgencmd("measure_clock arm") or "") is not None:
            s["clock"] = self._via("measure_clock arm")
        if self._file(self._freq) is not None:
            s["requested_clock"] = self._freq
        if parse_throttled(self._vcgencmd("get_throttled") or "") is not None:
            s["throttle"] = self._via("get_throttled")
        self._fan = find_fan(self.root, self._read)
        if self._fan is not None and self._file(os.path.join(self._fan, "fan1_input")) is not None:
            s["fan"] = os.path.join(self._fan, "fan1_input")
        if ext5v_volts(self._vcgencmd("pmic_read_adc EXT5V_V") or "") is not None:
            s["ext5v"] = self._via("pmic_read_adc EXT5V_V")
        return dict(s)

    def facts(self) -> BoardFacts:
        return board_facts(self.root, self._read)

    def temp_c(self) -> float | None:
        src = self.sources["temp"]
        if src is None:
            return None
        if src == self._thermal:
            v = self._file(src)
            return None if v is None else v / 1000.0
        return parse_temp(self._vcgencmd("measure_temp") or "")

    def arm_mhz(self) -> float | None:
        """The clock the firmware runs (measure_clock arm), MHz."""
        if self.sources["clock"] is None:
            return None
        hz = parse_clock_hz(self._vcgencmd("measure_clock arm") or "")
        return None if hz is None else hz / 1e6

    def arm_requested_mhz(self) -> float | None:
        """The clock the kernel asked for (scaling_cur_freq), MHz: not the real clock."""
        if self.sources["requested_clock"] is None:
            return None
        v = self._file(self._freq)
        return None if v is None else v / 1000.0

    def throttled(self) -> int | None:
        if self.sources["throttle"] is None:
            return None
        return parse_throttled(self._vcgencmd("get_throttled") or "")

    def fan(self) -> tuple[float | None, float | None]:
        """(RPM, PWM duty 0-255) of the pwmfan device; (None, None) without one."""
        if self.sources["fan"] is None or self._fan is None:
            return None, None
        return (self._file(os.path.join(self._fan, "fan1_input")),
                self._file(os.path.join(self._fan, "pwm1")))

    def ext5v_v(self) -> float | None:
        if self.sources["ext5v"] is None:
            return None
        return ext5v_volts(self._vcgencmd("pmic_read_adc EXT5V_V") or "")


def readable(reader: BoardReader | None = None) -> dict[str, str | None]:
    """For a doctor: which board readings answer here ({reading: source or None}); keys
    temp, clock, requested_clock, throttle, fan, ext5v. PMIC rails: bench.meters.pmic."""
    r = reader or BoardReader()
    try:
        return r.probe()
    finally:
        r.close()
