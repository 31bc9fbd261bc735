"""The system context of a run (environment.json ``system``): what the board, its firmware,
its settings and its HAT were, each field read, never guessed.

Shape: ``{"<field>": value or null, ..., "unavailable": {"<field>": "why it is null"}}``.
Every null field has its reason in ``unavailable``; a field that was read is not in it.

Sources (files are read under ``root``, "/" on a real machine; firmware questions go through
bench.meters.gencmd, the mailbox when it opens, else vcgencmd):
- board_model: /proc/device-tree/model; soc, soc_source: bench.meters.board;
  board_revision: /proc/cpuinfo ``Revision``, decoded in ``revision`` from the documented
  bit layout of new-style codes (Raspberry Pi documentation, "Raspberry Pi revision codes":
  bit 23 set; memory bits 20-22, manufacturer 16-19, processor 12-15, type 4-11,
  revision 0-3, warranty bit 25);
- memory_total_mb: /proc/meminfo ``MemTotal``; os_release: /etc/os-release ``PRETTY_NAME``;
  rpi_issue: the first line of /etc/rpi-issue (the image's build); kernel:
  /proc/sys/kernel/osrelease; cpu: bench.meters.cpu; cpu_governor: cpufreq of cpu0;
- firmware: ``vcgencmd version``; bootloader: ``vcgencmd bootloader_version``, else
  /proc/device-tree/chosen/bootloader/version; config: the speed settings of
  ``vcgencmd get_config int`` and ``get_config str`` (``key=value`` lines);
- cooler: the ``pwmfan`` hwmon device (bench.meters.board.find_fan) with RPM and PWM duty;
- pcie: sysfs current_link_speed / current_link_width of the Hailo device (PCI vendor
  0x1e60) or, without one, of the first PCI bridge (the root port);
- hat: /proc/device-tree/hat/{product,vendor,product_id,product_ver,uuid} (NUL-terminated);
- pibench_commit, pibench_commit_source: ``git describe`` of a checkout, else the
  PIBENCH_COMMIT the fleet playbook sets (bench.results.environment.pibench_commit);
- hailo_driver: /sys/module/hailo1x_pci (or hailo_pci)/version; hailo_firmware: not readable
  without opening the device (the driver's sysfs attributes are board_location, device_id
  and accelerator_type only: hailo-ai/hailort-drivers linux/pcie/src/sysfs.c at 52bebfa;
  ``hailortcli fw-control identify`` opens the device), so always null here with that
  reason; hailort: the installed HailoRT's version.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bench.meters.board import board_facts, find_fan, parse_revision
from bench.meters.cpu import cpu_description
from bench.meters.sources import ReadText, read_text

Ask = Callable[[str], str]
"""A firmware question's answer (bench.meters.gencmd.Gencmd); raises when unanswered."""

MEMORY = {0: "256MB", 1: "512MB", 2: "1GB", 3: "2GB", 4: "4GB", 5: "8GB", 6: "16GB"}
MANUFACTURER = {0: "Sony UK", 1: "Egoman", 2: "Embest", 3: "Sony Japan", 4: "Embest",
                5: "Stadium"}
PROCESSOR = {0: "BCM2835", 1: "BCM2836", 2: "BCM2837", 3: "BCM2711", 4: "BCM2712"}
TYPE = {0x0: "A", 0x1: "B", 0x2: "A+", 0x3: "B+", 0x4: "2B", 0x5: "Alpha", 0x6: "CM1",
        0x8: "3B", 0x9: "Zero", 0xA: "CM3", 0xC: "Zero W", 0xD: "3B+", 0xE: "3A+",
        0x10: "CM3+", 0x11: "4B", 0x12: "Zero 2 W", 0x13: "400", 0x14: "CM4", 0x15: "CM4S",
        0x17: "5", 0x18: "CM5", 0x19: "500", 0x1A: "CM5 Lite"}  # fmt: skip
"""Fields of a new-style revision code (Raspberry Pi documentation, revision codes)."""

SPEED_SETTINGS = ("arm_freq", "arm_freq_min", "arm_boost", "over_voltage",
                  "over_voltage_delta", "over_voltage_min", "force_turbo", "initial_turbo",
                  "sdram_freq", "sdram_over_voltage", "gpu_freq", "core_freq", "v3d_freq",
                  "temp_limit", "temp_soft_limit")
"""config.txt settings that change the speed a benchmark measures."""
HAILO_VENDOR = "0x1e60"
"""PCI_VENDOR_ID_HAILO of hailo-ai/hailort-drivers (linux/pcie, common/pcie_common.h; the
Hailo-10H is device 0x45c4)."""
HAILO_DRIVERS = ("hailo1x_pci", "hailo_pci")
HAT_FIELDS = ("product", "vendor", "product_id", "product_ver", "uuid")


def decode_revision(code: str) -> dict[str, Any] | None:
    """A new-style revision code's fields; None for an old-style code (bit 23 clear)."""
    n = int(code, 16)
    if not n >> 23 & 1:
        return None
    t = n >> 4 & 0xFF
    return {"type": TYPE.get(t, f"unknown 0x{t:x}"),
            "processor": PROCESSOR.get(n >> 12 & 0xF, f"unknown {n >> 12 & 0xF}"),
            "memory": MEMORY.get(n >> 20 & 0x7, f"unknown {n >> 20 & 0x7}"),
            "manufacturer": MANUFACTURER.get(n >> 16 & 0xF, f"unknown {n >> 16 & 0xF}"),
            "revision": f"1.{n & 0xF}", "warranty_voided": bool(n >> 25 & 1)}


def parse_settings(text: str) -> dict[str, int | str]:
    """``key=value`` lines of ``get_config``, the speed settings only; decimal values as int."""
    out: dict[str, int | str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key in SPEED_SETTINGS:
            out[key] = int(value) if re.fullmatch(r"-?\d+", value.strip()) else value.strip()
    return out


def parse_firmware_version(text: str) -> str | None:
    """``vcgencmd version``: the date line and the ``version`` line, joined."""
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.strip().startswith("Copyright")]
    return ", ".join(lines) or None


def parse_bootloader(text: str) -> str | None:
    """``vcgencmd bootloader_version``: the date (first line) and the ``version`` line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    keep = lines[:1] + [ln for ln in lines[1:] if ln.startswith("version")]
    return ", ".join(keep) or None


class _Collector:
    def __init__(self, root: str, read: ReadText, ask: Ask | None, ask_failure: str) -> None:
        self.root, self._read, self._ask, self._ask_failure = root, read, ask, ask_failure
        self.out: dict[str, Any] = {}
        self.unavailable: dict[str, str] = {}
        self._answered = False

    def path(self, rel: str) -> str:
        return os.path.join(self.root, rel.lstrip("/"))

    def file(self, rel: str) -> str | None:
        try:
            return self._read(self.path(rel)).strip("\x00\n ")
        except (OSError, UnicodeDecodeError):
            return None

    def ask(self, command: str) -> tuple[str | None, str]:
        if self._ask is None:
            return None, self._ask_failure
        try:
            answer = self._ask(command)
            self._answered = True
            return answer, ""
        except Exception as exc:  # a firmware answer is context, never worth a failed run
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return None, f"`vcgencmd {command}` failed: {why}"

    def ask_works(self) -> bool:
        """Whether some firmware question was answered (so others are worth asking)."""
        return self._answered

    def put(self, field: str, value: Any, reason: str) -> None:
        self.out[field] = value
        if value is None or value == {}:
            self.out[field] = None
            self.unavailable[field] = reason

    def listdir(self, rel: str) -> list[str]:
        try:
            return sorted(os.listdir(self.path(rel)))
        except OSError:
            return []


_arguments: list[str] | None = None


def set_command_line(arguments: Sequence[str]) -> None:
    """The arguments pibench's main() was given (after the program name): the command line
    recorded, whether pibench runs as a program or in process (tests, the fleet)."""
    global _arguments
    _arguments = [str(a) for a in arguments]


def _command_line(argv: Sequence[str]) -> str:
    prog = os.path.basename(argv[0]) if argv else "pibench"
    if prog in ("__main__.py", "-m", "-c", ""):
        prog = "pibench"
    return shlex.join([prog, *argv[1:]])


def _int(text: str | None) -> int | str | None:
    return int(text) if text and text.isdigit() else text


def _pcie(c: _Collector) -> tuple[dict[str, Any] | None, str]:
    base = "sys/bus/pci/devices"
    devices = c.listdir(base)
    if not devices:
        return None, f"no /{base} (no PCI bus here)"
    hailo = [d for d in devices if (c.file(f"{base}/{d}/vendor") or "").lower() == HAILO_VENDOR]
    bridges = [d for d in devices if (c.file(f"{base}/{d}/class") or "").startswith("0x0604")]
    for what, found in (("Hailo device", hailo), ("root port", bridges)):
        for dev in found:
            speed = c.file(f"{base}/{dev}/current_link_speed")
            width = c.file(f"{base}/{dev}/current_link_width")
            if speed:
                top, top_width = (c.file(f"{base}/{dev}/max_link_{k}") for k in ("speed", "width"))
                return {"device": dev, "of": what, "speed": speed, "width": _int(width),
                        "max_speed": top, "max_width": _int(top_width)}, ""
    return None, "no Hailo device and no PCI bridge with a current_link_speed"


def _hailo_driver(c: _Collector) -> tuple[dict[str, Any] | None, str]:
    for name in HAILO_DRIVERS:
        if os.path.isdir(c.path(f"sys/module/{name}")):
            return {"module": name, "version": c.file(f"sys/module/{name}/version")}, ""
    return None, "no Hailo driver loaded (/sys/module/hailo1x_pci absent)"


def collect_system(root: str = "/", read: ReadText | None = None, ask: Ask | None = None,
                   ask_failure: str = "", argv: Sequence[str] | None = None,
                   versions: dict[str, str | None] | None = None,
                   commit: str | None = None,
                   commit_source: str | None = None) -> dict[str, Any]:
    """The system context (see the module's notes). ``ask`` answers vcgencmd questions
    (None: ``ask_failure`` says why none can be asked). ``commit_source``: where ``commit``
    comes from, or why there is none (bench.results.environment.pibench_commit)."""
    c = _Collector(root, read or read_text, ask, ask_failure or "no vcgencmd transport")
    versions = versions or {}
    dt = "proc/device-tree"
    c.put("board_model", c.file(f"{dt}/model"), f"no /{dt}/model (not a Raspberry Pi)")
    revision = parse_revision(c.file("proc/cpuinfo") or "")
    c.put("board_revision", revision, "no Revision line in /proc/cpuinfo")
    decoded = decode_revision(revision) if revision else None
    c.put("revision", decoded, "old-style revision code: no fields to decode" if revision
          else "no revision code")
    facts = board_facts(root, c._read)
    c.put("soc", facts["soc"], "neither /proc/device-tree/compatible nor a new-style "
          "revision code names it")
    c.put("soc_source", facts["soc_source"], "no SoC")
    mem = re.search(r"^MemTotal:\s*(\d+)\s*kB", c.file("proc/meminfo") or "", re.MULTILINE)
    c.put("memory_total_mb", round(int(mem.group(1)) / 1024) if mem else None,
          "no MemTotal in /proc/meminfo")
    pretty = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', c.file("etc/os-release") or "", re.M)
    c.put("os_release", pretty.group(1) if pretty else None, "no PRETTY_NAME in /etc/os-release")
    issue = c.file("etc/rpi-issue")
    c.put("rpi_issue", issue.splitlines()[0] if issue else None,
          "no /etc/rpi-issue (not a Raspberry Pi OS image)")
    c.put("kernel", c.file("proc/sys/kernel/osrelease"), "no /proc/sys/kernel/osrelease")
    c.put("cpu", cpu_description(root, c._read), "no CPU name or part code in /proc/cpuinfo")
    gov = "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"
    c.put("cpu_governor", c.file(gov), f"no /{gov} (no cpufreq)")

    text, why = c.ask("version")
    c.put("firmware", parse_firmware_version(text) if text else None, why or "empty answer")
    text, why = c.ask("bootloader_version")
    boot = parse_bootloader(text) if text else None
    if boot is None:
        boot = c.file(f"{dt}/chosen/bootloader/version")
        why = f"{why}; no /{dt}/chosen/bootloader/version" if boot is None else why
    c.put("bootloader", boot, why or "empty answer")
    settings: dict[str, int | str] = {}
    reasons = []
    for kind in ("int", "str"):
        text, why = c.ask(f"get_config {kind}")
        settings.update(parse_settings(text or ""))
        if why:
            reasons.append(why)
    if reasons and c.ask_works():  # e.g. all of `get_config int` does not fit the buffer
        for key in SPEED_SETTINGS:  # then one question per setting
            text, _ = c.ask(f"get_config {key}")
            settings.update(parse_settings(text or ""))
    c.put("config", dict(sorted(settings.items())) or None,
          "; ".join(reasons) or "get_config named none of the speed settings")

    fan = find_fan(root, c._read)
    if fan is None:
        c.put("cooler", None, "no pwmfan hwmon device (no fan on the fan connector)")
    else:
        rpm, pwm = (c.file(os.path.relpath(os.path.join(fan, f), root))
                    for f in ("fan1_input", "pwm1"))
        c.put("cooler", {"fan": "pwmfan", "rpm": int(rpm) if rpm and rpm.isdigit() else None,
                         "pwm": int(pwm) if pwm and pwm.isdigit() else None}, "")
    pcie, why = _pcie(c)
    c.put("pcie", pcie, why)
    hat = {f: c.file(f"{dt}/hat/{f}") for f in HAT_FIELDS}
    c.put("hat", {k: v for k, v in hat.items() if v is not None} or None,
          f"no /{dt}/hat (no HAT with an EEPROM)")
    c.put("hailort", versions.get("hailort"), "HailoRT is not installed")
    driver, why = _hailo_driver(c)
    c.put("hailo_driver", driver, why)
    c.put("hailo_firmware", None, "not readable without opening the device (`hailortcli "
          "fw-control identify` opens it; pibench doctor does)")
    c.put("pibench_version", versions.get("pibench"), "pibench is not installed (no metadata)")
    no_commit = (commit_source if commit is None else None) or "not a git checkout (the " \
        "version says which release)"
    c.put("pibench_commit", commit, no_commit)
    c.put("pibench_commit_source", commit_source or "git describe of the checkout"
          if commit else None, no_commit)
    if argv is None:
        argv = ["pibench", *_arguments] if _arguments is not None else sys.argv
    c.put("command_line", _command_line(argv), "no argv")
    return {**c.out, "unavailable": c.unavailable}


def ask_firmware() -> tuple[Ask | None, str, Callable[[], None]]:
    """A vcgencmd transport for this machine (mailbox, else the program), or None with why;
    and how to close it."""
    from bench.meters.gencmd import open_gencmd

    try:
        g = open_gencmd("auto", ["vcgencmd"], check="version")
    except OSError as exc:
        return None, f"no vcgencmd transport: {exc}", lambda: None

    def ask(command: str) -> str:
        try:
            return g(command)
        except FileNotFoundError:
            raise RuntimeError("no VideoCore mailbox and no vcgencmd program here "
                               "(not a Raspberry Pi)") from None

    return ask, "", g.close
