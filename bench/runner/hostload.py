"""Was the machine quiet while a case was measured?

A benchmark on a shared machine is slowed by whatever else runs: another process on the
same cores, a VM neighbour (CPU steal). ``HostLoad`` watches the measured repetitions of a
case and records how much CPU time everything *else* used, as a share of all the machine's
cores over that window:

    other_cpu_pct = (busy CPU time of the whole machine - CPU time of pibench and its
                     children - CPU time of the backend's server) / (window x cores) x 100

pibench's own CPU time includes its child processes (the mixed-mode vision worker, a
meter's vcgencmd), so those never count as noise. So does the CPU time of the backend's
server when it runs on this machine (Ollama and its runners, hailo-ollama, llama-server: found
by bench.runner.serverproc): the generation happens there, it is the workload, and
``server`` reports it (CPU %, RSS) beside ``other_cpu_pct``, which leaves it out.
``steal_pct`` is the hypervisor's stolen time (null where the kernel does not report it).
A case where others used at least ``BUSY_PCT`` of the machine is labelled "busy host" in the
results and in every table: its figures are likely low.

A window under ``MIN_WINDOW_S`` is too short to tell (the kernel counts CPU time in 10 ms
ticks): its summary keeps ``window_s`` and ``cores`` with ``other_cpu_pct``, ``steal_pct`` and
``busy`` null and ``reason`` saying why; such a case is labelled "host load n/a" (real
backends), so every table reads n/a instead of leaving it out.
"""

from __future__ import annotations

import os
import time
from types import TracebackType
from typing import TypedDict

import psutil

from bench.backends.base import ServerAddress
from bench.runner.serverproc import ServerLoad, ServerWatch

BUSY_PCT = 5.0
"""Other processes' share of all cores (%) from which a case is labelled busy host."""
MIN_WINDOW_S = 1.0
"""Shorter windows give no figure: the kernel counts CPU time in 10 ms ticks."""


class HostLoadSummary(TypedDict):
    window_s: float
    cores: int
    other_cpu_pct: float | None
    """CPU time used by processes other than pibench, % of all cores over the window (null:
    window under MIN_WINDOW_S, see ``reason``)."""
    steal_pct: float | None
    """CPU time stolen by the hypervisor, % of all cores (null: not reported here, or window
    too short)."""
    busy: bool | None
    """other_cpu_pct or steal_pct >= BUSY_PCT; null when the window was too short to tell."""
    server: ServerLoad | None
    """The backend's server (HTTP backends), its CPU time left out of other_cpu_pct;
    None for a backend that generates in pibench's own process."""
    reason: str | None
    """Why other_cpu_pct is null (the window was too short); null when it was measured."""


def _machine() -> tuple[float, float | None]:
    """(busy seconds of all cores, steal seconds or None)."""
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    steal = getattr(t, "steal", None)
    total = sum(t)
    # guest time is already inside user on Linux: do not count it twice
    total -= getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)
    return total - idle - (steal or 0.0), steal


def _ours(me: psutil.Process, skip: set[int]) -> dict[int, float]:
    """CPU seconds of this process (with reaped children) and of each live descendant, but
    the server's processes (``skip``: a server started by pibench's caller is counted once,
    as the server)."""
    t = me.cpu_times()
    out = {me.pid: t.user + t.system + t.children_user + t.children_system}
    for child in me.children(recursive=True):
        if child.pid in skip:
            continue
        try:
            c = child.cpu_times()
            out[child.pid] = c.user + c.system
        except psutil.Error:
            continue
    return out


class HostLoad:
    """Context manager: ``with HostLoad(server) as load: ...`` then ``load.summary()``;
    ``server`` is the backend's ``server()`` (None: generation runs in this process)."""

    def __init__(self, server: ServerAddress | None = None) -> None:
        self._me = psutil.Process(os.getpid())
        self._server = ServerWatch(server) if server is not None else None
        self._start: tuple[float, float, float | None, dict[int, float]] | None = None
        self._result: HostLoadSummary | None = None

    def __enter__(self) -> HostLoad:
        skip: set[int] = set()
        if self._server is not None:
            self._server.start()  # finds the processes: before the window opens
            skip = self._server.pids()
        busy, steal = _machine()
        self._start = (time.monotonic(), busy, steal, _ours(self._me, skip))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._start is None:
            return
        t0, busy0, steal0, ours0 = self._start
        busy1, steal1 = _machine()
        window = time.monotonic() - t0
        server_s = 0.0
        skip: set[int] = set()
        if self._server is not None:
            server_s, now = self._server.stop()
            skip = set(now)
        ours1 = _ours(self._me, skip)
        cores = psutil.cpu_count() or 1
        server = None if self._server is None else self._server.summary(
            server_s if self._server.roots else None, window, cores)
        if window < MIN_WINDOW_S:
            self._result = {
                "window_s": round(window, 3), "cores": cores, "other_cpu_pct": None,
                "steal_pct": None, "busy": None, "server": server,
                "reason": short_window(window),
            }
            return
        # a descendant that ended inside the window was reaped into children_* of its
        # parent; one that is still alive counts from its start value (0 if it is new)
        ours = sum(v - ours0.get(pid, 0.0) for pid, v in ours1.items() if pid not in skip)
        capacity = max(window * cores, 1e-9)
        other = max(0.0, busy1 - busy0 - ours - server_s) / capacity * 100
        steal = None if steal0 is None or steal1 is None else (steal1 - steal0) / capacity * 100
        self._result = {
            "window_s": round(window, 3),
            "cores": cores,
            "other_cpu_pct": round(other, 2),
            "steal_pct": None if steal is None else round(steal, 2),
            "busy": other >= BUSY_PCT or (steal or 0.0) >= BUSY_PCT,
            "server": server,
            "reason": None,
        }

    def summary(self) -> HostLoadSummary | None:
        """The figures (null ones with a reason when the window was too short), or None when
        the window never closed."""
        return self._result


def short_window(window_s: float) -> str:
    return (f"the measured repetitions lasted {window_s:.2f} s, under {MIN_WINDOW_S:g} s: too"
            " short to tell other processes' CPU time (the kernel counts it in 10 ms ticks)")
