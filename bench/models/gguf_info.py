"""Read a GGUF file's header cheaply: validity, architecture, size, quantization, roofline bytes.

Only the header (metadata and tensor table) is read, never the tensor data, so inspecting a
2 GB model takes milliseconds; the sha256 is separate (``bench.models.files.sha256_file``).
The header is read by ``bench.models.gguf_header`` (bounded: a hostile file gives one line).

Quantization naming: ``ModelInfo.quant`` is llama.cpp's ftype suffix ("Q4_K_M", the name of
``LLAMA_FTYPE_MOSTLY_Q4_K_M``, as used in file names and by ``llama-quantize``);
``extra["quant_llama_cpp"]`` is the description llama.cpp prints ("Q4_K - Medium").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.backends.base import ModelInfo
from bench.models.gguf_header import (
    DEFAULT_ALIGNMENT,
    GGML_TYPES,
    GGUF_MAGIC,
    GGUFHeader,
    TensorEntry,
    data_end,
    read_header,
)

__all__ = ["DEFAULT_ALIGNMENT", "FILE_TYPES", "GGML_TYPES", "GGUF_MAGIC", "GGUFHeader",
           "TensorEntry", "bytes_per_token", "data_end", "inspect_gguf", "read_header",
           "tensor_type_mix"]

# general.file_type (llama_ftype) -> (short name, llama.cpp's llama_model_ftype_name text)
FILE_TYPES: dict[int, tuple[str, str]] = {
    0: ("F32", "all F32"),
    1: ("F16", "F16"),
    2: ("Q4_0", "Q4_0"),
    3: ("Q4_1", "Q4_1"),
    7: ("Q8_0", "Q8_0"),
    8: ("Q5_0", "Q5_0"),
    9: ("Q5_1", "Q5_1"),
    10: ("Q2_K", "Q2_K - Medium"),
    11: ("Q3_K_S", "Q3_K - Small"),
    12: ("Q3_K_M", "Q3_K - Medium"),
    13: ("Q3_K_L", "Q3_K - Large"),
    14: ("Q4_K_S", "Q4_K - Small"),
    15: ("Q4_K_M", "Q4_K - Medium"),
    16: ("Q5_K_S", "Q5_K - Small"),
    17: ("Q5_K_M", "Q5_K - Medium"),
    18: ("Q6_K", "Q6_K"),
    19: ("IQ2_XXS", "IQ2_XXS - 2.0625 bpw"),
    20: ("IQ2_XS", "IQ2_XS - 2.3125 bpw"),
    21: ("Q2_K_S", "Q2_K - Small"),
    22: ("IQ3_XS", "IQ3_XS - 3.3 bpw"),
    23: ("IQ3_XXS", "IQ3_XXS - 3.0625 bpw"),
    24: ("IQ1_S", "IQ1_S - 1.5625 bpw"),
    25: ("IQ4_NL", "IQ4_NL - 4.5 bpw"),
    26: ("IQ3_S", "IQ3_S - 3.4375 bpw"),
    27: ("IQ3_M", "IQ3_S mix - 3.66 bpw"),
    28: ("IQ2_S", "IQ2_S - 2.5 bpw"),
    29: ("IQ2_M", "IQ2_M - 2.7 bpw"),
    30: ("IQ4_XS", "IQ4_XS - 4.25 bpw"),
    31: ("IQ1_M", "IQ1_M - 1.75 bpw"),
    32: ("BF16", "BF16"),
    36: ("TQ1_0", "TQ1_0 - 1.69 bpw ternary"),
    37: ("TQ2_0", "TQ2_0 - 2.06 bpw ternary"),
    38: ("MXFP4_MOE", "MXFP4 MoE"),
}

def bytes_per_token(header: GGUFHeader) -> int | None:
    """Weight bytes read from memory to generate one token, for a bandwidth roofline.

    Every weight matrix is streamed once per generated token, except the token embedding:
    only one row of ``token_embd`` is looked up per token, so it is excluded, unless the model
    has no ``output`` tensor (tied embeddings), in which case ``token_embd`` is also the output
    projection and is read in full. KV-cache reads (which grow with context) are not counted.
    None if a tensor's type is unknown.
    """
    names = {t.name for t in header.tensors}
    tied = "output.weight" not in names
    total = 0
    for t in header.tensors:
        if t.name == "token_embd.weight" and not tied:
            continue
        nbytes = t.nbytes
        if nbytes is None:
            return None
        total += nbytes
    return total


def tensor_type_mix(header: GGUFHeader) -> dict[str, int]:
    """How many tensors of each ggml type the file holds, e.g. {"Q4_K": 145, "Q6_K": 25}."""
    mix: dict[str, int] = {}
    for t in header.tensors:
        mix[t.type_name] = mix.get(t.type_name, 0) + 1
    return dict(sorted(mix.items()))


def inspect_gguf(path: str | Path) -> ModelInfo:
    """Facts about a GGUF model file for the results (no sha256: see ``sha256_file``)."""
    header = read_header(path)
    meta = header.metadata
    ftype = meta.get("general.file_type")
    quant, quant_text = (
        FILE_TYPES.get(ftype, (None, None)) if isinstance(ftype, int) else (None, None)
    )
    synthetic = bool(meta.get("pibench.synthetic", False))
    extra: dict[str, Any] = {
        "bytes_per_token": bytes_per_token(header),
        "quant_llama_cpp": quant_text,
        "gguf_version": header.version,
        "n_tensors": len(header.tensors),
        "tensor_types": tensor_type_mix(header),
        "name": meta.get("general.name"),
    }
    if synthetic:
        extra["preset"] = meta.get("pibench.preset")
        extra["seed"] = meta.get("pibench.seed")
    return ModelInfo(
        weights="synthetic" if synthetic else "real",
        path=str(Path(path).expanduser()),
        file_bytes=header.file_bytes,
        architecture=meta.get("general.architecture"),
        params=sum(t.n_elements for t in header.tensors),
        quant=quant,
        extra=extra,
    )
