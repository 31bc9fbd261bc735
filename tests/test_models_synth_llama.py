"""Synthetic models through llama.cpp's own quantizer and loader (needs llama-cpp-python).

The tokenizer files come from llama-cpp-python's sdist, cached in ~/.cache/pibench/sdist
(downloaded with pip on first use)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench.models.gguf_info import inspect_gguf, read_header
from bench.models.presets import PRESETS
from bench.models.synth import (
    check_generates,
    quantize,
    synthesize,
    tokenizer_metadata,
    write_f16,
)

llama_cpp = pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")
pytestmark = pytest.mark.llama

# Qwen2-shaped and small, with the real Qwen2 vocabulary (151936 tokens)
SMALL = dataclasses.replace(
    PRESETS["qwen2.5-0.5b-instruct"],
    name="Small-Qwen2",
    n_layer=2,
    n_embd=256,
    n_head=4,
    n_head_kv=2,
    n_ff=512,
)


@pytest.fixture(scope="module")
def small_q4km(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bench.models import vocab

    tmp = tmp_path_factory.mktemp("synth")
    tok = tokenizer_metadata(
        vocab.vocab_gguf("qwen2"), SMALL, vocab.chat_template("Qwen-Qwen2.5-7B-Instruct")
    )
    f16, out = tmp / "small-f16.gguf", tmp / "small-q4_k_m.gguf"
    write_f16(SMALL, f16, seed=1, tokenizer=tok)
    quantize(f16, out, "Q4_K_M")
    return out


@pytest.mark.slow  # about 7 s: write, quantize and load a model with a 151936-token vocab
def test_small_model_quantized_by_llama_cpp_loads_and_generates(small_q4km: Path) -> None:
    info = inspect_gguf(small_q4km)
    assert info.quant == "Q4_K_M" and info.weights == "synthetic"
    types = {t.name: t.type_name for t in read_header(small_q4km).tensors}
    # llama.cpp's Q4_K_M mix: attn_v and ffn_down use Q6_K in some layers, norms stay F32
    assert types["blk.0.attn_q.weight"] == "Q4_K"
    # (use_more_bits in llama-quant.cpp: with 2 layers, only the last one gets Q6_K)
    assert [types[f"blk.{i}.ffn_down.weight"] for i in (0, 1)] == ["Q4_K", "Q6_K"]
    assert [types[f"blk.{i}.attn_v.weight"] for i in (0, 1)] == ["Q4_K", "Q6_K"]
    assert types["blk.0.attn_norm.weight"] == "F32"
    assert types["token_embd.weight"] == "Q6_K"  # tied: the output matrix gets more bits
    tokens = check_generates(small_q4km, n_tokens=3)
    assert len(tokens) == 3 and all(0 <= t < SMALL.n_vocab for t in tokens)


@pytest.mark.slow
def test_real_tokenizer_and_chat_template(small_q4km: Path) -> None:
    llm = llama_cpp.Llama(model_path=str(small_q4km), n_ctx=64, verbose=False)
    try:
        ids = llm.tokenize(b"<|im_start|>user", add_bos=False, special=True)
        assert ids[0] == 151644  # <|im_start|> is one special token, as in Qwen2.5
        assert llm.token_eos() == 151645  # <|im_end|> for the instruct model
        assert "<|im_start|>" in (llm.metadata.get("tokenizer.chat_template") or "")
        assert llm.n_vocab() == 151936
    finally:
        llm.close()


def test_ftype_names_match_llama_cpp_constants() -> None:
    from bench.models.gguf_info import FILE_TYPES

    for value, (short, _) in FILE_TYPES.items():
        if short in ("F32",):
            assert value == llama_cpp.LLAMA_FTYPE_ALL_F32
            continue
        const = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{short}", None)
        if const is not None:
            assert const == value, short


@pytest.mark.slow
def test_qwen25_05b_q4km_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "q.gguf"
    r = synthesize("Qwen2.5-0.5B-Instruct", "q4_k_m", out=out, seed=0)
    assert not r.reused and r.path == out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.gguf"]  # F16 intermediate gone
    info = inspect_gguf(out)
    assert info.params == PRESETS["qwen2.5-0.5b-instruct"].n_params() == 494_032_768
    # n_embd 896 is not a multiple of 256: llama.cpp falls back to Q5_0/Q8_0 for those
    # tensors, as in published Qwen2.5-0.5B Q4_K_M files
    assert set(info.extra["tensor_types"]) == {"F32", "Q4_K", "Q5_0", "Q6_K", "Q8_0"}
    assert len(check_generates(out, n_tokens=4)) == 4
    assert synthesize("qwen2.5-0.5b-instruct", "Q4_K_M", out=out).reused


@pytest.mark.slow
@pytest.mark.parametrize(
    ("key", "template", "special"),
    [
        ("llama-3.2-1b-instruct", "meta-llama-Llama-3.2-3B-Instruct", "rope_freqs.weight"),
        (
            "deepseek-r1-distill-qwen-1.5b",
            "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B",
            "output.weight",
        ),
    ],
)
def test_llama_and_untied_shapes_load(
    tmp_path: Path, key: str, template: str, special: str
) -> None:
    """Small versions of the Llama 3.2 layout (rope_freqs for llama3 rope scaling) and of
    DeepSeek-R1-Distill's untied output, with their real vocabularies."""
    from bench.models import vocab

    p = PRESETS[key]
    small = dataclasses.replace(
        p,
        n_layer=2,
        n_embd=256,
        n_head=4,
        n_head_kv=2,
        n_ff=512,
        head_dim=64 if p.head_dim else None,
    )
    tok = tokenizer_metadata(vocab.vocab_gguf(p.vocab_gguf), small, vocab.chat_template(template))
    f16, out = tmp_path / "f16.gguf", tmp_path / "q4_0.gguf"
    write_f16(small, f16, seed=0, tokenizer=tok)
    quantize(f16, out, "Q4_0")
    types = {t.name: t.type_name for t in read_header(out).tensors}
    assert special in types
    assert len(check_generates(out, n_tokens=2)) == 2
    llm = llama_cpp.Llama(model_path=str(out), n_ctx=32, verbose=False)
    try:
        assert llm.token_eos() == p.eos_token_id and llm.n_vocab() == p.n_vocab
    finally:
        llm.close()
