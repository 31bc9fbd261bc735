"""Asking the Raspberry Pi firmware a ``vcgencmd`` question, without a process per question.

``vcgencmd pmic_read_adc`` is a program that opens the VideoCore mailbox device
(``/dev/vcio``), sends one property message with the tag GET_GENCMD_RESULT (0x00030080)
holding the command text, and prints the text the firmware writes back. Spawning it ten times
a second costs a fork and an exec per reading on the very cores the benchmark measures.
``MailboxGencmd`` sends the same message from this process through the same ioctl, with the
device opened once: one system call per reading, and the firmware round trip is a wait in the
kernel, not work on the ARM cores.

The message, as 32-bit words in the CPU's byte order (the layout of the Raspberry Pi
firmware's mailbox property interface; 1024 bytes is the buffer the published vcgencmd
uses)::

    [0] total size in bytes        [1] 0 = request (0x80000000 = answered)
    [2] 0x00030080 (the tag)       [3] value buffer size (1024)
    [4] 0 (answer: 0x80000000 | length)   [5] 0 (answer: the command's error code)
    [6...] command text, NUL-terminated, padded to the buffer size
    [last] 0 (end tag)

``ProcessGencmd`` runs the vcgencmd program instead (the fallback, and what a custom
``command:`` uses). Both are callables ``command text -> answer text`` and raise OSError
(device or program missing, no permission) or ``GencmdFailed``.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import struct
import threading
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from bench.meters.sources import CommandFailed, RunCommand, run_command

GET_GENCMD_RESULT = 0x00030080
BUFFER_BYTES = 1024
REQUEST, ANSWERED = 0x00000000, 0x80000000
DEVICE = "/dev/vcio"
Transport = Literal["auto", "mailbox", "vcgencmd"]


def _iowr(kind: int, nr: int, size: int) -> int:
    """Linux's _IOWR(type, nr, size) request number."""
    return (3 << 30) | (size << 16) | (kind << 8) | nr


IOCTL_MBOX_PROPERTY = _iowr(100, 0, struct.calcsize("P"))
"""_IOWR(100, 0, char *): 0xC0086400 on a 64-bit kernel."""

Ioctl = Callable[[int, int, bytearray], object]


class GencmdFailed(CommandFailed):
    """The firmware (or vcgencmd) answered with an error or an unusable message."""


class Gencmd(Protocol):
    transport: str

    def __call__(self, command: str) -> str: ...

    def close(self) -> None: ...


def _ioctl(fd: int, request: int, buf: bytearray) -> object:
    return fcntl.ioctl(fd, request, buf, True)


def pack_request(command: str, buffer_bytes: int = BUFFER_BYTES) -> bytearray:
    text = command.encode("ascii")
    if len(text) + 1 > buffer_bytes:
        raise GencmdFailed(f"gencmd `{command}` is longer than the {buffer_bytes}-byte buffer")
    words = 6 + buffer_bytes // 4 + 1
    buf = bytearray(4 * words)
    struct.pack_into("=6I", buf, 0, 4 * words, REQUEST, GET_GENCMD_RESULT, buffer_bytes, 0, 0)
    buf[24 : 24 + len(text)] = text
    return buf


def unpack_answer(command: str, buf: bytearray, buffer_bytes: int = BUFFER_BYTES) -> str:
    _size, code, tag, _blen, length, error = struct.unpack_from("=6I", buf, 0)
    if code != ANSWERED:
        raise GencmdFailed(f"mailbox did not answer `{command}` (code 0x{code:08x})")
    if tag != GET_GENCMD_RESULT or not length & 0x80000000:
        raise GencmdFailed(f"mailbox answer to `{command}` is malformed (tag 0x{tag:08x})")
    raw = bytes(buf[24 : 24 + buffer_bytes])
    text = raw.split(b"\0", 1)[0].decode("ascii", errors="replace")
    if error:
        raise GencmdFailed(f"firmware returned error {error} for `{command}`: {text.strip()}")
    if b"\0" not in raw:
        raise GencmdFailed(f"answer to `{command}` filled the {buffer_bytes}-byte buffer: cut off")
    return text


class MailboxGencmd:
    """Gencmd through the mailbox device, opened once; thread-safe."""

    transport = "mailbox"

    def __init__(self, device: str = DEVICE, *, ioctl: Ioctl | None = None) -> None:
        self.device = device
        self._ioctl: Ioctl = ioctl or _ioctl
        self._fd: int | None = os.open(device, os.O_RDONLY)  # as vcgencmd opens it
        self._lock = threading.Lock()

    def __call__(self, command: str) -> str:
        buf = pack_request(command)
        with self._lock:
            if self._fd is None:
                raise GencmdFailed(f"{self.device} is closed")
            self._ioctl(self._fd, IOCTL_MBOX_PROPERTY, buf)
        return unpack_answer(command, buf)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class ProcessGencmd:
    """Gencmd by running the vcgencmd program: one process per question."""

    transport = "vcgencmd"

    def __init__(self, program: Sequence[str], *, run: RunCommand | None = None,
                 timeout_s: float = 2.0) -> None:
        self.program = list(program)
        self._run: RunCommand = run or (lambda argv: run_command(argv, timeout_s))

    def __call__(self, command: str) -> str:
        return self._run([*self.program, *shlex.split(command)])

    def close(self) -> None:
        pass


def open_gencmd(transport: Transport, program: Sequence[str], *, device: str = DEVICE,
                run: RunCommand | None = None, ioctl: Ioctl | None = None,
                timeout_s: float = 2.0) -> Gencmd:
    """The transport asked for. ``auto``: the mailbox when the device opens and ``program``
    is the stock vcgencmd (a custom program is run as given), else the program.
    Raises OSError when ``mailbox`` is asked for and the device cannot be opened."""
    if transport == "mailbox":
        return MailboxGencmd(device, ioctl=ioctl)
    stock = bool(program) and os.path.basename(program[0]) == "vcgencmd"
    if transport == "auto" and run is None and stock:
        try:
            return MailboxGencmd(device, ioctl=ioctl)
        except OSError:
            pass
    return ProcessGencmd(program, run=run, timeout_s=timeout_s)
