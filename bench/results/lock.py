"""One process at a time on a run folder: an exclusive ``flock`` on ``RUN_DIR/run.lock``.

The lock is held for the life of a run or a resume and released by the kernel when the process
ends in any way (kill -9 included), so a dead run never blocks its resume. A second process
gets one line naming the holder's pid (written in the lock file) and exit 2.

The lock file also keeps a reserve of disk space (``RESERVE`` bytes allocated after the pid
line): when a write fails because the disk is full, ``free_reserve`` gives that space back so
that run.json can still record why the run stopped.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from contextlib import suppress
from pathlib import Path

from bench.errors import UserError
from bench.results.safe_io import open_regular, storage_error

LOCK = "run.lock"
RESERVE = 256 * 1024


class RunBusy(UserError):
    """Another process holds the run folder."""


class RunLock:
    def __init__(self, folder: Path, fd: int, head: int) -> None:
        self.folder = folder
        self._fd: int | None = fd
        self._head = head

    @classmethod
    def acquire(cls, folder: Path) -> RunLock:
        fd = open_regular(folder / LOCK, os.O_RDWR | os.O_CREAT)
        path = folder / LOCK
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _holder(fd) if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN) else None
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise storage_error(exc, path) from None
            raise RunBusy(f"{folder}: in use by pibench process {holder or '(pid not known)'}"
                          " (a run or resume of this folder); wait for it to end or stop it, "
                          "then resume") from None
        head = f"{os.getpid()}\n".encode()
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, head, 0)
        except OSError as exc:
            os.close(fd)
            raise storage_error(exc, path) from None
        with suppress(OSError):  # no reserve on a full disk or a file system without it
            os.posix_fallocate(fd, len(head), RESERVE)
        return cls(folder, fd, len(head))

    def free_reserve(self) -> None:
        if self._fd is not None:
            with suppress(OSError):
                os.ftruncate(self._fd, self._head)

    def release(self) -> None:
        """Drop the lock (and the reserve); the empty lock file stays (unlinking it would let
        two processes lock two different files)."""
        if self._fd is None:
            return
        with suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the last descriptor releases the flock
        self._fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(fd: int) -> str | None:
    """The pid the holder wrote; it writes it just after locking, so wait a moment for it."""
    for _ in range(20):
        with suppress(OSError):
            head = os.pread(fd, 32, 0).split(b"\n", 1)[0].strip(b"\0 ")
            if head.isdigit():
                return head.decode()
        time.sleep(0.025)
    return None
