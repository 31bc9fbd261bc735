"""The machine's side of ``pibench doctor``: driver, device node, who holds the device, PMIC,
throttling and fan. Files are read under ``System.root`` (tests point it at a folder of saved
files); the PMIC, throttle and fan checks read the board through the code the meters run
(bench.meters.pmic.check_pmic, bench.meters.board.BoardReader, bench.meters.health.flags_of),
with the same transport (``System.transport``, ``run`` and ``io`` are its test seams), so the
doctor and a run cannot disagree about what is readable."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bench.doctor.result import Check, failed, ok
from bench.meters.board import BoardReader, find_fan
from bench.meters.gencmd import MailboxIO, Transport
from bench.meters.health import flags_of
from bench.meters.pmic import PmicOptions, check_pmic
from bench.meters.sources import RunCommand

DRIVERS = ("hailo1x_pci", "hailo_pci")
"""Kernel modules: hailo1x_pci is the Hailo-10H's (package hailo-h10-all); hailo_pci is the
Hailo-8/8L's (hailo-all), which cannot drive the 10H."""


@dataclass
class System:
    root: Path = Path("/")
    transport: Transport = "auto"
    """How firmware questions are asked, as in a config's meter and health sections."""
    run: RunCommand | None = None
    """Runs vcgencmd when the transport is a process (None: the real program)."""
    io: MailboxIO | None = None
    """The mailbox's system calls (None: the real /dev/vcio_gencmd, /dev/vcio)."""
    _board: BoardReader | None = field(default=None, init=False, repr=False)

    def path(self, p: str) -> Path:
        return self.root / p.lstrip("/")

    def read(self, p: str) -> str | None:
        try:
            return self.path(p).read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None

    def board(self) -> BoardReader:
        """The health monitor's reader on this machine, its sources found (once)."""
        if self._board is None:
            self._board = BoardReader(sysfs_root=str(self.root), transport=self.transport,
                                      run=self.run, io=self.io)
            self._board.probe()
        return self._board

    def close(self) -> None:
        if self._board is not None:
            self._board.close()
            self._board = None


def driver(system: System, hailort: str | None) -> Check:
    for name in DRIVERS:
        if system.path(f"/sys/module/{name}").is_dir():
            version = system.read(f"/sys/module/{name}/version")
            if name != "hailo1x_pci":
                return failed("driver", f"{name} {version or '?'} is loaded: the Hailo-8/8L "
                              "driver, not the Hailo-10H's",
                              "sudo apt remove hailo-all && sudo apt install dkms hailo-h10-all",
                              module=name, version=version)
            if hailort and version and version.split("-")[0] != hailort.split("-")[0]:
                return failed("driver", f"{name} {version} does not match HailoRT {hailort}",
                              "reinstall one version of everything: sudo apt install --reinstall "
                              "hailo-h10-all, then reboot", module=name, version=version)
            return ok("driver", f"{name} {version or '(version unknown)'} loaded",
                      module=name, version=version)
    return failed("driver", "no Hailo driver loaded (hailo1x_pci)",
                  "sudo apt install dkms hailo-h10-all, then reboot; `dmesg | grep -i hailo`")


def device(system: System) -> Check:
    nodes = sorted(str(p) for p in system.path("/dev").glob("hailo*"))
    if not nodes:
        return failed("device", "no Hailo device (/dev/hailo*)",
                      "is the AI HAT+ 2 seated and PCIe enabled? `lspci | grep -i hailo`, "
                      "`dmesg | grep -i hailo`")
    return ok("device", f"{', '.join(os.path.basename(n) for n in nodes)} present",
              nodes=[os.path.basename(n) for n in nodes])


def holders(system: System) -> Check:
    """Processes that hold /dev/hailo* open (hailo-ollama named, with the command to stop
    it). Processes whose fds cannot be read (other users) are counted, not guessed."""
    found: list[dict[str, object]] = []
    unreadable = 0
    proc = system.path("/proc")
    for pid_dir in proc.glob("[0-9]*"):
        comm = system.read(f"/proc/{pid_dir.name}/comm") or "?"
        try:
            fds = list((pid_dir / "fd").iterdir())
        except OSError:
            unreadable += 1
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("/dev/hailo"):
                found.append({"pid": int(pid_dir.name), "name": comm, "device": target})
                break
    note = f" ({unreadable} processes not readable: run with sudo to see all)" \
        if unreadable else ""
    if not found:
        return ok("free", f"no process holds the device{note}", unreadable=unreadable)
    who = ", ".join(f"{h['name']} (pid {h['pid']})" for h in found)
    if any(h["name"] == "hailo-ollama" for h in found):
        fix = ("stop it before in-process runs: `sudo systemctl stop hailo-ollama` (or kill the "
               "pid), or run pibench's ollama backend against it instead")
    else:
        fix = "stop that program before in-process runs (one LLM holds the NPU's KV cache)"
    return failed("free", f"held by {who}{note}", fix, holders=found, unreadable=unreadable)


def pmic(system: System) -> Check:
    """What the ``pi5-pmic`` meter's own check says, through the same transport."""
    readable, line = check_pmic(PmicOptions(transport=system.transport), run=system.run,
                                io=system.io)
    if not readable:
        return failed("pmic", line, "run on the Pi 5 as a user who may open /dev/vcio_gencmd"
                      " (README: the udev rule), or update the firmware:"
                      " sudo rpi-eeprom-update -a")
    return ok("pmic", f"{line} (note: they miss the HAT's 5 V draw)",
              readings=int(line.split()[0]))


def throttle(system: System) -> Check:
    """``get_throttled`` as the health monitor reads it; the bits' names are its flags."""
    board = system.board()
    value = board.throttled()
    if value is None:
        via = board.transport or "vcgencmd"
        return failed("throttle", f"vcgencmd get_throttled gave nothing (through {via})",
                      "run on the Pi 5 as a user in the video group")
    now, past = flags_of(value), flags_of(value >> 16 & 0xF)
    hexed = f"0x{value:x}"
    said = [f"{f} now" for f in now] + [f"{f} has occurred" for f in past]
    if "under-voltage" in now:
        return failed("throttle", f"{hexed}: {', '.join(said)}",
                      "use the official 27 W (5.1 V, 5 A) power supply", value=hexed,
                      flags=said)
    return ok("throttle", hexed + (f": {', '.join(said)}" if said else " (none)"), value=hexed,
              flags=said)


def fan(system: System) -> Check:
    """The ``pwmfan`` hwmon device the health monitor reads (bench.meters.board.find_fan)."""
    if find_fan(str(system.root)) is None:
        return failed("fan", "no fan or Active Cooler found (no pwmfan hwmon)",
                      "fit the Active Cooler: without it the Pi 5 throttles under sustained"
                      " load")
    rpm, pwm = system.board().fan()
    shown = "?" if rpm is None else f"{rpm:.0f}"
    return ok("fan", f"fan present ({shown} rpm)", rpm=rpm, pwm=pwm)
