"""The processes of a backend's server, and the CPU time they use while a case is measured.

An HTTP backend (Ollama, hailo-ollama, llama-server, any OpenAI-compatible server) generates
in another process. When that process runs on this machine its CPU time is the workload:
``ServerWatch`` finds it and measures it, so that bench.runner.hostload can leave it out of
"other processes". How the processes are found, in this order:

- ``server_pid`` from the backend's options: that process;
- ``server_process``: every process of that name (its executable's base name, or argv[0]'s);
- otherwise the process listening on the port of ``base_url`` on this machine.

The children of those processes count with them (Ollama runs each model in an ``ollama
runner`` child). A server on another host is recorded as not seen: its CPU is not on this
machine. A local server that cannot be found is recorded with the reason; its CPU time then
stays in "other processes".
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass, field
from typing import TypedDict

import psutil

from bench.backends.base import ServerAddress


class ServerLoad(TypedDict):
    url: str
    seen: bool
    """True when the server's processes were found on this machine and measured."""
    reason: str | None
    """Why the server's CPU is not seen (another host, no such process), or None."""
    found_by: str | None
    """How the processes were found: "server_pid 1234", "server_process 'ollama'",
    "listening on port 11434"."""
    pids: list[int]
    """The server's processes at the end of the window, children included."""
    names: list[str]
    cpu_s: float | None
    """CPU seconds (user + system) of those processes over the window."""
    cpu_pct: float | None
    """cpu_s as a % of all cores over the window (the unit of other_cpu_pct)."""
    cpu_cores: float | None
    """cpu_s / window: how many cores the server kept busy on average."""
    rss_mb: float | None
    """Resident memory of the server's processes at the end of the window, MiB."""


def is_local(host: str) -> bool:
    """Whether ``host`` is this machine: loopback, or one of its interfaces' addresses."""
    if host in ("", "localhost") or host.endswith(".localhost"):
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    mine = {a.address.split("%")[0] for addrs in psutil.net_if_addrs().values() for a in addrs}
    for info in infos:
        addr = str(info[4][0]).split("%")[0]
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            continue
        if ip.is_loopback or ip.is_unspecified or addr in mine:
            return True
    return False


def _listening_pids(port: int) -> tuple[list[int], str | None]:
    try:
        conns = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        return [], "listening sockets cannot be read here (permission denied): set server_pid"
    pids = sorted({c.pid for c in conns
                   if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                   and c.pid is not None})
    if pids:
        return pids, None
    listening = any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                    for c in conns)
    if listening:
        return [], (f"port {port} is listening but its process is not visible (another "
                    "user's or a container's): set server_pid or server_process")
    return [], (f"no process of this machine listens on port {port} (a container or a proxy?): "
                "set server_pid or server_process")


def _named(name: str) -> list[int]:
    out = []
    for p in psutil.process_iter(["name", "exe", "cmdline"]):
        info = p.info
        exe = (info.get("exe") or "").rsplit("/", 1)[-1]
        argv0 = ((info.get("cmdline") or [""])[0] or "").rsplit("/", 1)[-1]
        if name in (info.get("name"), exe, argv0):
            out.append(p.pid)
    return sorted(out)


def find_roots(address: ServerAddress) -> tuple[list[int], str | None, str | None]:
    """(pids, found_by, reason): the server's top processes, or none and why not."""
    if address.pid is not None:
        if psutil.pid_exists(address.pid):
            return [address.pid], f"server_pid {address.pid}", None
        return [], None, f"server_pid {address.pid}: no such process on this machine"
    if address.process_name:
        pids = _named(address.process_name)
        if pids:
            return pids, f"server_process {address.process_name!r}", None
        return [], None, f"server_process {address.process_name!r}: no such process here"
    if not is_local(address.host):
        return [], None, (f"the server runs on another host ({address.host}): its CPU time "
                          "is not seen from here")
    if address.port is None:
        return [], None, f"no port in {address.url}: set server_pid or server_process"
    pids, reason = _listening_pids(address.port)
    if pids:
        return pids, f"listening on port {address.port}", None
    return [], None, reason


def _tree(roots: list[int]) -> dict[int, psutil.Process]:
    procs: dict[int, psutil.Process] = {}
    for pid in roots:
        try:
            root = psutil.Process(pid)
            procs[pid] = root
            for child in root.children(recursive=True):
                procs[child.pid] = child
        except psutil.Error:
            continue
    return procs


def _cpu(procs: dict[int, psutil.Process], roots: set[int]) -> dict[int, float]:
    """CPU seconds per process; a root's include its reaped children (ended runners)."""
    out = {}
    for pid, p in procs.items():
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        out[pid] = t.user + t.system + (t.children_user + t.children_system
                                        if pid in roots else 0.0)
    return out


@dataclass
class ServerWatch:
    """Measures a server's CPU time over a window: ``start()``, then ``stop(window_s)``."""

    address: ServerAddress
    roots: list[int] = field(default_factory=list)
    found_by: str | None = None
    reason: str | None = None
    _start: dict[int, float] = field(default_factory=dict)
    _procs: dict[int, psutil.Process] = field(default_factory=dict)

    def start(self) -> None:
        self.roots, self.found_by, self.reason = find_roots(self.address)
        if os.getpid() in self.roots:
            # a server in pibench's own process (a test's server thread): its CPU time is
            # already pibench's, never "other processes"
            self.roots = [p for p in self.roots if p != os.getpid()]
            if not self.roots:
                self.reason = "the server runs inside pibench's own process: counted as pibench"
        self._procs = _tree(self.roots)
        self._start = _cpu(self._procs, set(self.roots))

    def pids(self) -> set[int]:
        """The server's processes now (children started since start() included)."""
        self._procs.update(_tree(self.roots))
        return set(self._procs)

    def stop(self) -> tuple[float, dict[int, float]]:
        """(CPU seconds the server used since start(), its CPU seconds now per process)."""
        self._procs.update(_tree(self.roots))
        now = _cpu(self._procs, set(self.roots))
        # a process that started inside the window counts from 0; one that ended inside it
        # was reaped into its parent's children_* (roots only) or is lost (a grandchild)
        used = sum(v - self._start.get(pid, 0.0) for pid, v in now.items())
        return max(0.0, used), now

    def summary(self, cpu_s: float | None, window_s: float, cores: int) -> ServerLoad:
        seen = bool(self.roots) and cpu_s is not None
        rss = 0
        names: list[str] = []
        alive: list[int] = []
        for pid, p in sorted(self._procs.items()):
            try:
                rss += p.memory_info().rss
                names.append(p.name())
                alive.append(pid)
            except psutil.Error:
                continue
        capacity = max(window_s * cores, 1e-9)
        return {
            "url": self.address.url,
            "seen": seen,
            "reason": self.reason,
            "found_by": self.found_by,
            "pids": alive,
            "names": sorted(set(names)),
            "cpu_s": round(cpu_s, 3) if seen and cpu_s is not None else None,
            "cpu_pct": round(cpu_s / capacity * 100, 2) if seen and cpu_s is not None else None,
            "cpu_cores": round(cpu_s / max(window_s, 1e-9), 3)
            if seen and cpu_s is not None else None,
            "rss_mb": round(rss / 2**20, 1) if seen and alive else None,
        }
