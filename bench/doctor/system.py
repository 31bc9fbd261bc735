"""The machine's side of ``pibench doctor``: driver, device node, who holds the device, PMIC,
throttling and fan. Everything is read through ``System`` (a root folder and a command runner),
so tests point it at a folder of saved files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.doctor.result import Check, failed, ok

DRIVERS = ("hailo1x_pci", "hailo_pci")
"""Kernel modules: hailo1x_pci is the Hailo-10H's (package hailo-h10-all); hailo_pci is the
Hailo-8/8L's (hailo-all), which cannot drive the 10H."""

THROTTLE_BITS = {0: "under-voltage now", 1: "ARM frequency capped now", 2: "throttled now",
                 3: "soft temperature limit now", 16: "under-voltage has occurred",
                 17: "frequency capping has occurred", 18: "throttling has occurred",
                 19: "soft temperature limit has occurred"}
"""``vcgencmd get_throttled`` bits (Raspberry Pi documentation, "get_throttled")."""


def _run(cmd: list[str]) -> str | None:
    if not shutil.which(cmd[0]):
        return None
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout if r.returncode == 0 else None


def _firmware(cmd: list[str]) -> str | None:
    """``vcgencmd X`` the way pibench's meters ask it (the mailbox device when it opens, as
    bench.meters.gencmd does), else the process; other commands as processes."""
    if cmd and cmd[0] == "vcgencmd":
        try:
            from bench.meters.gencmd import open_gencmd

            gencmd = open_gencmd("auto", ["vcgencmd"])
            try:
                return str(gencmd(" ".join(cmd[1:])))
            finally:
                gencmd.close()
        except Exception:
            return None
    return _run(cmd)


@dataclass
class System:
    root: Path = Path("/")
    run: Callable[[list[str]], str | None] = field(default=_firmware)

    def path(self, p: str) -> Path:
        return self.root / p.lstrip("/")

    def read(self, p: str) -> str | None:
        try:
            return self.path(p).read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None


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
    out = system.run(["vcgencmd", "pmic_read_adc"])
    if out is None:
        return failed("pmic", "vcgencmd pmic_read_adc gave nothing (not a Pi 5, or no "
                      "access to /dev/vcio)", "run on the Pi 5 as a user in the video group")
    rails = re.findall(r"^\s*(\S+)\s+(current|volt)\(\d+\)=([0-9.]+)([AV])", out, re.M)
    if not rails:
        return failed("pmic", "vcgencmd pmic_read_adc answered, but no rail could be read",
                      "update the firmware: sudo rpi-eeprom-update -a", raw=out[:2000])
    return ok("pmic", f"{len(rails)} PMIC readings (note: they miss the HAT's 5 V draw)",
              readings=len(rails))


def throttle(system: System) -> Check:
    out = system.run(["vcgencmd", "get_throttled"])
    m = re.search(r"throttled=(0x[0-9a-fA-F]+)", out or "")
    if m is None:
        return failed("throttle", "vcgencmd get_throttled gave nothing",
                      "run on the Pi 5 as a user in the video group")
    value = int(m.group(1), 16)
    flags = [text for bit, text in THROTTLE_BITS.items() if value & (1 << bit)]
    if value & 0b1:
        return failed("throttle", f"{m.group(1)}: {', '.join(flags)}",
                      "use the official 27 W (5.1 V, 5 A) power supply", value=m.group(1),
                      flags=flags)
    detail = f"{m.group(1)}" + (f": {', '.join(flags)}" if flags else " (none)")
    return ok("throttle", detail, value=m.group(1), flags=flags)


def fan(system: System) -> Check:
    for hwmon in sorted(system.path("/sys/class/hwmon").glob("hwmon*")):
        if (system.read(str(hwmon.relative_to(system.root)) + "/name") or "") == "pwmfan":
            rpm = system.read(str(hwmon.relative_to(system.root)) + "/fan1_input")
            return ok("fan", f"fan present ({rpm or '?'} rpm)", rpm=rpm)
    return failed("fan", "no fan or Active Cooler found (no pwmfan hwmon)",
                  "fit the Active Cooler: without it the Pi 5 throttles under sustained load")
