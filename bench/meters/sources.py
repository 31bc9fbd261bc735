"""The one seam through which meters read the machine: a file's text, or a command's output.

Meters take ``read_text`` / ``run`` callables defaulting to these, so tests feed saved,
real-shaped text instead of touching /sys or running vcgencmd.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence

ReadText = Callable[[str], str]
RunCommand = Callable[[Sequence[str]], str]


class CommandFailed(RuntimeError):
    """A command ran but failed (non-zero exit)."""


def read_text(path: str) -> str:
    """A sysfs-style file's text. Raises FileNotFoundError, PermissionError, OSError."""
    with open(path, encoding="ascii", errors="replace") as f:
        return f.read()


def run_command(argv: Sequence[str], timeout_s: float = 2.0) -> str:
    """stdout of a short command. Raises FileNotFoundError (no such tool), PermissionError,
    subprocess.TimeoutExpired, or CommandFailed (non-zero exit, with its stderr)."""
    proc = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip().splitlines()
        raise CommandFailed(
            f"`{' '.join(argv)}` exited {proc.returncode}" + (f": {err[0]}" if err else "")
        )
    return proc.stdout
