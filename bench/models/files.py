"""Where model files live, and their sha256 computed once per file version.

The cache root is ``~/.cache/pibench`` (override with the ``PIBENCH_CACHE_DIR`` environment
variable, which tests use). ``sha256_file`` remembers digests in ``sha256.json`` keyed by
(real path, size, mtime in ns): a 2 GB model is hashed once, and hashed again only if it
changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

_CHUNK = 4 * 1024 * 1024


def check_file(path: Path, what: str, error: Callable[[str], Exception]) -> None:
    """Raise ``error`` with one line naming ``path`` ("<what> not found: ...", "<what> is not
    a file: ...") unless it is an existing regular file."""
    if not path.exists():
        raise error(f"{what} not found: {path}")
    if not path.is_file():
        raise error(f"{what} is not a file: {path}")


def cache_dir() -> Path:
    """Root of pibench's caches (not created)."""
    env = os.environ.get("PIBENCH_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "pibench"


def models_dir() -> Path:
    return cache_dir() / "models"


def synth_dir() -> Path:
    return models_dir() / "synth"


def _sha_cache_path() -> Path:
    return cache_dir() / "sha256.json"


def _cache_key(path: Path) -> str:
    st = path.stat()
    return f"{os.path.realpath(path)}|{st.st_size}|{st.st_mtime_ns}"


def _load_cache() -> dict[str, str]:
    try:
        data = json.loads(_sha_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file; cached by (realpath, size, mtime_ns) in ``sha256.json``."""
    p = Path(path)
    key = _cache_key(p)
    cache = _load_cache()
    if key in cache:
        return cache[key]
    digest = hashlib.sha256()
    with p.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    value = digest.hexdigest()
    cache = _load_cache()  # re-read: another process may have added entries meanwhile
    live = {k: v for k, v in cache.items() if Path(k.split("|", 1)[0]).exists()}
    live[key] = value
    with contextlib.suppress(OSError):
        atomic_write_text(_sha_cache_path(), json.dumps(live, indent=1, sort_keys=True))
    return value


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically,
    on any error (or interrupt) it is removed, so ``path`` is never left half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; a model file is for everyone
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def human_size(n: int | None) -> str:
    if n is None:
        return "n/a"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
