"""Shape-faithful synthetic models: a real model's exact GGUF layout with random weights.

``synthesize("qwen2.5-1.5b-instruct", "Q4_K_M")`` writes an F16 GGUF with the tensor names,
shapes and metadata llama.cpp's converter writes for that model, the model's real tokenizer
(from llama.cpp's vocab files, see ``bench.models.vocab``), seeded random weights, then
quantizes it with llama.cpp's own quantizer (``llama_model_quantize``), so the tensor-type mix
is the one real Q4_K_M / Q4_0 / Q8_0 files have. Generation speed matches the real model's
(same layout, same kernels); the text is noise. Files are marked ``pibench.synthetic = true``.

numpy, gguf and llama_cpp are imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BackendUnavailable, UserError
from bench.models.files import atomic_path, synth_dir
from bench.models.presets import Preset, get_preset, normalize_quant
from bench.models.tensors import TensorSpec, write_tensors

# token_type values of llama.cpp's converter (gguf.TokenType): added special tokens are
# CONTROL, padding entries UNUSED
_TOKEN_TYPE_CONTROL = 3
_TOKEN_TYPE_UNUSED = 5


@dataclass(frozen=True)
class SynthResult:
    path: Path
    file_bytes: int
    seconds: float
    reused: bool
    mmproj: Path | None = None
    """The vision projector file of a vision-language preset (``bench.models.synth_vlm``)."""


def tensor_layout(p: Preset) -> list[TensorSpec]:
    """Tensors llama.cpp's convert_hf_to_gguf.py writes for this model, in its order."""
    hd = p.n_embd_head
    q_dim, kv_dim = p.n_head * hd, p.n_head_kv * hd
    specs: list[TensorSpec] = []
    if p.rope_scaling is not None and p.rope_scaling.type == "llama3":
        specs.append(TensorSpec("rope_freqs.weight", (hd // 2,), "rope"))
    specs.append(TensorSpec("token_embd.weight", (p.n_vocab, p.n_embd), "matrix"))
    for i in range(p.n_layer):
        b = f"blk.{i}."
        specs.append(TensorSpec(b + "attn_norm.weight", (p.n_embd,), "norm"))
        specs.append(TensorSpec(b + "attn_q.weight", (q_dim, p.n_embd), "matrix"))
        specs.append(TensorSpec(b + "attn_k.weight", (kv_dim, p.n_embd), "matrix"))
        specs.append(TensorSpec(b + "attn_v.weight", (kv_dim, p.n_embd), "matrix"))
        if p.attn_bias:
            specs.append(TensorSpec(b + "attn_q.bias", (q_dim,), "bias"))
            specs.append(TensorSpec(b + "attn_k.bias", (kv_dim,), "bias"))
            specs.append(TensorSpec(b + "attn_v.bias", (kv_dim,), "bias"))
        specs.append(TensorSpec(b + "attn_output.weight", (p.n_embd, q_dim), "matrix"))
        specs.append(TensorSpec(b + "ffn_norm.weight", (p.n_embd,), "norm"))
        specs.append(TensorSpec(b + "ffn_gate.weight", (p.n_ff, p.n_embd), "matrix"))
        specs.append(TensorSpec(b + "ffn_up.weight", (p.n_ff, p.n_embd), "matrix"))
        specs.append(TensorSpec(b + "ffn_down.weight", (p.n_embd, p.n_ff), "matrix"))
    specs.append(TensorSpec("output_norm.weight", (p.n_embd,), "norm"))
    if not p.tied_embeddings:
        specs.append(TensorSpec("output.weight", (p.n_vocab, p.n_embd), "matrix"))
    return specs


def llama3_rope_factors(p: Preset) -> list[float]:
    """Per-frequency factors of llama3 rope scaling, computed the way llama.cpp's converter
    does (LlamaModel.generate_extra_tensors) and stored as ``rope_freqs.weight``."""
    rs = p.rope_scaling
    if rs is None:
        return []
    dim = p.n_embd_head
    low_wavelen = rs.original_max_position_embeddings / rs.low_freq_factor
    high_wavelen = rs.original_max_position_embeddings / rs.high_freq_factor
    factors = []
    for i in range(0, dim, 2):
        wavelen = 2 * math.pi * p.rope_theta ** (i / dim)
        if wavelen < high_wavelen:
            factors.append(1.0)
        elif wavelen > low_wavelen:
            factors.append(rs.factor)
        else:
            smooth = (rs.original_max_position_embeddings / wavelen - rs.low_freq_factor) / (
                rs.high_freq_factor - rs.low_freq_factor
            )
            factors.append(1 / ((1 - smooth) / rs.factor + smooth))
    return factors


def _model_metadata(writer: Any, p: Preset, seed: int) -> None:
    a = p.arch
    writer.add_name(f"{p.name} (synthetic: random weights, speed only)")
    writer.add_string("general.basename", p.name)
    writer.add_bool("pibench.synthetic", True)
    writer.add_string("pibench.preset", p.name)
    writer.add_uint32("pibench.seed", seed)
    writer.add_uint32(f"{a}.block_count", p.n_layer)
    writer.add_uint32(f"{a}.context_length", p.context_length)
    writer.add_uint32(f"{a}.embedding_length", p.n_embd)
    writer.add_uint32(f"{a}.feed_forward_length", p.n_ff)
    writer.add_uint32(f"{a}.attention.head_count", p.n_head)
    writer.add_uint32(f"{a}.attention.head_count_kv", p.n_head_kv)
    writer.add_float32(f"{a}.rope.freq_base", p.rope_theta)
    writer.add_float32(f"{a}.attention.layer_norm_rms_epsilon", p.rms_eps)
    if a == "llama":  # LlamaModel.set_gguf_parameters adds these two
        writer.add_uint32(f"{a}.vocab_size", p.n_vocab)
        writer.add_uint32(f"{a}.rope.dimension_count", p.n_embd_head)
    if p.rope_sections is not None:  # M-RoPE (Qwen2-VL): an INT32 array of 4
        writer.add_array(f"{a}.rope.dimension_sections", list(p.rope_sections))
    writer.add_uint32("general.file_type", 1)  # MOSTLY_F16 until quantized


def tokenizer_metadata(vocab_path: Path, p: Preset, template: str | None) -> dict[str, Any]:
    """tokenizer.* keys from a llama.cpp vocab GGUF, padded to the model's vocab size with
    "[PAD<i>]" entries of type UNUSED (as llama.cpp's converter pads real models), with the
    preset's special ids and chat template."""
    from bench.models.gguf_info import read_header

    meta = read_header(vocab_path, full_arrays=True).metadata
    kv = {k: v for k, v in meta.items() if k.startswith("tokenizer.")}
    tokens = list(kv["tokenizer.ggml.tokens"])
    types = list(kv["tokenizer.ggml.token_type"])
    if len(tokens) > p.n_vocab:
        raise UserError(
            f"{vocab_path} has {len(tokens)} tokens, more than {p.name}'s vocab_size {p.n_vocab}"
        )
    for i in range(len(tokens), p.n_vocab):
        tokens.append(f"[PAD{i}]")
        types.append(_TOKEN_TYPE_UNUSED)
    for token_id, text in p.special_tokens:
        tokens[token_id] = text
        types[token_id] = _TOKEN_TYPE_CONTROL
    kv["tokenizer.ggml.tokens"] = tokens
    kv["tokenizer.ggml.token_type"] = types
    kv["tokenizer.ggml.bos_token_id"] = p.bos_token_id
    kv["tokenizer.ggml.eos_token_id"] = p.eos_token_id
    kv["tokenizer.ggml.add_bos_token"] = p.add_bos_token
    if template is not None:
        kv["tokenizer.chat_template"] = template
    return kv


def _add_tokenizer(writer: Any, kv: dict[str, Any]) -> None:
    from gguf import GGUFValueType

    for key, value in kv.items():
        if isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        elif isinstance(value, float):
            writer.add_float32(key, value)
        elif isinstance(value, str):
            writer.add_string(key, value)
        elif key == "tokenizer.ggml.token_type":
            writer.add_key_value(key, value, GGUFValueType.ARRAY, GGUFValueType.INT32)
        else:
            writer.add_array(key, value)


def write_f16(p: Preset, path: Path, seed: int, tokenizer: dict[str, Any] | None) -> None:
    """Write the F16 GGUF (norms and biases F32, as the converter does), streaming one tensor
    at a time so memory stays at about one tensor's size."""
    from gguf import GGUFWriter

    writer = GGUFWriter(path, p.arch)
    _model_metadata(writer, p, seed)
    if tokenizer:
        _add_tokenizer(writer, tokenizer)
    write_tensors(writer, path, tensor_layout(p), seed, llama3_rope_factors(p))


_FTYPES = {
    "Q4_K_M": "LLAMA_FTYPE_MOSTLY_Q4_K_M",
    "Q4_0": "LLAMA_FTYPE_MOSTLY_Q4_0",
    "Q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0",
    "F16": "LLAMA_FTYPE_MOSTLY_F16",
}


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Send the C library's stderr (fd 2) to a file: llama.cpp logs every tensor."""
    saved = os.dup(2)
    with path.open("wb") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def quantize(src: Path, dst: Path, quant: str, threads: int | None = None) -> None:
    """Quantize ``src`` (F16 GGUF) into ``dst`` with llama.cpp's quantizer."""
    try:
        import llama_cpp
    except ImportError:
        raise BackendUnavailable(
            "llama-cpp-python is not installed: pip install 'pibench[llama]'"
        ) from None
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, _FTYPES[quant])
    params.nthread = threads or os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "quantize.log"
        with _stderr_to(log):
            rc = llama_cpp.llama_model_quantize(
                str(src).encode(), str(dst).encode(), ctypes.byref(params)
            )
        if rc != 0:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no log"]
            raise UserError(f"llama.cpp could not quantize {src} to {quant}: {tail[0]}")


@contextlib.contextmanager
def _scratch_beside(path: Path, suffix: str) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            Path(name).unlink()


def default_path(p: Preset, quant: str) -> Path:
    return synth_dir() / f"{p.key}-{quant.lower()}.gguf"


def synthesize(
    preset: str | Preset,
    quant: str = "Q4_K_M",
    out: Path | None = None,
    seed: int = 0,
    force: bool = False,
) -> SynthResult:
    """Make (or reuse) the synthetic GGUF of ``preset`` (a name, or a Preset: tests use reduced
    shapes of real presets) at ``quant`` (and, for a vision-language preset, its F16 mmproj
    beside it: ``bench.models.synth_vlm``).

    Files appear atomically: an interrupted run leaves no partial file at ``out``.
    """
    p = get_preset(preset) if isinstance(preset, str) else preset
    q = normalize_quant(quant)
    path = (out or default_path(p, q)).expanduser()
    mmproj: Path | None = None
    mm_seconds = 0.0
    if p.vision is not None:
        from bench.models.synth_vlm import ensure_mmproj

        mm = ensure_mmproj(p, path.parent, seed=seed, force=force)
        mmproj, mm_seconds = mm.path, mm.seconds
    if path.is_file() and not force:
        return SynthResult(path, path.stat().st_size, mm_seconds, reused=True, mmproj=mmproj)
    t0 = time.perf_counter()
    tok = _tokenizer_for(p)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as final_tmp:
        if q == "F16":
            write_f16(p, final_tmp, seed, tok)
        else:
            with _scratch_beside(path, ".f16") as f16_tmp:  # deleted whatever happens
                write_f16(p, f16_tmp, seed, tok)
                quantize(f16_tmp, final_tmp, q)
    seconds = time.perf_counter() - t0 + mm_seconds
    return SynthResult(path, path.stat().st_size, seconds, reused=False, mmproj=mmproj)


def _tokenizer_for(p: Preset) -> dict[str, Any]:
    from bench.models import vocab

    template = p.chat_template_text
    if template is None and p.chat_template:
        template = vocab.chat_template(p.chat_template)
    return tokenizer_metadata(vocab.vocab_gguf(p.vocab_gguf), p, template)


def check_generates(path: Path, n_tokens: int = 4, threads: int | None = None) -> list[int]:
    """Load ``path`` in llama.cpp, decode a short prompt and ``n_tokens`` greedy tokens;
    raise UserError if any logit is NaN or infinite. Returns the generated token ids."""
    import llama_cpp
    import numpy as np

    llm = llama_cpp.Llama(
        model_path=str(path), n_ctx=64, n_threads=threads or os.cpu_count(), verbose=False
    )
    try:
        tokens = llm.tokenize(b"Hello, world", add_bos=True)
        out: list[int] = []
        for _ in range(n_tokens):
            llm.eval(tokens if not out else [out[-1]])
            logits = np.asarray(llm.scores[llm.n_tokens - 1])
            if not np.isfinite(logits).all():
                raise UserError(f"{path} produced non-finite logits after {len(out)} tokens")
            out.append(int(np.argmax(logits)))
        return out
    finally:
        llm.close()
