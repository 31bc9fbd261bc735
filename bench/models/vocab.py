"""Real tokenizers for synthetic models, from llama-cpp-python's source distribution.

The sdist on PyPI vendors llama.cpp, which ships vocab-only GGUF files
(``vendor/llama.cpp/models/ggml-vocab-*.gguf``: tokens, merges, special ids, no weights) and
chat templates (``models/templates/*.jinja``). The sdist of the *installed* llama-cpp-python
version is fetched once with pip into ``~/.cache/pibench/sdist`` and the files needed are
extracted into ``~/.cache/pibench/vocab/<version>/``.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from importlib import metadata
from pathlib import Path

from bench.errors import UserError
from bench.models.files import atomic_path, cache_dir

DIST = "llama-cpp-python"
_MODELS = "vendor/llama.cpp/models"


def installed_version() -> str:
    try:
        return metadata.version(DIST)
    except metadata.PackageNotFoundError:
        raise UserError(
            "llama-cpp-python is not installed: pip install 'pibench[llama]' (it builds"
            " llama.cpp from source, about 6 minutes on 2 cores)"
        ) from None


def sdist_path(version: str) -> Path:
    return cache_dir() / "sdist" / f"llama_cpp_python-{version}.tar.gz"


def ensure_sdist(version: str) -> Path:
    """The sdist tarball of ``version``, downloaded with pip if it is not cached."""
    path = sdist_path(version)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        f"{DIST}=={version}",
        "-d",
        str(path.parent),
        "--quiet",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not path.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(
            f"cannot download the {DIST} {version} source distribution (needed for the"
            f" tokenizer files): {last}; run `{' '.join(cmd[:-1])}` by hand"
        )
    return path


def vocab_dir(version: str) -> Path:
    return cache_dir() / "vocab" / version


def _extract(version: str, member: str, dest: Path) -> Path:
    if dest.is_file():
        return dest
    tar_path = ensure_sdist(version)
    name = f"llama_cpp_python-{version}/{member}"
    try:
        with tarfile.open(tar_path, "r:gz") as tar:
            src = tar.extractfile(name)
            if src is None:
                raise KeyError(name)
            with atomic_path(dest) as tmp, tmp.open("wb") as out:
                while block := src.read(1 << 20):
                    out.write(block)
    except KeyError:
        raise UserError(f"{tar_path} has no {name}: this llama.cpp version lacks it") from None
    except (tarfile.TarError, OSError) as exc:
        raise UserError(f"cannot read {tar_path}: {exc}; delete it and retry") from None
    return dest


def vocab_gguf(name: str, version: str | None = None) -> Path:
    """Path of ``ggml-vocab-<name>.gguf`` (e.g. "qwen2", "llama-bpe"), extracted if needed."""
    v = version or installed_version()
    fname = f"ggml-vocab-{name}.gguf"
    return _extract(v, f"{_MODELS}/{fname}", vocab_dir(v) / fname)


def chat_template(name: str, version: str | None = None) -> str:
    """Text of llama.cpp's ``models/templates/<name>.jinja``, extracted if needed."""
    v = version or installed_version()
    fname = f"{name}.jinja"
    path = _extract(v, f"{_MODELS}/templates/{fname}", vocab_dir(v) / "templates" / fname)
    return path.read_text(encoding="utf-8")
