"""The llama_cpp backend's options and artifact: light (no llama_cpp needed), strict."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bench.backends.llama_cpp.config import DEFAULT_N_CTX, LlamaCppArtifact, LlamaCppOptions
from bench.registry import backend_entry, load_object


def test_defaults_follow_llama_cpp_but_leave_threads_to_the_backend() -> None:
    o = LlamaCppOptions()
    assert o.threads is None and o.threads_batch is None
    assert (o.n_batch, o.n_ubatch, o.n_ctx) == (2048, 512, DEFAULT_N_CTX)
    assert o.flash_attn == "auto" and o.kv_type == "f16"
    assert o.mmap is True and o.mlock is False and o.seed is None


@pytest.mark.parametrize(
    "bad",
    [
        {"threads": 0},
        {"n_batch": -1},
        {"kv_type": "q3_k"},
        {"flash_attn": "sometimes"},
        {"thread": 4},  # misspelt key
    ],
)
def test_bad_options_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        LlamaCppOptions.model_validate(bad)


@pytest.mark.parametrize("fa", [True, False, "auto"])
def test_flash_attn_accepts_on_off_auto(fa: bool | str) -> None:
    assert LlamaCppOptions(flash_attn=fa).flash_attn == fa


def test_artifact_needs_a_gguf_and_nothing_else() -> None:
    a = LlamaCppArtifact(gguf="synth:qwen2.5-0.5b-instruct:q4_k_m", chat_template="chatml")
    assert a.gguf.startswith("synth:") and a.chat_template == "chatml"
    with pytest.raises(ValidationError):
        LlamaCppArtifact.model_validate({})
    with pytest.raises(ValidationError):
        LlamaCppArtifact.model_validate({"gguf": "x.gguf", "hef": "y.hef"})


def test_registry_points_at_these_classes() -> None:
    entry = backend_entry("llama_cpp")
    assert load_object(entry.options) is LlamaCppOptions
    assert load_object(entry.artifact) is LlamaCppArtifact
