"""Random tensors in a GGUF writer: what synth.py (the language model) and synth_vlm.py (its
vision projector) both write, so neither imports the other."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WEIGHT_SCALE = 0.02
"""Standard deviation of the random weight matrices (typical initializer range)."""


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]
    """numpy (row-major) order, as the converter passes it: (rows, columns)."""
    kind: str
    """"matrix" (F16, random), "norm" (F32, ones), "bias" (F32, random), "rope" (F32)."""


def write_tensors(writer: Any, path: Path, layout: list[TensorSpec], seed: int,
                  rope: list[float] | None = None) -> None:
    """Add ``layout``'s tensor infos to ``writer`` (metadata already added), write the header,
    then each tensor: matrices F16 and biases F32 uniform with std WEIGHT_SCALE, norms ones,
    "rope" the given factors. One tensor in memory at a time; closes the writer."""
    import numpy as np

    for spec in layout:
        dtype = np.dtype(np.float16 if spec.kind == "matrix" else np.float32)
        writer.add_tensor_info(spec.name, spec.shape, dtype, math.prod(spec.shape) * dtype.itemsize)
    rng = np.random.default_rng(seed)
    half_width = np.float32(WEIGHT_SCALE * math.sqrt(3.0))  # uniform with std WEIGHT_SCALE
    try:
        writer.write_header_to_file(path)
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for spec in layout:
            if spec.kind == "norm":
                data = np.ones(spec.shape, dtype=np.float32)
            elif spec.kind == "rope":
                data = np.asarray(rope or [], dtype=np.float32)
            else:
                data = rng.random(spec.shape, dtype=np.float32)
                data -= np.float32(0.5)
                data *= 2 * half_width
                if spec.kind == "matrix":
                    data = data.astype(np.float16)
            writer.write_tensor_data(data)
    finally:
        writer.close()
