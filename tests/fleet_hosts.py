"""Pretend Raspberry Pis for the fleet test: sshd in network namespaces made here.

Each host is a network namespace with a veth pair to this machine (addresses in
10.250.0.0/16, used only on the veths made here), its own UTS namespace (so its own host
name) and its own mount namespace in which board facts from a fixture folder
(tests/data/fleet/<host>/cpuinfo, os-release) are bind-mounted over /proc/cpuinfo and
/etc/os-release. Only that host's processes see them: pibench on the host reads them through
its ordinary code paths, nothing in pibench knows about the test. sshd runs with a config,
host key and authorized key made here; root logs in with the key.

The hosts share this machine's file system: each gets its own folders (its pibench home,
its venv, Ansible's remote and async temp folders) under the test's tmp_path.

Needs root, ``ip`` (iproute2), ``unshare``, /usr/sbin/sshd and ssh-keygen: ``missing()``
says what is not there, for the skip reason.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def missing() -> str | None:
    """Why namespace hosts cannot be made here, or None."""
    if os.geteuid() != 0:
        return "not root: network namespaces and sshd need root (CI runs as root)"
    for tool in ("ip", "unshare", "ssh", "ssh-keygen", "mount"):
        if not shutil.which(tool):
            return f"no {tool} on PATH (bash scripts/install-test-deps.sh installs it)"
    if not os.access(SSHD, os.X_OK):
        return f"no {SSHD}: apt-get install openssh-server (scripts/install-test-deps.sh)"
    probe = f"pbprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot make a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _run(*argv: str) -> str:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {out.stderr.strip()}")
    return out.stdout


def free_subnet() -> int:
    """A third octet x such that 10.250.x.0/24 is on no interface of this machine."""
    used = _run("ip", "-o", "-4", "addr", "show")
    nets = [ipaddress.ip_interface(w).network for line in used.splitlines()
            for i, w in enumerate(line.split()) if i > 0 and line.split()[i - 1] == "inet"]
    for x in [*range(os.getpid() % 200 + 20, 250), *range(20, 250)]:
        net = ipaddress.ip_network(f"10.250.{x}.0/24")
        if not any(net.overlaps(n) for n in nets):
            return x
    raise RuntimeError("no free 10.250.x.0/24 subnet")


def keygen(path: Path) -> str:
    """An ed25519 key pair at path (and path.pub); returns the public key line."""
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path))
    return path.with_suffix(".pub").read_text().strip()


@dataclass
class NamespaceHost:
    name: str
    index: int
    subnet: int
    root: Path
    fixture: Path
    client_pub: str
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def netns(self) -> str:
        return f"pbf{os.getpid()}{self.index}"

    @property
    def veth(self) -> str:
        return f"pbf{os.getpid() % 100000}{self.index}"  # <= 15 characters

    @property
    def address(self) -> str:
        return f"10.250.{self.subnet}.{4 * self.index + 2}"

    @property
    def host_key_pub(self) -> str:
        return (self.root / "ssh_host_ed25519_key.pub").read_text().strip()

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        keygen(self.root / "ssh_host_ed25519_key")
        (self.root / "authorized_keys").write_text(self.client_pub + "\n")
        (self.root / "sshd_config").write_text("\n".join([
            f"ListenAddress {self.address}",
            "Port 22",
            f"HostKey {self.root / 'ssh_host_ed25519_key'}",
            f"PidFile {self.root / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.root / 'authorized_keys'}",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "PrintMotd no",
            "Subsystem sftp internal-sftp",
            "",
        ]))
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        _run("ip", "netns", "add", self.netns)
        _run("ip", "link", "add", f"{self.veth}h", "type", "veth", "peer", "name",
             f"{self.veth}p")
        _run("ip", "link", "set", f"{self.veth}p", "netns", self.netns)
        _run("ip", "addr", "add", f"10.250.{self.subnet}.{4 * self.index + 1}/30", "dev",
             f"{self.veth}h")
        _run("ip", "link", "set", f"{self.veth}h", "up")
        inside = ("ip", "netns", "exec", self.netns)
        _run(*inside, "ip", "addr", "add", f"{self.address}/30", "dev", f"{self.veth}p")
        _run(*inside, "ip", "link", "set", f"{self.veth}p", "up")
        _run(*inside, "ip", "link", "set", "lo", "up")
        script = " && ".join([
            f"hostname {self.name}",
            f"mount --bind {self.fixture / 'cpuinfo'} /proc/cpuinfo",
            f"mount --bind {self.fixture / 'os-release'} /etc/os-release",
            f"exec {SSHD} -D -e -f {self.root / 'sshd_config'}",
        ])
        log = open(self.root / "sshd.log", "wb")  # noqa: SIM115 (sshd's stderr, for a failure)
        self.proc = subprocess.Popen(
            [*inside, "unshare", "--uts", "--mount", "--propagation", "private",
             "sh", "-c", script], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._wait_listening()

    def _wait_listening(self, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError), socket.create_connection((self.address, 22), 1):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name}: sshd does not listen on {self.address}:22: "
                           + (self.root / "sshd.log").read_text(errors="replace")[-500:])

    def pids(self) -> list[int]:
        out = subprocess.run(["ip", "netns", "pids", self.netns], capture_output=True,
                             text=True)
        return [int(p) for p in out.stdout.split()]

    def kill_sshd(self) -> list[int]:
        """Kill every sshd process of this host (the listener and each session), as when
        sshd dies on a Pi: what it started in the background goes on. Returns the pids."""
        killed = []
        for pid in self.pids():
            try:
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            if comm.startswith("sshd"):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
        return killed

    def stop(self) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        subprocess.run(["ip", "link", "del", f"{self.veth}h"], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
