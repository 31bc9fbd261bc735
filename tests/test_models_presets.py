"""Shape presets: internal consistency, published parameter counts, layout, rope factors."""

from __future__ import annotations

import pytest

from bench.errors import UserError
from bench.models.presets import PRESETS, QUANTS, get_preset, normalize_quant
from bench.models.synth import llama3_rope_factors, tensor_layout


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_preset_is_consistent(key: str) -> None:
    p = PRESETS[key]
    assert p.key == key
    assert p.n_head % p.n_head_kv == 0, "query heads must be a multiple of KV heads (GQA)"
    if p.head_dim is None:
        assert p.n_embd % p.n_head == 0, "head size must divide the hidden size"
    assert p.n_embd_head % 2 == 0, "rope rotates pairs of dimensions"
    assert 0 <= p.bos_token_id < p.n_vocab and 0 <= p.eos_token_id < p.n_vocab
    assert p.arch in ("qwen2", "llama", "qwen2vl")
    assert p.vocab_gguf == ("llama-bpe" if p.arch == "llama" else "qwen2")
    assert p.attn_bias == (p.arch != "llama"), "Qwen2 has q/k/v biases, Llama has none"
    assert (p.rope_scaling is not None) == (p.arch == "llama")
    assert (p.rope_sections is not None) == (p.arch == "qwen2vl") == (p.vision is not None)
    if p.rope_sections is not None:
        assert sum(p.rope_sections) == p.n_embd_head // 2, "M-RoPE sections cover the rotation"
    for token_id, text in p.special_tokens:
        assert p.eos_token_id < token_id < p.n_vocab and text.startswith("<|")


# Parameter counts the model cards publish (rounded as published)
@pytest.mark.parametrize(
    ("key", "billions"),
    [
        ("qwen2.5-0.5b-instruct", 0.49),
        ("qwen2.5-1.5b-instruct", 1.54),
        ("qwen2.5-coder-1.5b-instruct", 1.54),
        ("llama-3.2-1b-instruct", 1.24),
        ("llama-3.2-3b-instruct", 3.21),
        ("deepseek-r1-distill-qwen-1.5b", 1.78),
    ],
)
def test_parameter_count_matches_model_card(key: str, billions: float) -> None:
    assert round(PRESETS[key].n_params() / 1e9, 2) == billions


def test_qwen2_vl_parameter_counts_match_the_model_card() -> None:
    p = PRESETS["qwen2-vl-2b-instruct"]
    assert p.vision is not None
    # the text model is Qwen2-1.5B's shape; the card's 2.21 B include the vision tower
    assert p.n_params() == PRESETS["qwen2-1.5b-instruct"].n_params()
    assert round((p.n_params() + p.vision.n_params(p.n_embd)) / 1e9, 2) == 2.21
    assert p.vision.merged_width == 5120 and p.vision.n_embd // p.vision.n_head == 80


def test_deepseek_distill_differs_from_qwen25() -> None:
    ds, qw = PRESETS["deepseek-r1-distill-qwen-1.5b"], PRESETS["qwen2.5-1.5b-instruct"]
    assert not ds.tied_embeddings and qw.tied_embeddings
    assert ds.rope_theta == 10_000.0 and qw.rope_theta == 1_000_000.0
    names = {s.name for s in tensor_layout(ds)}
    assert "output.weight" in names
    assert "output.weight" not in {s.name for s in tensor_layout(qw)}


def test_layout_counts_and_shapes() -> None:
    p = PRESETS["qwen2.5-0.5b-instruct"]
    layout = tensor_layout(p)
    # per layer: 2 norms, q/k/v + 3 biases, output, gate/up/down = 12; plus embd and out norm
    assert len(layout) == 12 * p.n_layer + 2
    shapes = {s.name: s.shape for s in layout}
    assert shapes["token_embd.weight"] == (151936, 896)
    assert shapes["blk.0.attn_k.weight"] == (2 * 64, 896)
    assert shapes["blk.23.ffn_down.weight"] == (896, 4864)
    assert sum(1 for s in layout if s.name.startswith("blk.23.")) == 12


def test_llama_layout_has_rope_freqs_and_no_bias() -> None:
    p = PRESETS["llama-3.2-3b-instruct"]
    layout = tensor_layout(p)
    assert layout[0].name == "rope_freqs.weight" and layout[0].shape == (64,)
    assert not any(s.name.endswith(".bias") for s in layout)
    shapes = {s.name: s.shape for s in layout}
    assert shapes["blk.0.attn_q.weight"] == (24 * 128, 3072)
    assert shapes["blk.0.attn_v.weight"] == (8 * 128, 3072)


def test_llama3_rope_factors() -> None:
    factors = llama3_rope_factors(PRESETS["llama-3.2-1b-instruct"])
    assert len(factors) == 32
    assert factors[0] == 1.0  # highest frequency: unscaled
    assert factors[-1] == 32.0  # lowest frequency: scaled by the full factor
    assert factors == sorted(factors)
    assert any(1.0 < f < 32.0 for f in factors), "smooth band between the two wavelengths"
    assert llama3_rope_factors(PRESETS["qwen2.5-0.5b-instruct"]) == []


def test_get_preset_is_case_insensitive_and_suggests() -> None:
    assert get_preset("Qwen2.5-1.5B-Instruct").key == "qwen2.5-1.5b-instruct"
    with pytest.raises(UserError, match=r"did you mean Qwen2\.5-1\.5B-Instruct") as exc:
        get_preset("qwen2.5-1.5b-instruc")
    assert "\n" not in str(exc.value)


def test_normalize_quant() -> None:
    assert normalize_quant("q4_k_m") == "Q4_K_M"
    assert set(QUANTS) == {"Q4_K_M", "Q4_0", "Q8_0", "F16"}
    with pytest.raises(UserError, match="unsupported quantization 'Q3_K'"):
        normalize_quant("Q3_K")
