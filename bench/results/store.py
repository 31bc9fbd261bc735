"""A run folder: nothing in it is ever overwritten, and a finished case is on disk at once.

  RUN_DIR/run.json        schema version, status, config path and fingerprint, times
  RUN_DIR/config.yaml     the config file exactly as given
  RUN_DIR/resolved.json   the config with every default filled in
  RUN_DIR/environment.json host, CPU, memory, OS, versions, model files (size, sha256)
  RUN_DIR/cases.jsonl     one JSON line per finished case (bench.results.schema.CaseRecord)

Each case line is written whole, flushed and fsynced when its case ends. A line torn by a
kill in the middle of a write is moved to cases.jsonl.torn on resume, so every line of
cases.jsonl stays valid JSON.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.errors import UserError
from bench.results.schema import SCHEMA_VERSION

CASES = "cases.jsonl"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write_new(path: Path, text: str) -> None:
    with open(path, "x", encoding="utf-8") as f:  # "x": never overwrite
        f.write(text)


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def cases_path(self) -> Path:
        return self.path / CASES

    # -- creation ---------------------------------------------------------------------
    @classmethod
    def create(cls, output_dir: Path, name: str, config_file: Path,
               resolved: dict[str, Any], fingerprint: str) -> RunDir:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = output_dir / f"{stamp}-{re.sub(r'[^A-Za-z0-9._-]', '_', name)}"
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the output folder {output_dir}: "
                            f"{exc.strerror}") from None
        path, n = base, 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                n += 1
                path = base.with_name(f"{base.name}-{n}")
        run = cls(path)
        shutil.copyfile(config_file, path / "config.yaml")
        _write_new(path / "resolved.json", json.dumps(resolved, indent=2, sort_keys=True) + "\n")
        run.write_meta({
            "schema": SCHEMA_VERSION, "name": name, "status": "running",
            "config_file": str(config_file.resolve()), "fingerprint": fingerprint,
            "started": utc_now(), "finished": None, "resumed": [],
        })
        (path / CASES).touch(exist_ok=False)
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

    def write_meta(self, data: dict[str, Any]) -> None:
        _write_json_atomic(self.path / "run.json", data)

    def update_meta(self, **changes: Any) -> None:
        data = self.meta()
        data.update(changes)
        self.write_meta(data)

    def write_environment(self, env: dict[str, Any]) -> None:
        name = "environment.json"
        if (self.path / name).exists():  # a resumed run keeps the first, adds its own
            k = 2
            while (self.path / f"environment-{k}.json").exists():
                k += 1
            name = f"environment-{k}.json"
        _write_new(self.path / name, json.dumps(env, indent=2, sort_keys=True) + "\n")

    # -- cases ------------------------------------------------------------------------
    def append_case(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"
        with open(self.cases_path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def repair(self) -> int:
        """Move a torn last line aside; return how many bytes were moved."""
        data = self.cases_path.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut == len(data):
            return 0
        with open(self.path / (CASES + ".torn"), "ab") as f:
            f.write(data[cut:] + b"\n")
        with open(self.cases_path, "r+b") as f:
            f.truncate(cut)
        return len(data) - cut

    def cases(self) -> list[dict[str, Any]]:
        """Every record, whole, one per case id; the first unusable line raises UserError
        naming it (``bench.results.reader``: a torn last line is skipped, see repair())."""
        from bench.results.reader import read_cases

        return read_cases(self.cases_path, keep_raw=True, strict=True)

    def done_ids(self) -> set[str]:
        return {c["case_id"] for c in self.cases()}
