"""What the CPU is, in words a table can carry: "Cortex-A76 ×4, 2.4 GHz".

On ARM, /proc/cpuinfo gives per processor a ``CPU implementer`` and a ``CPU part`` code, not a
name (the Pi kernel's ``Model`` line is the board). The names of ARM Ltd's (implementer 0x41)
part codes are the ones Linux declares in arch/arm64/include/asm/cputype.h
(``ARM_CPU_PART_CORTEX_A76 0xD0B`` ...) and util-linux's sys-utils/lscpu-arm.c prints; the
Raspberry Pi boards use 0xb76 (ARM1176, Pi 1 / Zero), 0xc07 (Cortex-A7, Pi 2), 0xd03
(Cortex-A53, Pi 3 / Zero 2), 0xd08 (Cortex-A72, Pi 4) and 0xd0b (Cortex-A76, Pi 5).
The clock is cpufreq's ``cpuinfo_max_freq`` (kHz) of each processor: the most the kernel may
ask for, not what the firmware runs under heat (bench.meters.board reads that).
On x86 the ``model name`` line is the name, and ×N counts logical processors (SMT threads
included), as /proc/cpuinfo lists them.
"""

from __future__ import annotations

import os
import re

from bench.meters.sources import ReadText, read_text

ARM_PARTS = {
    0xB76: "ARM1176", 0xC07: "Cortex-A7", 0xC0F: "Cortex-A15", 0xD03: "Cortex-A53",
    0xD04: "Cortex-A35", 0xD05: "Cortex-A55", 0xD07: "Cortex-A57", 0xD08: "Cortex-A72",
    0xD09: "Cortex-A73", 0xD0A: "Cortex-A75", 0xD0B: "Cortex-A76", 0xD0C: "Neoverse-N1",
    0xD0D: "Cortex-A77", 0xD41: "Cortex-A78", 0xD44: "Cortex-X1", 0xD46: "Cortex-A510",
    0xD47: "Cortex-A710", 0xD48: "Cortex-X2", 0xD4B: "Cortex-A78C", 0xD4D: "Cortex-A715",
    0xD80: "Cortex-A520", 0xD81: "Cortex-A720",
}  # fmt: skip
"""Part codes of implementer 0x41 (ARM Ltd)."""
ARM_IMPLEMENTER = 0x41


def arm_part_name(implementer: int | None, part: int) -> str:
    """The core's name; an unknown code stays a code ("ARM part 0xd99")."""
    if implementer in (None, ARM_IMPLEMENTER) and part in ARM_PARTS:
        return ARM_PARTS[part]
    who = "ARM" if implementer in (None, ARM_IMPLEMENTER) else f"implementer 0x{implementer:x}"
    return f"{who} part 0x{part:x}"


def _blocks(cpuinfo: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = [{}]
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            if blocks[-1]:
                blocks.append({})
            continue
        blocks[-1][key.strip()] = value.strip()
    return [b for b in blocks if b]


def _ghz(khz: float) -> str:
    return f"{khz / 1e6:.3g} GHz" if khz >= 1e6 else f"{khz / 1e3:.0f} MHz"


def cpu_description(root: str = "/", read: ReadText | None = None) -> str | None:
    """"Cortex-A76 ×4, 2.4 GHz" (ARM: part codes, counted, with cpufreq's max clock; clusters
    joined by " + "), "<model name> ×N" on x86; None when /proc/cpuinfo says neither."""
    read = read or read_text
    try:
        text = read(os.path.join(root, "proc/cpuinfo"))
    except OSError:
        return None
    groups: dict[tuple[str, str | None], int] = {}
    for block in _blocks(text):
        if "processor" not in block or not block["processor"].isdigit():
            continue
        if block.get("model name"):
            name = block["model name"]
        elif re.fullmatch(r"0x[0-9a-fA-F]+", block.get("CPU part", "")):
            impl = block.get("CPU implementer", "")
            implementer = int(impl, 16) if re.fullmatch(r"0x[0-9a-fA-F]+", impl) else None
            name = arm_part_name(implementer, int(block["CPU part"], 16))
        else:
            continue
        path = f"sys/devices/system/cpu/cpu{block['processor']}/cpufreq/cpuinfo_max_freq"
        try:
            clock: str | None = _ghz(float(read(os.path.join(root, path)).strip()))
        except (OSError, ValueError):
            clock = None
        groups[(name, clock)] = groups.get((name, clock), 0) + 1
    if not groups:
        return None
    return " + ".join(f"{name} ×{n}" + (f", {clock}" if clock else "")
                      for (name, clock), n in groups.items())
