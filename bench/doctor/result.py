"""One finding of ``pibench doctor``, its one-screen rendering, and the JSON bundle."""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "failed", "skipped"]

BUNDLE_SCHEMA = 1
"""Version of the bundle's format (docs/doctor.md). 1: first version."""


@dataclass
class Check:
    name: str
    """Short id, e.g. "hailort", "driver", "device", "generation"."""
    status: Status
    detail: str
    """One line: what was found."""
    fix: str | None = None
    """One line: what to do, when the check failed (or was skipped for a reason to act on)."""
    data: dict[str, Any] = field(default_factory=dict)
    """What was read, for the bundle (versions, paths, item lists, ...)."""


def ok(name: str, detail: str, **data: Any) -> Check:
    return Check(name, "ok", detail, None, data)


def failed(name: str, detail: str, fix: str | None, **data: Any) -> Check:
    return Check(name, "failed", detail, fix, data)


def skipped(name: str, detail: str, fix: str | None = None, **data: Any) -> Check:
    return Check(name, "skipped", detail, fix, data)


def all_hold(checks: list[Check]) -> bool:
    return not any(c.status == "failed" for c in checks)


MARK = {"ok": "ok  ", "failed": "FAIL", "skipped": "skip"}


def render(checks: list[Check]) -> str:
    """One line per check, its fix indented below it: one screen."""
    lines = []
    for c in checks:
        lines.append(f"{MARK[c.status]}  {c.name:<11} {c.detail}")
        if c.fix:
            lines.append(f"      {'':<11} -> {c.fix}")
    return "\n".join(lines)


def bundle(checks: list[Check]) -> dict[str, Any]:
    from bench import __version__

    return {
        "schema": BUNDLE_SCHEMA,
        "tool": f"pibench {__version__}",
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ok": all_hold(checks),
        "host": {"machine": platform.machine(), "os": platform.platform(),
                 "python": sys.version.split()[0]},
        "checks": [asdict(c) for c in checks],
    }


def write_bundle(checks: list[Check], path: Path) -> Path:
    """Write the bundle; never overwrites (doctor.json, doctor-2.json, ...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target, k = path, 2
    while target.exists():
        target = path.with_name(f"{path.stem}-{k}{path.suffix}")
        k += 1
    target.write_text(json.dumps(bundle(checks), indent=2, default=str) + "\n",
                      encoding="utf-8")
    return target
