"""Read a run folder's results: in one streaming pass, tolerant of damage, and by default
without the raw arrays that tables do not need.

``read_cases`` reads ``cases.jsonl`` a line at a time (never the whole file at once). Per line:

- a line that cannot be used is skipped with one warning naming it (``cases.jsonl:N: what``):
  not UTF-8, not JSON, nested too deeply, a number out of range, a record of the wrong shape
  (``bench.results.shape``), longer than MAX_LINE, or torn (no newline at the end of the
  file: a kill during the write, or a run still writing). ``strict`` (resume) raises
  ``UserError`` with that line instead;
- a record of another schema version than this pibench's is refused, never read as ours;
- a case recorded twice (two processes on one run folder) is kept once: its last complete
  record, the one written last (resume counts a case as done once a complete record of it is
  on disk, so no later record is a re-measurement of a failure). Each earlier record gets a
  warning. A partial record (status "interrupted": Ctrl-C during the case, its finished
  repetitions kept) gives way, without a warning, to the complete one its resume wrote;
- unless ``keep_raw``, the per-token times (``reps[].token_t``, ``token_n``), the power
  samples (``power[].samples``) and the health polls (``health.samples``,
  ``throttle_samples``) are cut from the line's text before it is parsed (they are 90 % of a
  long run's bytes; tables use the summaries) and the record carries ``_read_from`` (file,
  line, byte offset), so that ``full_record`` can read that one line again, whole, for a
  per-token timeline.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.errors import UserError
from bench.results.record import version_problem
from bench.results.schema import SCHEMA_VERSION
from bench.results.shape import numbers_and_depth, problem

Warn = Callable[[str], None]
MAX_LINE = 64 << 20
"""Longest line read (a case of 10 repetitions of 32k tokens with power samples is ~10 MB)."""
SHOWN = 20
"""Warnings shown per file; the rest are counted in one last line."""
WHERE = "_read_from"
_RAW_KEY = re.compile(rb'"(?:token_t|token_n|samples|throttle_samples)":\[')


def cut_raw(line: bytes) -> bytes:
    """The line with its raw arrays (token times and counts, power samples) as null.

    An array is cut only where its end is sure: no quote (a string could hold a bracket) and,
    for a flat array, no inner bracket before the first "]" ("]]" for the samples' pairs),
    found with ``bytes.find`` (C speed; a regular expression over 200 MB of numbers took
    seconds). What the cut array held is not checked here: tables do not read it, and
    ``full_record`` reads and checks it whole. If the cut line is not valid JSON, the caller
    parses the whole line."""
    out, pos = [], 0
    for m in _RAW_KEY.finditer(line):
        start = m.end()
        if start <= pos:
            continue
        pairs = m.group().startswith((b'"samples', b'"throttle_samples'))
        if line[start:start + 1] == b"]":
            end = start
        else:
            end = line.find(b"]]" if pairs else b"]", start)
            if end < 0 or line.find(b'"', start, end) >= 0 \
                    or (not pairs and line.find(b"[", start, end) >= 0):
                continue
        out += [line[pos:m.start()], m.group()[:-1], b"null"]
        pos = end + (2 if pairs and end > start else 1)
    if not out:
        return line
    out.append(line[pos:])
    return b"".join(out)


TORN = ("a torn last line (no newline at the end: the run was killed while writing it, or "
        "is still running)")


def _regular(path: Path) -> None:
    """OSError unless ``path`` is a regular file (a FIFO planted in a run folder would block
    the read for ever)."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(errno.EINVAL, "not a regular file")


def _lines(path: Path) -> Iterator[tuple[int, int, bytes | None, str | None]]:
    """(line number, byte offset, the line or None, why it is unusable or None)."""
    _regular(path)
    with open(path, "rb", buffering=1 << 20) as f:
        number, offset = 0, 0
        while True:
            raw = f.readline(MAX_LINE + 1)
            if not raw:
                return
            number += 1
            start, offset = offset, offset + len(raw)
            if not raw.endswith(b"\n"):
                if len(raw) <= MAX_LINE:  # the end of the file
                    yield number, start, None, TORN
                    return
                while raw and not raw.endswith(b"\n"):  # skip the rest of a huge line
                    raw = f.readline(1 << 20)
                    offset += len(raw)
                yield number, start, None, f"a line longer than {MAX_LINE:,} bytes"
                continue
            yield number, start, raw, None


def _parse(raw: bytes, keep_raw: bool) -> tuple[Any, str | None]:
    if not keep_raw:
        cut = cut_raw(raw)
        if cut is not raw:
            record, why = _parse(cut, keep_raw=True)
            if why is None:
                return record, None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {exc.start} of the line)"
    if not text.strip():
        return None, "an empty line"
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "JSON nested too deeply to read"
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg} at column {exc.colno})"
    except ValueError:  # an integer of more than 4,300 digits
        return None, "a number too long to read"


def _drop_raw(record: dict[str, Any]) -> None:
    reps = list(record.get("reps") or [])
    llm = (record.get("mixed") or {}).get("llm") or {}
    for side in ("alone", "mixed"):
        reps += (llm.get(side) or {}).get("per_run") or []
    for rep in reps:
        for key in ("token_t", "token_n"):
            if rep.get(key) is not None:
                rep[key] = None
    health = record.get("health")
    for entry in [*(record.get("power") or []), *([health] if isinstance(health, dict) else [])]:
        for key in ("samples", "throttle_samples"):
            if isinstance(entry, dict) and entry.get(key) is not None:
                entry[key] = None


def _usable(record: Any, strict: bool) -> str | None:
    """Why the reader cannot use the record, or None. Strict (resume): only what resume reads."""
    if strict:
        if not isinstance(record, dict) or not isinstance(record.get("case_id"), str):
            return "a line without a case_id"
    else:
        what = problem(record)
        if what is not None:
            return what
    return version_problem(record)


class _Warnings:
    def __init__(self, path: Path, warn: Warn | None) -> None:
        self.path, self.warn, self.count = path, warn, 0

    def __call__(self, line: int, what: str) -> None:
        self.count += 1
        if self.warn is not None and self.count <= SHOWN:
            self.warn(f"{self.path}:{line}: {what}: skipped")

    def close(self) -> None:
        if self.warn is not None and self.count > SHOWN:
            self.warn(f"{self.path}: {self.count - SHOWN} more unusable lines not shown "
                      f"({self.count} skipped in all)")


def read_cases(path: Path, *, keep_raw: bool = False, strict: bool = False,
               warn: Warn | None = None) -> list[dict[str, Any]]:
    """The usable case records of a ``cases.jsonl``, one per case id (see the module)."""
    bad = _Warnings(path, warn)
    by_id: dict[str, tuple[int, dict[str, Any]]] = {}
    try:
        for number, offset, raw, why in _lines(path):
            record = None
            if raw is not None:
                record, why = _parse(raw, keep_raw)
                why = why or _usable(record, strict)
            if why is not None:
                if strict and why is not TORN:  # resume moves a torn line aside (repair)
                    raise UserError(f"{path}:{number}: {why}")
                if not strict:
                    bad(number, why)
                continue
            assert isinstance(record, dict)
            if not keep_raw:
                _drop_raw(record)
                record[WHERE] = {"file": str(path), "line": number, "offset": offset}
            case_id = record["case_id"]
            if case_id in by_id:
                old = by_id[case_id][1]
                if not replaces(old, record):
                    continue  # a complete record wins over a partial one, whatever the order
                if old.get("status") != "interrupted" and not strict:
                    bad(by_id[case_id][0], f"case {case_id!r} is recorded again at line "
                        f"{number} (two processes on one run folder?); the last record is used")
                # a partial record (Ctrl-C during the case) replaced by its resume: expected
            by_id[case_id] = (number, record)
    except OSError as exc:
        raise UserError(f"{path}: cannot read ({exc.strerror or exc})") from None
    bad.close()
    return [record for _, record in by_id.values()]


def replaces(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether ``new``, read after ``old`` for the same case id, is the one reports use: the
    last complete record, else the last partial one (status "interrupted": Ctrl-C during the
    case, kept until a resume measures it again in full)."""
    return new.get("status") != "interrupted" or old.get("status") == "interrupted"


def full_record(record: dict[str, Any], warn: Warn | None = None) -> dict[str, Any] | None:
    """The record with its raw arrays, read again from its line; the record itself when it
    was read whole; None (with a warning) when its line is no longer the same usable record."""
    where = record.get(WHERE)
    if not isinstance(where, dict):
        return record
    path = Path(where["file"])
    why: str | None
    try:
        _regular(path)
        with open(path, "rb") as f:
            f.seek(where["offset"])
            raw = f.readline(MAX_LINE + 1)
        full, why = _parse(raw, keep_raw=True)
        why = why or _usable(full, strict=False)
        if why is None and full.get("case_id") != record.get("case_id"):
            why = "changed since it was read"
    except OSError as exc:
        why = f"cannot read ({exc.strerror or exc})"
    if why is not None:
        if warn is not None:
            warn(f"{path}:{where['line']}: {why}: its raw figures are not shown")
        return None
    return full


def read_json(path: Path, warn: Warn | None = None) -> dict[str, Any]:
    """A run's JSON side file (environment.json, resolved.json): {} when missing; {} with a
    warning when damaged (not JSON, not an object, or a shape the readers cannot use)."""
    reason: str | None = None
    try:
        _regular(path)
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else type(exc).__name__
        data, reason = None, f"unreadable ({why})"
    else:
        reason = "not a JSON object" if not isinstance(data, dict) else numbers_and_depth(data)
    if reason is not None:
        if warn is not None:
            warn(f"{path}: {reason}: ignored")
        return {}
    assert isinstance(data, dict)
    return data


def check_run_json(run_dir: Path, warn: Warn | None = None) -> dict[str, Any]:
    """run.json, read tolerantly: a damaged one is a warning (the cases are still read); a run
    of another schema version is refused (UserError), never read as this version."""
    meta = read_json(run_dir / "run.json", warn)
    if "schema" not in meta and warn is not None:
        warn(f"{run_dir / 'run.json'}: no schema version (damaged?): each case is checked as "
             f"a version {SCHEMA_VERSION} record")
    version = meta.get("schema", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise UserError(f"{run_dir / 'run.json'}: schema version {version!r}; this pibench "
                        f"reads version {SCHEMA_VERSION}: read this run with the pibench "
                        "version that wrote it")
    return meta
