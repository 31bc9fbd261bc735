"""Shape presets of the mission's models, for synthetic (random-weight) GGUF files.

Every number below comes from the model's published ``config.json`` (Hugging Face
transformers format). The exact page each preset was checked against is cited in a comment
above it; where the official repository's page was not reachable from here, a verbatim
mirror of it (same ``_name_or_path``) was used, and the comment says so.

Names follow llama.cpp: ``arch`` is the GGUF ``general.architecture`` ("qwen2", "llama" or
"qwen2vl") and the tensor names written by ``bench.models.synth`` are those of llama.cpp's
converter. A vision-language preset also has a ``vision`` tower: ``bench.models.synth_vlm``
writes it as the separate projector file ("mmproj") that llama.cpp's libmtmd loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches

from bench.errors import UserError


@dataclass(frozen=True)
class RopeScaling:
    """``rope_scaling`` of config.json (only the "llama3" type is used by these presets)."""

    type: str
    factor: float
    low_freq_factor: float
    high_freq_factor: float
    original_max_position_embeddings: int


@dataclass(frozen=True)
class VisionTower:
    """``vision_config`` of a Qwen2-VL model, as llama.cpp's mmproj file holds it (projector
    "qwen2vl_merger", read by tools/mtmd/clip.cpp). The merger joins ``spatial_merge``²
    neighbouring patches and projects them to the text model's width."""

    n_layer: int
    """depth"""
    n_embd: int
    """embed_dim"""
    n_head: int
    """num_heads"""
    n_ff: int
    """embed_dim * mlp_ratio: width of each block's MLP (fc1 rows)"""
    patch_size: int
    spatial_merge: int
    """spatial_merge_size: patches merged per side into one image token"""
    ff_length_meta: int
    """What llama.cpp's converter writes as clip.vision.feed_forward_length: vision_config
    "hidden_size" (the merger's output width), not the MLP width; clip.cpp does not use it."""
    eps: float = 1e-6
    """LayerNorm epsilon: the converter writes the text model's rms_norm_eps."""
    image_size: int = 560
    """The converter's default clip.vision.image_size for Qwen2-VL (it has no fixed size)."""
    image_mean: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
    image_std: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)
    """preprocessor_config.json: the OpenAI CLIP normalisation."""
    projector: str = "qwen2vl_merger"

    @property
    def merged_width(self) -> int:
        return self.n_embd * self.spatial_merge**2

    def n_params(self, n_embd_text: int) -> int:
        """Parameters of the vision tower and merger (what the mmproj file holds)."""
        e, f, m = self.n_embd, self.n_ff, self.merged_width
        patch = 2 * e * 3 * self.patch_size**2  # Conv3d with a temporal kernel of 2
        block = 4 * (e * e + e) + (e * f + f) + (f * e + e) + 4 * e
        merger = 2 * e + (m * m + m) + (m * n_embd_text + n_embd_text)
        return patch + self.n_layer * block + merger


@dataclass(frozen=True)
class Preset:
    name: str
    """The model's name as published (Hugging Face repository name without the owner)."""
    hf_repo: str
    arch: str
    """llama.cpp architecture name (GGUF general.architecture)."""
    n_layer: int
    """num_hidden_layers"""
    n_embd: int
    """hidden_size"""
    n_head: int
    """num_attention_heads"""
    n_head_kv: int
    """num_key_value_heads"""
    n_ff: int
    """intermediate_size"""
    n_vocab: int
    """vocab_size: rows of token_embd (and output), padded vocabulary included"""
    tied_embeddings: bool
    """tie_word_embeddings: no separate output tensor, token_embd is the output matrix"""
    rope_theta: float
    rms_eps: float
    context_length: int
    """max_position_embeddings"""
    vocab_gguf: str
    """llama.cpp vocab-only GGUF (vendor/llama.cpp/models/ggml-vocab-<name>.gguf)."""
    chat_template: str | None
    """llama.cpp template file (models/templates/<name>.jinja); None keeps the vocab file's."""
    bos_token_id: int
    eos_token_id: int
    add_bos_token: bool
    head_dim: int | None = None
    """config.json head_dim when given; else n_embd // n_head."""
    rope_scaling: RopeScaling | None = None
    attn_bias: bool = False
    """q/k/v projections have biases (Qwen2 family)."""
    rope_sections: tuple[int, int, int, int] | None = None
    """M-RoPE: rope_scaling.mrope_section padded to 4, as the converter writes
    {arch}.rope.dimension_sections (Qwen2-VL)."""
    special_tokens: tuple[tuple[int, str], ...] = ()
    """Added special tokens (id, text) the vocab file only pads, from the model's
    tokenizer_config.json added_tokens_decoder; written as CONTROL tokens."""
    chat_template_text: str | None = None
    """The model's chat template as Jinja text, when llama.cpp ships no file for it."""
    vision: VisionTower | None = None
    """The vision tower of a vision-language model (written as a separate mmproj file)."""
    notes: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        """Lower-case name used on the command line and in file names."""
        return self.name.lower()

    @property
    def n_embd_head(self) -> int:
        return self.head_dim if self.head_dim is not None else self.n_embd // self.n_head

    def n_params(self) -> int:
        """Parameter count of the real model (embeddings and output included)."""
        hd = self.n_embd_head
        q = self.n_embd * self.n_head * hd
        kv = 2 * self.n_embd * self.n_head_kv * hd
        bias = (self.n_head + 2 * self.n_head_kv) * hd if self.attn_bias else 0
        o = self.n_head * hd * self.n_embd
        ffn = 3 * self.n_embd * self.n_ff
        norms = 2 * self.n_embd
        per_layer = q + kv + bias + o + ffn + norms
        emb = self.n_vocab * self.n_embd
        out = 0 if self.tied_embeddings else self.n_vocab * self.n_embd
        return self.n_layer * per_layer + emb + out + self.n_embd


LLAMA3_ROPE = RopeScaling(
    type="llama3",
    factor=32.0,
    low_freq_factor=1.0,
    high_freq_factor=4.0,
    original_max_position_embeddings=8192,
)

_QWEN_CHAT = "Qwen-Qwen2.5-7B-Instruct"  # the Qwen2.5 instruct family shares one template
_NOT_REAL_TOKENS = (
    "tokenizer: llama.cpp's ggml-vocab-qwen2.gguf (Qwen2 vocabulary); DeepSeek-R1-Distill "
    "renames the special tokens at 151643+ (<|begin▁of▁sentence|> ...), not reproduced here",
)

# Qwen2-VL's chat template, written here to give the same text as the model's own (in its
# tokenizer_config.json) for string contents and for image/text parts: a default system
# message, ChatML turns, <|vision_start|><|image_pad|><|vision_end|> for an image part.
_QWEN2_VL_CHAT = (
    "{% for m in messages %}{% if loop.first and m['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for part in m['content'] %}{% if part['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif 'text' in part %}{{ part['text'] }}"
    "{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Qwen2-VL's added tokens after <|im_end|> (151645): object/box/quad references and the
# vision markers; the image and video pads are what a prompt's <|image_pad|> becomes.
_QWEN2_VL_TOKENS = (
    (151646, "<|object_ref_start|>"), (151647, "<|object_ref_end|>"),
    (151648, "<|box_start|>"), (151649, "<|box_end|>"),
    (151650, "<|quad_start|>"), (151651, "<|quad_end|>"),
    (151652, "<|vision_start|>"), (151653, "<|vision_end|>"),
    (151654, "<|vision_pad|>"), (151655, "<|image_pad|>"), (151656, "<|video_pad|>"),
)

PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        # https://huggingface.co/unsloth/Qwen2.5-0.5B-Instruct/blame/00bafb7cd8d700177637919923d0e579fe0cfa5f/config.json
        # (mirror, _name_or_path "Qwen/Qwen2.5-0.5B-Instruct"): hidden 896, inter 4864, 24 layers,
        # 14 heads, 2 kv heads, rope_theta 1e6, rms 1e-6, tied, vocab 151936, max_pos 32768.
        Preset(
            name="Qwen2.5-0.5B-Instruct",
            hf_repo="Qwen/Qwen2.5-0.5B-Instruct",
            arch="qwen2",
            n_layer=24,
            n_embd=896,
            n_head=14,
            n_head_kv=2,
            n_ff=4864,
            n_vocab=151936,
            tied_embeddings=True,
            rope_theta=1_000_000.0,
            rms_eps=1e-6,
            context_length=32768,
            vocab_gguf="qwen2",
            chat_template=_QWEN_CHAT,
            bos_token_id=151643,
            eos_token_id=151645,
            add_bos_token=False,
            attn_bias=True,
        ),
        # https://huggingface.co/onnx-community/Qwen2.5-1.5B-Instruct/blob/94677ac90364afdc2b476788d085a9680efde737/config.json
        # (mirror, _name_or_path "Qwen/Qwen2.5-1.5B-Instruct"): hidden 1536, inter 8960,
        # 28 layers, 12 heads, 2 kv heads, rope_theta 1e6, rms 1e-6, tied, vocab 151936, 32768.
        Preset(
            name="Qwen2.5-1.5B-Instruct",
            hf_repo="Qwen/Qwen2.5-1.5B-Instruct",
            arch="qwen2",
            n_layer=28,
            n_embd=1536,
            n_head=12,
            n_head_kv=2,
            n_ff=8960,
            n_vocab=151936,
            tied_embeddings=True,
            rope_theta=1_000_000.0,
            rms_eps=1e-6,
            context_length=32768,
            vocab_gguf="qwen2",
            chat_template=_QWEN_CHAT,
            bos_token_id=151643,
            eos_token_id=151645,
            add_bos_token=False,
            attn_bias=True,
        ),
        # Instruct config.json itself not found by the search tool; shape checked against
        # https://huggingface.co/tmickleydoyle/Python-Code-Completer/blob/main/config.json
        # (fine-tune of unsloth/qwen2.5-coder-1.5b: hidden 1536, inter 8960, 28 layers, 12/2 heads,
        # rope_theta 1e6, rms 1e-6, tied, vocab 151936, max_pos 32768) and the model card
        # (ZHUI/paddlenlp_model_readme Qwen/Qwen2.5-Coder-1.5B/index.md: 28 layers, 12 Q / 2 KV
        # heads, tied embeddings, 1.54B parameters).
        Preset(
            name="Qwen2.5-Coder-1.5B-Instruct",
            hf_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct",
            arch="qwen2",
            n_layer=28,
            n_embd=1536,
            n_head=12,
            n_head_kv=2,
            n_ff=8960,
            n_vocab=151936,
            tied_embeddings=True,
            rope_theta=1_000_000.0,
            rms_eps=1e-6,
            context_length=32768,
            vocab_gguf="qwen2",
            chat_template=_QWEN_CHAT,
            bos_token_id=151643,
            eos_token_id=151645,
            add_bos_token=False,
            attn_bias=True,
            notes=("shape from the Coder-1.5B base config and model card (see source comment)",),
        ),
        # https://huggingface.co/unsloth/Qwen2-1.5B-Instruct/blob/main/config.json and
        # https://huggingface.co/MrezaPRZ/Qwen2-1.5B-Instruct_NL2SQL_BIRD (config of
        # "Qwen/Qwen2-1.5B-Instruct"): hidden 1536, inter 8960, 28 layers, 12/2 heads,
        # rope_theta 1e6, rms 1e-6, tied, vocab 151936, max_pos 32768.
        Preset(
            name="Qwen2-1.5B-Instruct",
            hf_repo="Qwen/Qwen2-1.5B-Instruct",
            arch="qwen2",
            n_layer=28,
            n_embd=1536,
            n_head=12,
            n_head_kv=2,
            n_ff=8960,
            n_vocab=151936,
            tied_embeddings=True,
            rope_theta=1_000_000.0,
            rms_eps=1e-6,
            context_length=32768,
            vocab_gguf="qwen2",
            chat_template=None,  # the vocab file's template is Qwen2's ChatML template
            bos_token_id=151643,
            eos_token_id=151645,
            add_bos_token=False,
            attn_bias=True,
        ),
        # https://huggingface.co/task-aware/Llama_3.2_1B_Instruct/blob/main/config.json
        # (_name_or_path "meta-llama/Llama-3.2-1B-Instruct"): hidden 2048, inter 8192, 16 layers,
        # 32 heads, 8 kv heads, head_dim 64, rope_theta 500000, llama3 rope scaling (factor 32,
        # low 1, high 4, original 8192), rms 1e-5, tied, vocab 128256, max_pos 131072,
        # eos [128001, 128008, 128009].
        Preset(
            name="Llama-3.2-1B-Instruct",
            hf_repo="meta-llama/Llama-3.2-1B-Instruct",
            arch="llama",
            n_layer=16,
            n_embd=2048,
            n_head=32,
            n_head_kv=8,
            n_ff=8192,
            n_vocab=128256,
            tied_embeddings=True,
            rope_theta=500_000.0,
            rms_eps=1e-5,
            context_length=131072,
            vocab_gguf="llama-bpe",
            chat_template="meta-llama-Llama-3.2-3B-Instruct",
            bos_token_id=128000,
            eos_token_id=128009,
            add_bos_token=True,
            head_dim=64,
            rope_scaling=LLAMA3_ROPE,
        ),
        # https://huggingface.co/Sidreds06/MHCV1/blob/main/config.json and
        # https://huggingface.co/datasets/lhpku20010120/Llama-3.2-3B-Instruct/blob/main/config.json
        # (_name_or_path "meta-llama/Llama-3.2-3B-Instruct"): hidden 3072, inter 8192, 28 layers,
        # 24 heads, 8 kv heads, head_dim 128, rope_theta 500000, llama3 rope scaling as above,
        # rms 1e-5, tied, vocab 128256, max_pos 131072.
        Preset(
            name="Llama-3.2-3B-Instruct",
            hf_repo="meta-llama/Llama-3.2-3B-Instruct",
            arch="llama",
            n_layer=28,
            n_embd=3072,
            n_head=24,
            n_head_kv=8,
            n_ff=8192,
            n_vocab=128256,
            tied_embeddings=True,
            rope_theta=500_000.0,
            rms_eps=1e-5,
            context_length=131072,
            vocab_gguf="llama-bpe",
            chat_template="meta-llama-Llama-3.2-3B-Instruct",
            bos_token_id=128000,
            eos_token_id=128009,
            add_bos_token=True,
            head_dim=128,
            rope_scaling=LLAMA3_ROPE,
        ),
        # https://huggingface.co/onnx-community/DeepSeek-R1-Distill-Qwen-1.5B-ONNX/blob/main/config.json
        # and https://huggingface.co/rohinm/model/blob/main/config.json (_name_or_path
        # "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"): hidden 1536, inter 8960, 28 layers,
        # 12/2 heads, rope_theta 10000 (NOT Qwen2.5's 1e6), rms 1e-6, tie_word_embeddings FALSE,
        # vocab 151936, max_pos 131072, bos 151643, eos 151643.
        Preset(
            name="DeepSeek-R1-Distill-Qwen-1.5B",
            hf_repo="deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
            arch="qwen2",
            n_layer=28,
            n_embd=1536,
            n_head=12,
            n_head_kv=2,
            n_ff=8960,
            n_vocab=151936,
            tied_embeddings=False,
            rope_theta=10_000.0,
            rms_eps=1e-6,
            context_length=131072,
            vocab_gguf="qwen2",
            chat_template="deepseek-ai-DeepSeek-R1-Distill-Qwen-32B",
            bos_token_id=151643,
            eos_token_id=151643,
            add_bos_token=True,
            attn_bias=True,
            notes=_NOT_REAL_TOKENS,
        ),
        # Text model: the Qwen2-VL-2B config as mirrored in mllm's configuration_qwen2vl.hpp
        # (UbiquitousLearning/mllm, "Qwen2-VL-2B" defaults): hidden 1536, inter 8960, 28 layers,
        # 12 heads, 2 kv heads, rms 1e-6, rope_theta 1e6, mrope_section [16, 24, 24], tied,
        # vocab 151936, eos 151645, <|endoftext|> 151643; max_position_embeddings 32768 as in
        # the Qwen2-VL configs (the mllm file's 32786 is a typo). Token ids 151652-151656
        # (vision_start/end, vision/image/video pad) as in the published configs.
        # Vision tower (the same in 2B, 7B and 72B): the transformers module print of
        # zhenhua32/Qwen2-VL READ.md and docs.cognisoc.com/unillm (Qwen2-VL): Conv3d(3, 1280,
        # kernel (2, 14, 14), no bias), 32 blocks of LayerNorm(1280) + qkv 1280->3840 +
        # proj 1280->1280 + fc1 1280->5120 (quick_gelu) + fc2 5120->1280, all with biases;
        # merger ln_q LayerNorm(1280), mlp 5120->5120 (GELU) -> text hidden size (1536 here);
        # spatial_merge 2, patch 14, 16 heads. Chat template: the model page's tokenizer_config
        # (ai-nexus-293.pages.dev/model/qwen/qwen2-vl-2b-instruct). 2.21 B parameters in all.
        Preset(
            name="Qwen2-VL-2B-Instruct",
            hf_repo="Qwen/Qwen2-VL-2B-Instruct",
            arch="qwen2vl",
            n_layer=28,
            n_embd=1536,
            n_head=12,
            n_head_kv=2,
            n_ff=8960,
            n_vocab=151936,
            tied_embeddings=True,
            rope_theta=1_000_000.0,
            rms_eps=1e-6,
            context_length=32768,
            vocab_gguf="qwen2",
            chat_template=None,
            bos_token_id=151643,
            eos_token_id=151645,
            add_bos_token=False,
            attn_bias=True,
            rope_sections=(16, 24, 24, 0),
            special_tokens=_QWEN2_VL_TOKENS,
            chat_template_text=_QWEN2_VL_CHAT,
            vision=VisionTower(
                n_layer=32, n_embd=1280, n_head=16, n_ff=5120, patch_size=14,
                spatial_merge=2, ff_length_meta=1536,
            ),
            notes=("text model and vision tower in two files: the GGUF and its mmproj (F16)",),
        ),
    )
}

QUANTS = ("Q4_K_M", "Q4_0", "Q8_0", "F16")
"""Quantization types ``pibench models synth`` can produce (llama.cpp ftype names)."""


def get_preset(name: str) -> Preset:
    """The preset named ``name`` (case-insensitive); UserError with suggestions otherwise."""
    key = name.strip().lower()
    if key in PRESETS:
        return PRESETS[key]
    close = get_close_matches(key, list(PRESETS), n=2, cutoff=0.5)
    hint = f"; did you mean {' or '.join(PRESETS[c].name for c in close)}?" if close else ""
    names = ", ".join(p.name for p in PRESETS.values())
    raise UserError(f"unknown model preset {name!r}{hint} (presets: {names})")


def normalize_quant(quant: str) -> str:
    """Canonical quant name ("q4_k_m" -> "Q4_K_M"); UserError for one that synth cannot make."""
    q = quant.strip().upper()
    if q not in QUANTS:
        raise UserError(f"unsupported quantization {quant!r}: use one of {', '.join(QUANTS)}")
    return q
