"""HostLoad: CPU time used by *other* processes while a case is measured."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.report.markdown import legend
from bench.runner.hostload import BUSY_PCT, HostLoad

SPIN = "import time\nt = time.monotonic() + {s}\nwhile time.monotonic() < t: pass\n"


def _detached_spinners(n: int, seconds: float, folder: Path) -> float:
    """n busy loops that are NOT our descendants (their shell parent exits at once);
    returns the monotonic time by which they are done."""
    script = folder / "spin.py"
    script.write_text(SPIN.format(s=seconds))
    line = " ".join(f"'{sys.executable}' '{script}' &" for _ in range(n))
    subprocess.run(["sh", "-c", line + " exit 0"], check=True)
    return time.monotonic() + seconds + 0.5


def test_other_processes_are_counted(tmp_path: Path) -> None:
    cores = psutil.cpu_count() or 1
    n = min(cores, 4)
    done = _detached_spinners(n, 2.0, tmp_path)
    time.sleep(0.3)  # let them start
    with HostLoad() as load:
        time.sleep(1.5)
    s = load.summary()
    time.sleep(max(0.0, done - time.monotonic()))  # leave a quiet machine to the next test
    assert s is not None and s["cores"] == cores and s["window_s"] >= 1.5
    # n spinning cores out of `cores`: at least half of that must show
    assert s["other_cpu_pct"] >= 50 * n / cores, s
    assert s["busy"] is True and s["other_cpu_pct"] >= BUSY_PCT


def test_our_own_children_are_not_noise() -> None:
    cores = psutil.cpu_count() or 1
    # the same window without the child first: whatever else runs on this machine (another
    # job of a shared CI host) shows in both, so only the difference is the child's
    with HostLoad() as base:
        time.sleep(1.5)
    child = subprocess.Popen([sys.executable, "-c", SPIN.format(s=1.6)])
    try:
        with HostLoad() as load:
            time.sleep(1.5)
    finally:
        child.wait()
    b, s = base.summary(), load.summary()
    assert b is not None and s is not None
    # counted as other, the child would add a whole core: 100 / cores % of the machine;
    # ours, it adds nothing (half a core of margin for the background changing)
    assert s["other_cpu_pct"] - b["other_cpu_pct"] < 50 / cores, (b, s)


def test_a_window_too_short_gives_no_figure() -> None:
    with HostLoad() as load:
        time.sleep(0.05)
    assert load.summary() is None


def test_busy_host_is_explained_in_the_legend() -> None:
    rec = {"labels": ["busy host"], "status": "ok",
           "host_load": {"other_cpu_pct": 37.5, "busy": True}}
    text = legend([rec])
    assert "busy host: other processes used CPU time" in text and "up to 38 %" in text
