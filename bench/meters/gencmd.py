"""Asking the Raspberry Pi firmware a ``vcgencmd`` question, without a process per question.

What vcgencmd does (raspberrypi/utils vcgencmd/vcgencmd.c at a30e7c7, 2026-06-23:
``mbox_open``, ``gencmd``, ``main``), and so what ``MailboxGencmd`` does from this process:
- open ``/dev/vcio_gencmd`` (a device that lets through only the GET_GENCMD_RESULT tag, so
  it can be given to a group safely; raspberrypi/linux PR 7351, 2026-05-08), else
  ``/dev/vcio`` (every tag; often root-only);
- send one property message through ioctl ``_IOWR(100, 0, char *)``, as 32-bit words::

    [0] total size in bytes        [1] 0 (request)
    [2] 0x00030080 (the tag)       [3] 4096 (value buffer; 1024 before utils 41d0d40)
    [4] 0 (request length)         [5] 0 (the command's error code comes back here)
    [6...] command text, NUL-terminated, padded to the buffer size
    [last] 0 (end tag)

- read word [5] as the error code (-1: unknown command) and the text from word [6].
  vcgencmd never reads word [4] (whether the firmware sets its response bit for this tag is
  not documented), so neither does this reader.
- An answer that does not fit the buffer makes the ioctl fail with EINVAL: the firmware's
  status word is not "success", raspberrypi/linux drivers/firmware/raspberrypi.c
  ``rpi_firmware_property_list`` turns that into -EINVAL and drivers/char/broadcom/vcio.c
  ``vcio_user_property_list`` returns before copying anything back. Nothing is truncated.
  (vcgencmd itself then prints ``ioctl_set_msg failed:-1`` and the command text, exit 0.)

``ProcessGencmd`` runs the vcgencmd program instead: a fork and an exec per question on the
cores being measured (scripts/bench_sampler_cost.py measures it). ``open_gencmd("auto")``
uses the mailbox when a device opens and a start-up question is answered, else the process,
with one warning (``take_warnings``) that says why and what it costs.
"""

from __future__ import annotations

import errno
import fcntl
import grp
import os
import pwd
import shlex
import stat
import struct
import threading
from collections.abc import Sequence
from typing import Literal, Protocol

from bench.meters.sources import CommandFailed, RunCommand, run_command

GET_GENCMD_RESULT = 0x00030080
BUFFER_BYTES = 4096
"""vcgencmd's MAX_STRING since raspberrypi/utils 41d0d40 (2026-05-26); 1024 before."""
DEVICES = ("/dev/vcio_gencmd", "/dev/vcio")
"""Tried in this order, as vcgencmd's mbox_open does."""
Transport = Literal["auto", "mailbox", "vcgencmd"]
PROCESS_COST = (
    "one vcgencmd process per reading: a fork and an exec on the cores being measured"
    " (scripts/bench_sampler_cost.py measures the cost)"
)


def _iowr(kind: int, nr: int, size: int) -> int:
    """Linux's _IOWR(type, nr, size) request number."""
    return (3 << 30) | (size << 16) | (kind << 8) | nr


IOCTL_MBOX_PROPERTY = _iowr(100, 0, struct.calcsize("P"))
"""_IOWR(100, 0, char *): 0xC0086400 on a 64-bit kernel."""


class GencmdFailed(CommandFailed):
    """The firmware (or vcgencmd) answered with an error, or refused the message."""


class FirmwareError(GencmdFailed):
    """Word [5] was not 0: the firmware ran the message but the command failed (e.g. -1,
    "Command not registered"); the transport itself works."""


class MailboxUnavailable(OSError):
    """No mailbox device could be opened; the message says why and what fixes it."""

    all_missing = False
    """True when no device exists at all (not a Raspberry Pi)."""


class MailboxIO(Protocol):
    """The system calls the mailbox uses; tests/fakes/vcio.py provides a fake kernel."""

    def open(self, path: str) -> int: ...

    def ioctl(self, fd: int, request: int, buf: bytearray) -> object: ...

    def close(self, fd: int) -> None: ...


class OsMailboxIO:
    def open(self, path: str) -> int:
        return os.open(path, os.O_RDONLY)  # vcgencmd: open(device, 0)

    def ioctl(self, fd: int, request: int, buf: bytearray) -> object:
        return fcntl.ioctl(fd, request, buf, True)

    def close(self, fd: int) -> None:
        os.close(fd)


class Gencmd(Protocol):
    transport: str
    """"mailbox /dev/vcio_gencmd", "mailbox /dev/vcio" or "vcgencmd"."""

    def __call__(self, command: str) -> str: ...

    def close(self) -> None: ...


def pack_request(command: str, buffer_bytes: int = BUFFER_BYTES) -> bytearray:
    text = command.encode("ascii")
    if len(text) + 1 >= buffer_bytes:  # vcgencmd gencmd(): `len + 1 >= MAX_STRING` refused
        raise GencmdFailed(
            f"gencmd `{command[:40]}...` is {len(text)} bytes: the limit is {buffer_bytes - 2}"
        )
    words = 6 + buffer_bytes // 4 + 1
    buf = bytearray(4 * words)
    struct.pack_into("=6I", buf, 0, 4 * words, 0, GET_GENCMD_RESULT, buffer_bytes, 0, 0)
    buf[24 : 24 + len(text)] = text
    return buf


def unpack_answer(command: str, buf: bytearray, buffer_bytes: int = BUFFER_BYTES) -> str:
    """The answer text; GencmdFailed when word [5] (the command's error code) is not 0.
    Reads only what vcgencmd reads: word [5] and the text from word [6]."""
    (error,) = struct.unpack_from("=i", buf, 20)
    raw = bytes(buf[24 : 24 + buffer_bytes])
    text = raw.split(b"\0", 1)[0].decode("ascii", errors="replace")
    if error:
        raise FirmwareError(f"firmware returned error {error} for `{command}`: {text.strip()}")
    return text


class MailboxGencmd:
    """Gencmd through one mailbox device, opened once; thread-safe."""

    def __init__(self, device: str, fd: int, io: MailboxIO) -> None:
        self.device, self._io = device, io
        self._fd: int | None = fd
        self.transport = f"mailbox {device}"
        self._lock = threading.Lock()

    def __call__(self, command: str) -> str:
        buf = pack_request(command)
        with self._lock:
            if self._fd is None:
                raise GencmdFailed(f"{self.device} is closed")
            try:
                self._io.ioctl(self._fd, IOCTL_MBOX_PROPERTY, buf)
            except OSError as exc:
                raise _ioctl_failed(command, self.device, exc) from None
        return unpack_answer(command, buf)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                self._io.close(self._fd)
                self._fd = None


def _ioctl_failed(command: str, device: str, exc: OSError) -> Exception:
    if exc.errno == errno.EINVAL:
        return GencmdFailed(
            f"the firmware refused `{command}` through {device} (EINVAL): its answer does not"
            f" fit the {BUFFER_BYTES}-byte buffer (the firmware fails rather than cut it"
            " off), or the message was rejected"
        )
    if exc.errno == errno.EPERM:
        return GencmdFailed(f"{device} does not permit the GET_GENCMD_RESULT tag (EPERM)")
    return GencmdFailed(f"mailbox ioctl for `{command}` on {device} failed: {exc}")


def _owner(path: str) -> str:
    """ " (owner root:video, mode 0660)" for a real device file, "" if it cannot be told."""
    try:
        st = os.stat(path)
        user = pwd.getpwuid(st.st_uid).pw_name
        group = grp.getgrgid(st.st_gid).gr_name
    except (OSError, KeyError):
        return ""
    return f" (owner {user}:{group}, mode {stat.S_IMODE(st.st_mode):04o})"


def _why(path: str, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "missing"
    if isinstance(exc, PermissionError):
        return "permission denied" + _owner(path)
    return str(exc.strerror or exc)


def _fix(tried: dict[str, OSError]) -> str:
    gencmd, vcio = (tried.get(d) for d in DEVICES)
    if isinstance(gencmd, FileNotFoundError) and isinstance(vcio, FileNotFoundError):
        return "no VideoCore mailbox here: not a Raspberry Pi (or the vcio driver is not loaded)"
    rule = (
        'a udev rule such as `KERNEL=="vcio_gencmd", GROUP="video", MODE="0660"` in'
        " /etc/udev/rules.d/99-vcio-gencmd.rules (that device passes only gencmd, so it is"
        " safe to share)"
    )
    if isinstance(gencmd, FileNotFoundError):
        return (
            "update the kernel for /dev/vcio_gencmd (raspberrypi/linux PR 7351, 2026-05) and"
            f" add {rule}, or add the user to the group that owns /dev/vcio"
        )
    return (
        "add the user to the group that owns /dev/vcio_gencmd (`sudo usermod -aG video"
        f" $USER`, then log in again) or give it a group with {rule}"
    )


def open_mailbox(devices: Sequence[str] = DEVICES, io: MailboxIO | None = None) -> MailboxGencmd:
    """The first device of ``devices`` that opens. MailboxUnavailable (an OSError) names
    each device's failure (missing, permission denied with owner and mode) and the fix."""
    io = io or OsMailboxIO()
    tried: dict[str, OSError] = {}
    for path in devices:
        try:
            return MailboxGencmd(path, io.open(path), io)
        except OSError as exc:
            tried[path] = exc
    reasons = "; ".join(f"{p}: {_why(p, e)}" for p, e in tried.items())
    failure = MailboxUnavailable(f"no mailbox device opens ({reasons}); fix: {_fix(tried)}")
    failure.all_missing = all(isinstance(e, FileNotFoundError) for e in tried.values())
    raise failure


class ProcessGencmd:
    """Gencmd by running the vcgencmd program: one process per question."""

    transport = "vcgencmd"

    def __init__(self, program: Sequence[str], *, run: RunCommand | None = None,
                 timeout_s: float = 2.0) -> None:
        self.program = list(program)
        self._run: RunCommand = run or (lambda argv: run_command(argv, timeout_s))

    def __call__(self, command: str) -> str:
        try:
            out = self._run([*self.program, *shlex.split(command)])
        except CommandFailed as exc:
            if "Can't open device file" not in str(exc):
                raise
            raise GencmdFailed(  # vcgencmd mbox_open(): neither node opened for its user
                f"{exc}: vcgencmd opens the same devices as this process; fix:"
                f" {_fix({DEVICES[0]: PermissionError(), DEVICES[1]: PermissionError()})}"
            ) from None
        if out.startswith("ioctl_set_msg failed"):  # vcgencmd main(): printed, then exit 0
            raise GencmdFailed(
                f"vcgencmd `{command}`: {out.splitlines()[0]} (EINVAL: the answer does not fit"
                " vcgencmd's buffer, or the firmware rejected the message)"
            )
        return out

    def close(self) -> None:
        pass


_warnings: list[str] = []
_warnings_lock = threading.Lock()


def _warn(text: str) -> None:
    with _warnings_lock:
        if text not in _warnings:
            _warnings.append(text)


def take_warnings() -> list[str]:
    """The fallback warnings given since the last call, each once (the runner prints them)."""
    with _warnings_lock:
        out = list(_warnings)
        _warnings.clear()
    return out


def open_gencmd(transport: Transport, program: Sequence[str], *, device: str | None = None,
                run: RunCommand | None = None, io: MailboxIO | None = None,
                timeout_s: float = 2.0, check: str | None = None) -> Gencmd:
    """The transport asked for.

    ``mailbox``: ``device`` or, if None, /dev/vcio_gencmd then /dev/vcio; raises
    MailboxUnavailable (an OSError) when none opens. ``vcgencmd``: the program.
    ``auto``: the mailbox when ``program`` is the stock vcgencmd (a custom program is run
    as given), a device opens and, if ``check`` is given, that question is answered;
    otherwise the program, with one warning (see ``take_warnings``) naming why and the cost,
    unless no device exists at all (not a Pi: nothing is lost).
    """
    devices = (device,) if device else DEVICES
    if transport == "mailbox":
        return open_mailbox(devices, io)
    process = ProcessGencmd(program, run=run, timeout_s=timeout_s)
    stock = bool(program) and os.path.basename(program[0]) == "vcgencmd"
    if transport == "vcgencmd" or not stock:
        return process
    try:
        mailbox = open_mailbox(devices, io)
    except MailboxUnavailable as exc:
        if not exc.all_missing:  # no device at all (not a Pi): nothing lost, nothing to fix
            _warn(f"gencmd: {exc}; using {PROCESS_COST}")
        return process
    if check is not None:
        try:
            mailbox(check)
        except FirmwareError:
            pass  # the mailbox works; the command is unknown here (the process would agree)
        except (GencmdFailed, OSError) as exc:
            mailbox.close()
            _warn(f"gencmd: the start-up question through {mailbox.device} failed ({exc});"
                  f" using {PROCESS_COST} for this run")
            return process
    return mailbox
