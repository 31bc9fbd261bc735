"""The vision half of a synthetic vision-language model: the projector file ("mmproj").

llama.cpp runs a VLM from two GGUF files: the text model (``bench.models.synth`` writes it,
arch "qwen2vl" with its M-RoPE sections) and an mmproj with the vision tower and the merger
that projects image patches into the text model's embedding space, loaded by libmtmd
(tools/mtmd/clip.cpp). ``write_mmproj`` writes that second file the way llama.cpp's converter
does for Qwen2-VL (conversion/qwenvl.py ``Qwen2VLVisionModel``, ``--mmproj``, F16):

- keys ``clip.projector_type = "qwen2vl_merger"``, ``clip.has_vision_encoder``,
  ``clip.vision.{image_size, patch_size, embedding_length, feed_forward_length, block_count,
  attention.head_count, attention.layer_norm_epsilon, projection_dim, image_mean, image_std}``;
- tensors ``v.patch_embd.weight`` and ``v.patch_embd.weight.1`` (the Conv3d kernel split in
  its two temporal slices), per block ``v.blk.N.{ln1, attn_q, attn_k, attn_v, attn_out, ln2,
  ffn_up, ffn_down}`` with biases, ``v.post_ln`` (the merger's ln_q) and the merger MLP
  ``mm.0`` / ``mm.2``; matrices F16, norms and biases F32.

Weights are random (speed only). llama.cpp's model quantizer does not take mmproj files, so
the synthetic mmproj stays F16, like the converter's default output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import UserError
from bench.models.files import atomic_path
from bench.models.presets import Preset, VisionTower
from bench.models.tensors import TensorSpec, write_tensors

_FTYPE_F16 = 1


@dataclass(frozen=True)
class MmprojResult:
    path: Path
    seconds: float
    reused: bool


def mmproj_name(p: Preset) -> str:
    return f"mmproj-{p.key}-f16.gguf"


def mmproj_layout(v: VisionTower, n_embd_text: int) -> list[TensorSpec]:
    """Tensors of the mmproj, numpy (row-major) shapes, in the order written."""
    e, f, m = v.n_embd, v.n_ff, v.merged_width
    kernel = (e, 3, v.patch_size, v.patch_size)
    specs = [
        TensorSpec("v.patch_embd.weight", kernel, "matrix"),
        TensorSpec("v.patch_embd.weight.1", kernel, "matrix"),
    ]
    for i in range(v.n_layer):
        b = f"v.blk.{i}."
        specs += [
            TensorSpec(b + "ln1.weight", (e,), "norm"),
            TensorSpec(b + "ln1.bias", (e,), "bias"),
        ]
        for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
            specs += [
                TensorSpec(f"{b}{name}.weight", (e, e), "matrix"),
                TensorSpec(f"{b}{name}.bias", (e,), "bias"),
            ]
        specs += [
            TensorSpec(b + "ln2.weight", (e,), "norm"),
            TensorSpec(b + "ln2.bias", (e,), "bias"),
            TensorSpec(b + "ffn_up.weight", (f, e), "matrix"),
            TensorSpec(b + "ffn_up.bias", (f,), "bias"),
            TensorSpec(b + "ffn_down.weight", (e, f), "matrix"),
            TensorSpec(b + "ffn_down.bias", (e,), "bias"),
        ]
    specs += [
        TensorSpec("v.post_ln.weight", (e,), "norm"),
        TensorSpec("v.post_ln.bias", (e,), "bias"),
        TensorSpec("mm.0.weight", (m, m), "matrix"),
        TensorSpec("mm.0.bias", (m,), "bias"),
        TensorSpec("mm.2.weight", (n_embd_text, m), "matrix"),
        TensorSpec("mm.2.bias", (n_embd_text,), "bias"),
    ]
    return specs


def _metadata(writer: Any, p: Preset, v: VisionTower, seed: int) -> None:
    writer.add_string("general.type", "mmproj")
    writer.add_name(f"{p.name} mmproj (synthetic: random weights, speed only)")
    writer.add_bool("pibench.synthetic", True)
    writer.add_string("pibench.preset", p.name)
    writer.add_uint32("pibench.seed", seed)
    writer.add_uint32("general.file_type", _FTYPE_F16)
    writer.add_string("clip.projector_type", v.projector)
    writer.add_bool("clip.has_vision_encoder", True)
    writer.add_uint32("clip.vision.projection_dim", p.n_embd)
    writer.add_uint32("clip.vision.image_size", v.image_size)
    writer.add_uint32("clip.vision.patch_size", v.patch_size)
    writer.add_uint32("clip.vision.embedding_length", v.n_embd)
    writer.add_uint32("clip.vision.feed_forward_length", v.ff_length_meta)
    writer.add_uint32("clip.vision.block_count", v.n_layer)
    writer.add_uint32("clip.vision.attention.head_count", v.n_head)
    writer.add_float32("clip.vision.attention.layer_norm_epsilon", v.eps)
    writer.add_array("clip.vision.image_mean", [float(x) for x in v.image_mean])
    writer.add_array("clip.vision.image_std", [float(x) for x in v.image_std])


def write_mmproj(p: Preset, path: Path, seed: int = 0) -> None:
    """Write the F16 mmproj of ``p``'s vision tower to ``path`` (not atomically)."""
    from gguf import GGUFWriter

    if p.vision is None:
        raise UserError(f"{p.name} has no vision tower: it is a text-only preset")
    writer = GGUFWriter(path, "clip")
    _metadata(writer, p, p.vision, seed)
    # a different stream from the text model's, so the two files do not share weights
    write_tensors(writer, path, mmproj_layout(p.vision, p.n_embd), seed + 1)


def ensure_mmproj(p: Preset, directory: Path, seed: int = 0, force: bool = False
                  ) -> MmprojResult:
    """The mmproj of ``p`` in ``directory`` (``mmproj_name``), written atomically if missing."""
    path = directory.expanduser() / mmproj_name(p)
    if path.is_file() and not force:
        return MmprojResult(path, 0.0, reused=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with atomic_path(path) as tmp:
        write_mmproj(p, tmp, seed)
    return MmprojResult(path, time.perf_counter() - t0, reused=False)
