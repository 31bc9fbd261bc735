"""The catalog of real GGUF files (``configs/models.yaml``) and ``fetch`` from Hugging Face.

``fetch`` streams the file with httpx into ``~/.cache/pibench/models/`` through a ``.part``
file, resumes an interrupted download with an HTTP Range request, checks the sha256 when
the catalog knows it, and renames the file into place only when complete. Where the hub is
unreachable it fails with one line (UserError, exit 2) pointing at ``pibench models synth``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bench.config.yamlfile import load_typed
from bench.errors import UserError
from bench.models.files import models_dir

HF_BASE = "https://huggingface.co"
DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "configs" / "models.yaml"


@dataclass(frozen=True)
class CatalogFile:
    model: str
    quant: str
    repo: str
    file: str
    sha256: str | None
    preset: str | None
    mmproj: str | None = None
    """A vision-language model's projector file in the same repository (llama.cpp's
    ``--mmproj``), fetched with the model."""
    mmproj_sha256: str | None = None

    def url(self, base: str = HF_BASE) -> str:
        return f"{base.rstrip('/')}/{self.repo}/resolve/main/{self.file}"

    def projector(self) -> CatalogFile | None:
        """The mmproj as an entry of its own (for ``fetch``), or None for a text model."""
        if not self.mmproj:
            return None
        return CatalogFile(self.model, self.quant, self.repo, self.mmproj, self.mmproj_sha256,
                           self.preset)


def catalog_path() -> Path:
    env = os.environ.get("PIBENCH_MODELS_CATALOG")
    return Path(env).expanduser() if env else DEFAULT_CATALOG


_SHA256 = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class _FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quant: str
    repo: str
    file: str
    sha256: str | None = _SHA256
    mmproj: str | None = None
    mmproj_sha256: str | None = _SHA256


class _ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    preset: str | None = None
    pypi: str | None = None
    """A PyPI package that installs the real file (``pibench models install``)."""
    files: list[_FileEntry] = Field(min_length=1)


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1
    models: list[_ModelEntry]


def load_catalog(path: Path | None = None) -> list[CatalogFile]:
    """Every file of the catalog; a malformed catalog is one error naming file, line, field."""
    p = path or catalog_path()
    cat = load_typed(p, _CatalogFile, "model catalog")
    return [
        CatalogFile(model=m.name, quant=f.quant.upper(), repo=f.repo, file=f.file,
                    sha256=f.sha256, preset=m.preset, mmproj=f.mmproj,
                    mmproj_sha256=f.mmproj_sha256)
        for m in cat.models for f in m.files
    ]


def find_entry(name: str, quant: str | None = None, path: Path | None = None) -> CatalogFile:
    entries = load_catalog(path)
    key = name.strip().lower()
    matches = [e for e in entries if key in (e.model.lower(), (e.preset or "").lower())]
    if not matches:
        names = sorted({e.model for e in entries})
        raise UserError(
            f"{name!r} is not in the model catalog {path or catalog_path()}"
            f" (models: {', '.join(names)})"
        )
    q = (quant or "Q4_K_M").upper()
    for e in matches:
        if e.quant == q:
            return e
    have = ", ".join(e.quant for e in matches)
    raise UserError(f"the catalog has no {q} file for {matches[0].model} (has: {have})")


def fetch(
    entry: CatalogFile,
    dest_dir: Path | None = None,
    base_url: str = HF_BASE,
    timeout_s: float = 30.0,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Download ``entry`` into ``dest_dir`` (default ~/.cache/pibench/models); return the path.
    An existing complete file is reused (its sha256 checked when known)."""
    import httpx

    from bench.models.files import sha256_file

    dest = (dest_dir or models_dir()) / entry.file
    if dest.is_file():
        _check_sha(dest, entry, sha256_file(dest))
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    url = entry.url(base_url)
    host = httpx.URL(url).host
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    digest = hashlib.sha256()
    try:
        with httpx.stream(
            "GET", url, headers=headers, follow_redirects=True, timeout=timeout_s
        ) as resp:
            if resp.status_code == 416:  # nothing left to fetch: the .part is complete
                offset = part.stat().st_size
            elif resp.status_code not in (200, 206):
                raise UserError(
                    f"{url} answered HTTP {resp.status_code}: check the catalog"
                    f" entry for {entry.model} {entry.quant}"
                )
            if resp.status_code == 200:
                offset = 0  # the server ignored the Range: start over
            if part.is_symlink():
                raise UserError(f"{part} is a symbolic link: pibench does not write through "
                                "one; remove it")
            if offset:
                with part.open("rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
            total = resp.headers.get("content-length")
            size = int(total) + offset if total and total.isdigit() else None
            with part.open("ab" if offset else "wb") as out:
                done = offset
                for chunk in resp.iter_bytes(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, size)
    except httpx.TransportError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(
            f"cannot reach {host} ({reason}): pibench models fetch needs internet; use"
            f" `pibench models synth {entry.preset or entry.model}` for a speed-only model"
        ) from None
    try:
        _check_sha(part, entry, digest.hexdigest())
    except UserError:
        part.unlink()  # never resume from a corrupt partial file
        raise
    os.replace(part, dest)
    return dest


def _check_sha(path: Path, entry: CatalogFile, actual: str) -> None:
    if entry.sha256 and actual != entry.sha256.lower():
        raise UserError(
            f"{path} has sha256 {actual}, the catalog expects {entry.sha256}: delete it and"
            " fetch again"
        )
