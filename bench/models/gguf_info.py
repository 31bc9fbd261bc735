"""Read a GGUF file's header cheaply: validity, architecture, size, quantization, roofline bytes.

Only the header (metadata and tensor table) is read, never the tensor data, so inspecting a
2 GB model takes milliseconds; the sha256 is separate (``bench.models.files.sha256_file``).
No third-party library is needed: the GGUF layout (v2/v3, little-endian) is parsed here.

Quantization naming: ``ModelInfo.quant`` is llama.cpp's ftype suffix ("Q4_K_M", the name of
``LLAMA_FTYPE_MOSTLY_Q4_K_M``, as used in file names and by ``llama-quantize``);
``extra["quant_llama_cpp"]`` is the description llama.cpp prints ("Q4_K - Medium").
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from bench.backends.base import ModelInfo
from bench.errors import ModelLoadError

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# ggml type id -> (name, elements per block, bytes per block); ggml/include/ggml.h order.
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
}

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

# GGUF metadata value types: id -> struct format of a scalar (8 string, 9 array handled apart)
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
_KEEP_ARRAY_MAX = 64  # arrays longer than this (vocabularies) are skipped, only counted


class _Truncated(Exception):
    pass


@dataclass(frozen=True)
class TensorEntry:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def type_name(self) -> str:
        return GGML_TYPES.get(self.ggml_type, (f"type{self.ggml_type}", 0, 0))[0]

    @property
    def nbytes(self) -> int | None:
        info = GGML_TYPES.get(self.ggml_type)
        if info is None:
            return None
        _, block, size = info
        return self.n_elements // block * size


@dataclass
class GGUFHeader:
    version: int
    metadata: dict[str, Any]
    """Scalar and short-array values; long arrays are replaced by ("array", length)."""
    tensors: list[TensorEntry]
    data_offset: int
    file_bytes: int


class _Reader:
    def __init__(self, f: BinaryIO, full_arrays: bool = False) -> None:
        self.f = f
        self.keep_max = 1 << 62 if full_arrays else _KEEP_ARRAY_MAX

    def read(self, n: int) -> bytes:
        b = self.f.read(n)
        if len(b) != n:
            raise _Truncated
        return b

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("<Q")
        return self.read(n).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        n = self.unpack("<Q")
        self.f.seek(n, 1)

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            itype = self.unpack("<I")
            count = self.unpack("<Q")
            if count <= self.keep_max:
                if itype in _SCALARS:  # one unpack for the whole array
                    fmt = "<" + _SCALARS[itype][1] * count
                    return list(struct.unpack(fmt, self.read(struct.calcsize(fmt))))
                return [self.value(itype) for _ in range(count)]
            if itype == _STRING:
                for _ in range(count):
                    self.skip_string()
            elif itype in _SCALARS:
                self.f.seek(count * struct.calcsize(_SCALARS[itype]), 1)
            else:
                for _ in range(count):
                    self.value(itype)
            return ("array", count)
        raise ValueError(f"unknown metadata value type {vtype}")


def read_header(path: str | Path, full_arrays: bool = False) -> GGUFHeader:
    """Parse a GGUF header. Raises ModelLoadError (one line) for a missing, foreign or
    truncated file. Long arrays (vocabularies) are skipped unless ``full_arrays``."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelLoadError(f"model file not found: {p}")
    size = p.stat().st_size
    try:
        with p.open("rb") as f:
            head = f.read(4)
            if head != GGUF_MAGIC:
                raise ModelLoadError(
                    f"{p} is not a GGUF file (starts with {head!r}, expected b'GGUF')"
                )
            r = _Reader(f, full_arrays)
            version = r.unpack("<I")
            if version not in (2, 3):
                raise ModelLoadError(f"{p} is GGUF version {version}; pibench reads versions 2-3")
            n_tensors = r.unpack("<Q")
            n_kv = r.unpack("<Q")
            if n_tensors > 1_000_000 or n_kv > 1_000_000:
                raise ModelLoadError(f"{p} has a corrupt GGUF header ({n_tensors} tensors)")
            meta: dict[str, Any] = {}
            for _ in range(n_kv):
                key = r.string()
                meta[key] = r.value(r.unpack("<I"))
            tensors = []
            for _ in range(n_tensors):
                name = r.string()
                n_dims = r.unpack("<I")
                shape = tuple(r.unpack("<Q") for _ in range(n_dims))
                tensors.append(TensorEntry(name, shape, r.unpack("<I"), r.unpack("<Q")))
            align = int(meta.get("general.alignment", DEFAULT_ALIGNMENT))
            pos = f.tell()
    except _Truncated:
        raise ModelLoadError(
            f"{p} is truncated: the GGUF header ends early ({size} bytes)"
        ) from None
    except (ValueError, UnicodeDecodeError, struct.error) as exc:
        raise ModelLoadError(f"{p} has a corrupt GGUF header: {exc}") from None
    except OSError as exc:
        raise ModelLoadError(f"cannot read model file {p}: {exc.strerror or exc}") from None
    data_offset = (pos + align - 1) // align * align
    header = GGUFHeader(version, meta, tensors, data_offset, size)
    needed = data_end(header)
    if needed is not None and needed > size:
        raise ModelLoadError(
            f"{p} is truncated: {size} bytes on disk, the tensor table needs {needed} bytes"
        )
    return header


def data_end(header: GGUFHeader) -> int | None:
    """Byte offset where the last tensor's data ends (None if a tensor type is unknown)."""
    if not header.tensors:  # vocab-only files end at their metadata, without padding
        return None
    end = header.data_offset
    for t in header.tensors:
        nbytes = t.nbytes
        if nbytes is None:
            return None
        end = max(end, header.data_offset + t.offset + nbytes)
    return end


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
