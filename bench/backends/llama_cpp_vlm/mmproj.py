"""The vision projector file ("mmproj"): where it is, whether it is one, what it holds.

libmtmd answers a bad file with NULL and a log line; the common mistakes (missing file, not a
GGUF, a text model given as the projector, a truncated file) are caught here first, each as
one line naming the file, before libmtmd sees it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.backends.llama_cpp_vlm.config import LlamaCppVLMArtifact
from bench.errors import ModelLoadError


def resolve_mmproj(artifact: LlamaCppVLMArtifact, model_path: Path) -> Path:
    """The artifact's mmproj (``~`` expanded); for a ``synth:PRESET:QUANT`` model without one,
    the preset's synthetic mmproj, which is made beside the model file."""
    if artifact.mmproj is not None:
        return Path(artifact.mmproj).expanduser()
    from bench.models.presets import get_preset
    from bench.models.store import parse_synth_spec
    from bench.models.synth_vlm import mmproj_name

    preset = get_preset(parse_synth_spec(artifact.gguf).preset)
    if preset.vision is None:
        raise ModelLoadError(f"{artifact.gguf}: {preset.name} is a text model; a VLM needs a "
                             "vision-language preset (or set mmproj)")
    return model_path.parent / mmproj_name(preset)


def check_mmproj(path: Path) -> None:
    """ModelLoadError (one line, naming the file) unless ``path`` is a GGUF vision projector."""
    from bench.models.files import check_file
    from bench.models.gguf_info import read_header

    check_file(path, "mmproj (vision projector) file", ModelLoadError)
    try:
        meta = read_header(path).metadata  # not a GGUF, truncated, corrupt header
    except ModelLoadError as exc:
        raise ModelLoadError(f"mmproj: {exc}") from None
    arch = meta.get("general.architecture")
    if arch != "clip":
        raise ModelLoadError(
            f"not an mmproj (vision projector) file: {path} has architecture {arch!r}, expected "
            "'clip'; give the mmproj-*.gguf that comes with the model"
        )
    if not meta.get("clip.has_vision_encoder"):
        raise ModelLoadError(f"{path} is a projector without a vision encoder (audio only?)")


def mmproj_facts(path: Path) -> dict[str, Any]:
    """Facts recorded with every result: file, size, sha256, parameters, weights, projector."""
    from bench.models.files import sha256_file
    from bench.models.gguf_info import inspect_gguf, read_header

    info = inspect_gguf(path)
    meta = read_header(path).metadata
    return {
        "path": str(path),
        "file_bytes": info.file_bytes,
        "sha256": sha256_file(path),
        "params": info.params,
        "weights": info.weights,
        "quant": info.quant,
        "projector": meta.get("clip.projector_type"),
        "tensor_types": info.extra.get("tensor_types"),
    }
