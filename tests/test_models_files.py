"""sha256_file cache and atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from bench.models import files


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("PIBENCH_CACHE_DIR", str(root))
    return root


def test_sha256_is_right_and_cached(tmp_path: Path, cache: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(b"x" * 10_000)
    expected = hashlib.sha256(b"x" * 10_000).hexdigest()
    assert files.sha256_file(f) == expected
    entries = json.loads((cache / "sha256.json").read_text())
    st = f.stat()
    assert entries == {f"{os.path.realpath(f)}|{st.st_size}|{st.st_mtime_ns}": expected}


def test_cached_value_is_used_without_hashing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(b"abc")
    first = files.sha256_file(f)

    def no_hashing() -> None:
        raise AssertionError("the file was hashed again")

    monkeypatch.setattr(files.hashlib, "sha256", no_hashing)
    assert files.sha256_file(f) == first


def test_changed_file_is_hashed_again(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(b"abc")
    first = files.sha256_file(f)
    f.write_bytes(b"abcd")
    os.utime(f, ns=(1, 1))
    assert files.sha256_file(f) == hashlib.sha256(b"abcd").hexdigest() != first


def test_stale_cache_entry_is_not_trusted(tmp_path: Path, cache: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(b"abc")
    st = f.stat()
    cache.mkdir(parents=True)
    key = f"{os.path.realpath(f)}|{st.st_size}|{st.st_mtime_ns}"
    (cache / "sha256.json").write_text(json.dumps({key: "cafe"}))
    assert files.sha256_file(f) == "cafe"  # same (path, size, mtime): trusted by design
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert files.sha256_file(f) == hashlib.sha256(b"abc").hexdigest()


def test_corrupt_cache_file_is_ignored(tmp_path: Path, cache: Path) -> None:
    cache.mkdir(parents=True)
    (cache / "sha256.json").write_text("{not json")
    f = tmp_path / "m.gguf"
    f.write_bytes(b"abc")
    assert files.sha256_file(f) == hashlib.sha256(b"abc").hexdigest()


def test_atomic_path_leaves_nothing_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.gguf"
    with pytest.raises(RuntimeError), files.atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_replaces_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.gguf"
    target.write_bytes(b"old")
    with files.atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.gguf"]
    assert target.stat().st_mode & 0o777 == 0o644
