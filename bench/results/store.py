"""A run folder: nothing in it is ever overwritten, and a finished case is on disk at once.

  RUN_DIR/run.json        schema version, status, config path and fingerprint, times
  RUN_DIR/config.yaml     the config file exactly as given
  RUN_DIR/resolved.json   the config with every default filled in
  RUN_DIR/environment.json host, CPU, memory, OS, versions, model files (size, sha256)
  RUN_DIR/cases.jsonl     one JSON line per finished case (bench.results.record.CaseRecord)

  RUN_DIR/run.lock        held (flock) by the one process running or resuming the folder

Each case line is written whole, flushed and fsynced when its case ends. A line torn by a
kill in the middle of a write is moved to cases.jsonl.torn on resume, so every line of
cases.jsonl stays valid JSON. A record that JSON cannot hold as it is (a NaN or infinite
figure, a value of an unknown type) is written with those values as null and a list of what
was changed under ``sanitized``: a measured case is never lost to serialization.

Every file is written through bench.results.safe_io: never through a symlink, atomically, and
any OSError (a full disk) is one line naming the file and the folder. A new run folder is
built under a hidden temporary name and renamed into place when complete, so a failure
while creating it leaves no stub folder.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.common import Json, JsonObject, json_object
from bench.errors import UserError
from bench.results.lock import RunLock
from bench.results.safe_io import (
    StorageError,
    append_bytes,
    append_line,
    create_empty,
    open_regular,
    storage_error,
    write_atomic,
    write_new,
)
from bench.results.schema import SCHEMA_VERSION

CASES = "cases.jsonl"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _json_text(data: Json) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _sanitize(value: object, where: str, notes: list[str], depth: int = 0) -> Json:
    """``value`` with what JSON cannot hold replaced: non-finite floats by null, unknown
    objects by their repr, non-text keys by text; each change noted in ``notes``."""
    if isinstance(value, float) and not math.isfinite(value):
        notes.append(f"{where or '(record)'}: {value} -> null")
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if depth > 64:
        notes.append(f"{where}: nested too deep -> null")
        return None
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else str(k)): _sanitize(v, f"{where}.{k}".lstrip("."),
                                                                 notes, depth + 1)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sanitize(v, f"{where}[{i}]", notes, depth + 1) for i, v in enumerate(value)]
    notes.append(f"{where}: {type(value).__name__} -> text")
    return repr(value)[:200]


def encode_record(record: Mapping[str, object]) -> str:
    """The JSON line of a case; values JSON cannot hold are set to null and listed under
    ``sanitized`` instead of losing the case."""
    try:
        return json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"
    except (ValueError, TypeError, OverflowError, RecursionError):
        notes: list[str] = []
        fixed = json_object(_sanitize(record, "", notes))
        fixed["sanitized"] = notes[:50]
        return json.dumps(fixed, separators=(",", ":"), allow_nan=False) + "\n"


def _free_name(base: Path) -> Path:
    path, n = base, 1
    while os.path.lexists(path):
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock: RunLock | None = None
        """Held while this process runs or resumes the folder (see bench.results.lock)."""

    def acquire(self) -> RunLock:
        """Lock the folder for this process (RunBusy, exit 2, if another holds it)."""
        if self.lock is None:
            self.lock = RunLock.acquire(self.path)
        return self.lock

    def release(self) -> None:
        """Unlock the folder (safe twice)."""
        lock, self.lock = self.lock, None
        if lock is not None:
            lock.release()

    @property
    def cases_path(self) -> Path:
        return self.path / CASES

    # -- creation ---------------------------------------------------------------------
    @classmethod
    def create(cls, output_dir: Path, name: str, config_file: Path,
               resolved: JsonObject, fingerprint: str,
               meta: JsonObject | None = None,
               environment: JsonObject | None = None) -> RunDir:
        """A new run folder, complete (config.yaml, resolved.json, run.json with ``meta``
        added, environment.json, empty cases.jsonl) and locked by this process, or nothing
        at all: it is built under a hidden name and renamed into place."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = output_dir / f"{stamp}-{re.sub(r'[^A-Za-z0-9._-]', '_', name)}"
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{base.name}.", suffix=".new",
                                            dir=output_dir))
        except ValueError:
            raise UserError(f"{str(output_dir)!r}: not a usable folder name (NUL byte)") from None
        except OSError as exc:
            raise UserError(f"cannot create a run folder in {output_dir}: "
                            f"{exc.strerror or exc}") from None
        os.chmod(staging, 0o755)
        lock: RunLock | None = None
        try:
            lock = RunLock.acquire(staging)
            try:
                config_text = config_file.read_bytes()
            except OSError as exc:
                raise UserError(f"cannot read the config {config_file}: "
                                f"{exc.strerror or exc}") from None
            write_new(staging / "config.yaml", config_text)
            write_new(staging / "resolved.json", _json_text(resolved))
            write_new(staging / "run.json", _json_text({
                "schema": SCHEMA_VERSION, "name": name, "status": "running",
                "config_file": str(config_file.resolve()), "fingerprint": fingerprint,
                "started": utc_now(), "finished": None, "resumed": [], **(meta or {}),
            }))
            if environment is not None:
                write_new(staging / "environment.json", _json_text(environment))
            create_empty(staging / CASES)
            path = _free_name(base)
            try:
                os.rename(staging, path)
            except OSError as exc:
                raise storage_error(exc, path) from None
        except BaseException as exc:
            if lock is not None:
                lock.release()
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, StorageError) and exc.why:
                raise StorageError(f"cannot create a run folder in {output_dir}: "
                                   f"{exc.why}; nothing was written") from None
            raise
        assert lock is not None
        run = cls(path)
        lock.folder = path
        run.lock = lock
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        if not path.is_dir():
            raise UserError(f"{path}: {'not a folder' if path.exists() else 'no such folder'}")
        if not (path / "run.json").is_file() or not (path / CASES).exists():
            raise UserError(f"{path}: not a pibench run folder (no run.json / {CASES})")
        return cls(path)

    # -- metadata ---------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        try:
            data = json.loads((self.path / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:  # ValueError: JSON, UTF-8
            raise UserError(f"{self.path / 'run.json'}: unreadable "
                            f"({(str(exc).splitlines() or [type(exc).__name__])[0][:200]})"
                            ) from None
        if not isinstance(data, dict):
            raise UserError(f"{self.path / 'run.json'}: damaged (a JSON "
                            f"{type(data).__name__}, not an object)")
        return data

    def write_meta(self, data: JsonObject) -> None:
        write_atomic(self.path / "run.json", _json_text(data))

    def update_meta(self, **changes: Json) -> None:
        data = self.meta()
        data.update(changes)
        self.write_meta(data)

    def write_environment(self, env: JsonObject) -> None:
        name = "environment.json"
        if os.path.lexists(self.path / name):  # a resumed run keeps the first, adds its own
            k = 2
            while os.path.lexists(self.path / f"environment-{k}.json"):
                k += 1
            name = f"environment-{k}.json"
        write_new(self.path / name, _json_text(env))

    # -- cases ------------------------------------------------------------------------
    def append_case(self, record: Mapping[str, object]) -> None:
        append_line(self.cases_path, encode_record(record).encode("utf-8"))

    def repair(self) -> int:
        """Move a torn last line aside; return how many bytes were moved. Reads only the
        tail of cases.jsonl (back to its last newline)."""
        path = self.cases_path
        fd = open_regular(path, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            cut, pos, tail = 0, size, b""
            while pos > 0:
                step = min(1 << 20, pos)
                pos -= step
                tail = os.pread(fd, step, pos) + tail
                nl = tail.rfind(b"\n")
                if nl >= 0:
                    cut = pos + nl + 1
                    break
            if cut == size:
                return 0
            torn = tail[len(tail) - (size - cut):]
            append_bytes(self.path / (CASES + ".torn"), torn + b"\n")
            try:
                os.ftruncate(fd, cut)
            except OSError as exc:
                raise storage_error(exc, path) from None
            return size - cut
        finally:
            os.close(fd)

    def cases(self) -> list[dict[str, Any]]:
        """Every record, whole, one per case id; the first unusable line raises UserError
        naming it (``bench.results.reader``: a torn last line is skipped, see repair())."""
        from bench.results.reader import read_cases

        return read_cases(self.cases_path, keep_raw=True, strict=True)

    def done_ids(self) -> set[str]:
        """Case ids a resume does not run again: those with a complete record."""
        return {c["case_id"] for c in self.cases() if c.get("status") != "interrupted"}
