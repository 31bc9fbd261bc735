"""The backend's server is the workload: found by port, pid or name, its CPU time reported and
left out of "other processes" (bench.runner.serverproc, bench.runner.hostload)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bench.backends._server import server_address
from bench.backends.base import ServerAddress
from bench.backends.ollama.config import OllamaOptions
from bench.backends.openai.config import OpenAIOptions
from bench.runner.hostload import HostLoad
from bench.runner.serverproc import ServerWatch, is_local

# a stand-in server: listens on a port (written to a file), then either burns a core itself or
# sleeps while a child burns it (like `ollama serve` and its `ollama runner`)
SERVER = """
import socket, subprocess, sys, time
seconds, mode, out = float(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
spin = "import time\\nt = time.monotonic() + %f\\nwhile time.monotonic() < t: pass\\n" % seconds
child = subprocess.Popen([sys.executable, "-c", spin]) if mode == "child" else None
open(out, "w").write(str(s.getsockname()[1]))
end = time.monotonic() + seconds
while time.monotonic() < end:
    if child is not None:
        time.sleep(0.05)
if child is not None:
    child.wait()
"""


def _server(tmp_path: Path, seconds: float, mode: str) -> tuple[psutil.Process, int]:
    """The stand-in, started as a server is: NOT a descendant of this process (its shell
    parent exits at once), so pibench would otherwise count it as "other processes"."""
    script, port_file = tmp_path / "server.py", tmp_path / "port"
    script.write_text(SERVER)
    line = (f"'{sys.executable}' '{script}' {seconds} {mode} '{port_file}' "
            "</dev/null >/dev/null 2>&1 & echo $!")
    pid = int(subprocess.run(["sh", "-c", line], check=True, capture_output=True,
                             text=True).stdout.strip())
    proc = psutil.Process(pid)
    deadline = time.monotonic() + 20
    while not (port_file.exists() and port_file.read_text()):
        assert proc.is_running() and time.monotonic() < deadline, "stand-in server failed"
        time.sleep(0.05)
    time.sleep(0.3)  # let it spin up
    assert proc.pid not in {c.pid for c in psutil.Process().children(recursive=True)}
    return proc, int(port_file.read_text())


def test_a_server_found_by_its_port_is_the_workload_not_other_processes(tmp_path: Path) -> None:
    proc, port = _server(tmp_path, 3.0, "self")
    cores = psutil.cpu_count() or 1
    try:
        # the same window read twice: as a server (left out) and as nothing known (other)
        addr = ServerAddress(url=f"http://127.0.0.1:{port}", host="127.0.0.1", port=port)
        with HostLoad(addr) as served, HostLoad() as blind:
            time.sleep(1.5)
    finally:
        proc.wait(timeout=30)
    s, b = served.summary(), blind.summary()
    assert s is not None and b is not None
    srv = s["server"]
    assert srv is not None and srv["seen"] and srv["found_by"] == f"listening on port {port}"
    assert srv["pids"] == [proc.pid] and srv["rss_mb"] and srv["rss_mb"] > 1
    # the stand-in burns one core; on a shared machine it may get a small part of it, but an
    # idle process would show about 0
    assert srv["cpu_cores"] is not None and srv["cpu_cores"] >= 0.1, srv
    assert srv["cpu_pct"] == pytest.approx(srv["cpu_cores"] * 100 / cores, abs=1.0)
    # what the blind reading called "other" is the server's CPU time (a few % of slack for
    # the two readings not being at the same instant)
    assert b["other_cpu_pct"] - s["other_cpu_pct"] == pytest.approx(srv["cpu_pct"], abs=5), (s, b)
    assert b["server"] is None


def test_a_server_named_by_pid_counts_its_children(tmp_path: Path) -> None:
    proc, _ = _server(tmp_path, 3.0, "child")
    try:
        addr = ServerAddress(url="http://127.0.0.1:1", host="127.0.0.1", port=1, pid=proc.pid)
        with HostLoad(addr) as load:
            time.sleep(1.5)
    finally:
        proc.wait(timeout=30)
    s = load.summary()
    assert s is not None and s["server"] is not None
    srv = s["server"]
    assert srv["seen"] and srv["found_by"] == f"server_pid {proc.pid}"
    assert len(srv["pids"]) == 2 and proc.pid in srv["pids"]  # the server and its runner
    # the parent sleeps (about 0 cores): what shows is the core the child burns
    assert srv["cpu_cores"] is not None and srv["cpu_cores"] >= 0.1, srv


def test_a_server_named_by_process_name(tmp_path: Path) -> None:
    proc, _ = _server(tmp_path, 2.0, "self")
    try:
        name = psutil.Process(proc.pid).name()
        watch = ServerWatch(ServerAddress(url="x", host="", port=None, process_name=name))
        watch.start()
        assert proc.pid in watch.roots and watch.found_by == f"server_process {name!r}"
    finally:
        proc.wait(timeout=30)


def test_a_server_on_another_host_is_not_seen() -> None:
    assert not is_local("192.0.2.7")  # TEST-NET-1: never this machine
    assert is_local("127.0.0.1") and is_local("localhost") and is_local("::1")
    addr = server_address(OllamaOptions(base_url="http://192.0.2.7:11434"))
    with HostLoad(addr) as load:
        time.sleep(1.1)
    s = load.summary()
    assert s is not None and s["server"] is not None
    srv = s["server"]
    assert not srv["seen"] and srv["cpu_pct"] is None and srv["rss_mb"] is None
    assert srv["reason"] == ("the server runs on another host (192.0.2.7): its CPU time is "
                             "not seen from here")


def test_a_local_server_that_cannot_be_found_says_why() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    watch = ServerWatch(server_address(OpenAIOptions(base_url=f"http://127.0.0.1:{port}")))
    watch.start()
    assert watch.roots == [] and watch.reason is not None
    assert watch.reason.startswith(f"no process of this machine listens on port {port}")
    gone = ServerWatch(ServerAddress(url="x", host="", port=None, pid=2**22 + 12345))
    gone.start()
    assert gone.reason == f"server_pid {2**22 + 12345}: no such process on this machine"


def test_a_server_inside_pibench_is_pibench() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        watch = ServerWatch(ServerAddress(url="x", host="127.0.0.1", port=port))
        watch.start()
    assert watch.roots == [] and watch.reason is not None and "own process" in watch.reason
    assert os.getpid() not in watch.pids()


def test_server_address_from_the_options() -> None:
    a = server_address(OpenAIOptions(base_url="http://127.0.0.1:8080/", server_pid=42))
    assert (a.host, a.port, a.pid, a.process_name) == ("127.0.0.1", 8080, 42, None)
    b = server_address(OllamaOptions(server_process="ollama"))
    assert (b.host, b.port, b.process_name) == ("127.0.0.1", 11434, "ollama")
    assert server_address(OpenAIOptions(base_url="https://example.org")).port == 443
