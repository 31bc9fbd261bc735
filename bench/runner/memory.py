"""Peak resident memory of this process over a window (Linux: VmHWM, reset via clear_refs)."""

from __future__ import annotations

from pathlib import Path


def reset_peak() -> bool:
    """Reset the kernel's high-water mark of RSS; False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError):
        return None
    return None
