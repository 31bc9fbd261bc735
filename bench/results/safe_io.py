"""Writing pibench's files: never through a symlink, never half-written, one line on failure.

- ``write_atomic``: the bytes go to a new temporary file beside the target (``O_CREAT |
  O_EXCL | O_NOFOLLOW``: a planted link makes it fail instead of being written through), are
  fsynced, then renamed over the target (``os.replace``, which replaces a link itself, never
  its target) or, with ``replace=False``, hard-linked to a name that must not exist yet. A
  kill or a full disk leaves the old file (or none), never a partial one, and no temp file.
- ``append_line``: one line appended with ``O_APPEND | O_NOFOLLOW`` and fsynced; if the write
  fails half-way (disk full) the file is cut back to its size before, so no torn line stays.
- Every ``OSError`` becomes a ``StorageError``: one line naming the file, the folder and the
  error (``No space left on device``, ``is a symbolic link``...).

``FAULTS`` is a test seam: a callable run before each write, which may raise an ``OSError``
(tests inject ENOSPC or EIO at the n-th write without needing a full disk).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from bench.errors import UserError

NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC
FAULTS: list[Callable[[Path], None]] = []
"""Test seam: each is called with the target before a write and may raise OSError."""


class StorageError(UserError):
    """A file of a run could not be written (disk full, permission, a planted link...)."""

    why = ""
    """The reason alone, e.g. "No space left on device (ENOSPC)"."""


def storage_error(exc: OSError, path: Path) -> StorageError:
    if exc.errno == errno.ELOOP:
        why = "it is a symbolic link (pibench never writes through one): remove it"
    else:
        name = errno.errorcode.get(exc.errno or 0, "")
        why = f"{exc.strerror or exc}" + (f" ({name})" if name else "")
    err = StorageError(f"cannot write {path.name} in {path.parent}: {why}")
    err.why = why
    return err


def _faults(path: Path) -> None:
    for fault in FAULTS:
        fault(path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    done = 0
    while done < len(data):
        done += os.write(fd, view[done:])


def _new_temp(path: Path) -> tuple[int, Path]:
    for _ in range(100):
        tmp = path.with_name(f".{path.name[:200]}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o644), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


def write_atomic(path: Path, data: bytes | str, replace: bool = True) -> None:
    """``path`` holds ``data`` whole, or (on any error) what it held before; never a partial
    file, never a temp file left, never a write through a symlink. ``replace=False``: refuse
    (FileExistsError) if ``path`` exists."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp: Path | None = None
    try:
        _faults(path)
        fd, tmp = _new_temp(path)
        try:
            _write_all(fd, raw)
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, path)
        else:
            _publish_new(tmp, path)
    except FileExistsError:
        raise
    except OSError as exc:
        raise storage_error(exc, path) from None
    finally:
        if tmp is not None:
            with suppress(FileNotFoundError):
                os.unlink(tmp)


def _publish_new(tmp: Path, path: Path) -> None:
    """Give ``tmp`` the name ``path`` only if no such name exists (a link counts)."""
    try:
        os.link(tmp, path, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
            raise
        # a file system without hard links (FAT): create exclusively and copy
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o644)
        try:
            _write_all(fd, tmp.read_bytes())
            os.fsync(fd)
        finally:
            os.close(fd)


def write_new(path: Path, data: bytes | str) -> None:
    """Like ``write_atomic`` but never replaces: a StorageError if ``path`` exists."""
    try:
        write_atomic(path, data, replace=False)
    except FileExistsError:
        raise StorageError(f"cannot write {path.name} in {path.parent}: it exists already "
                           "(pibench never overwrites it)") from None


def create_empty(path: Path) -> None:
    """A new empty file (never a link, never an existing file)."""
    try:
        _faults(path)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o644))
    except OSError as exc:
        raise storage_error(exc, path) from None


def open_regular(path: Path, flags: int, mode: int = 0o644) -> int:
    """``os.open`` that never follows a link, never blocks on a FIFO planted in its place,
    and refuses anything but a regular file (StorageError)."""
    try:
        fd = os.open(path, flags | NOFOLLOW | os.O_NONBLOCK, mode)
    except OSError as exc:
        raise storage_error(exc, path) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StorageError(f"cannot write {path.name} in {path.parent}: not a regular file")
    return fd


def append_line(path: Path, line: bytes) -> None:
    """Append one whole line and fsync it; on failure the file is cut back to where it was."""
    fd = open_regular(path, os.O_WRONLY | os.O_APPEND)
    try:
        size = os.fstat(fd).st_size
        try:
            _faults(path)
            _write_all(fd, line)
            os.fsync(fd)
        except OSError as exc:
            with suppress(OSError):
                os.ftruncate(fd, size)
            raise storage_error(exc, path) from None
    finally:
        os.close(fd)


def append_bytes(path: Path, data: bytes) -> None:
    """Append to a side file (created if missing), never through a link."""
    fd = open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        _faults(path)
        _write_all(fd, data)
        os.fsync(fd)
    except OSError as exc:
        raise storage_error(exc, path) from None
    finally:
        os.close(fd)
