"""llama.cpp in process, through llama-cpp-python's bindings of the C API.

The token loop is llama.cpp's: ``llama_decode`` then a native sampler chain
(``llama_sampler_sample``); Python only reads the clock and yields. Measured the way
llama-bench measures: the KV cache is cleared before every request, llama.cpp's perf counters
are reset before and read after a ``llama_synchronize``, so no queued work leaks between
measurements. Throughput requests can't stop early: a logit-bias sampler inside the chain gives
-inf to every end-of-generation id of the vocabulary.

Traps of llama-cpp-python 0.3.36 avoided here: raw context params default to ``no_perf=True``
(all timings 0) and 4 threads; ``llama_cpp.Llama`` defaults to ``cpu_count() // 2`` threads
and reuses a cached prompt prefix; none of it is used.

Token accounting follows llama.cpp: the first generated token comes out of the prompt's
decode, so the perf counters book the prompt (``prompt_ms``, ``prompt_tokens``) and then one
single-token decode per further token (``gen_ms``, ``gen_tokens``); a one-token prompt is
booked by llama.cpp as a generation decode (prompt counters then read 0). In chat, the
end-of-generation token stops the loop and is not counted as generated.

A throughput request with ``depth`` (llama-bench's ``-d``) first puts that many filler
tokens (BOS first, the same ones for every repetition) in the cleared cache, outside the timed
window: decoded once, then restored from the saved sequence state as llama-bench does
(bench.backends.llama_cpp.depth); ``t_request`` and the perf counters start after it; the
prompt then follows at position ``depth``. Each repetition's ``internal`` says whether its
depth context was "decoded" or "restored" and how long that took.

Token events carry no text (no per-token detokenizing in the loop); the whole output is
detokenized once, into ``GenerationStats.text``.
"""

from __future__ import annotations

import ctypes
import platform
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import llama_cpp
from bench.backends.base import (
    Backend,
    Generation,
    GenerationRequest,
    GenerationStats,
    InternalTimings,
    Message,
    ModelInfo,
    ModelRef,
    TokenEvent,
)
from bench.backends.llama_cpp import files, logs, tokens
from bench.backends.llama_cpp.config import CAPABILITIES, LlamaCppArtifact, LlamaCppOptions
from bench.backends.llama_cpp.depth import DepthState
from bench.backends.llama_cpp.sampling import sampler_chain
from bench.clock import Clock
from bench.common import assert_never
from bench.errors import BackendError, ModelLoadError
from bench.meters.cpu import cpu_description

_KV_TYPES = {
    "f32": llama_cpp.GGML_TYPE_F32,
    "f16": llama_cpp.GGML_TYPE_F16,
    "bf16": 30,  # GGML_TYPE_BF16 in ggml.h; not exported by llama_cpp 0.3.36
    "q8_0": llama_cpp.GGML_TYPE_Q8_0,
    "q4_0": llama_cpp.GGML_TYPE_Q4_0,
    "q4_1": llama_cpp.GGML_TYPE_Q4_1,
    "q5_0": llama_cpp.GGML_TYPE_Q5_0,
    "q5_1": llama_cpp.GGML_TYPE_Q5_1,
    "iq4_nl": llama_cpp.GGML_TYPE_IQ4_NL,
}
FLASH_ATTN_TYPES = {
    "auto": llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO,
    True: llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED,
    False: llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED,
}
"""The ``flash_attn`` option as llama.cpp's flash_attn_type (context and mtmd params)."""
_METHOD = "exact: llama.cpp tokenizer"
_backend_ready = False


def physical_cores() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or psutil.cpu_count() or 1


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo ("model name", or "Model" on a Raspberry Pi)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    found: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("model name", "Model") and value.strip():
            found.setdefault(key.strip(), value.strip())
    return found.get("model name") or found.get("Model") or platform.processor() or "unknown"


H = TypeVar("H")


def free_handle(handle: H | None, free: Callable[[H], object]) -> None:
    """Free a llama.cpp/libmtmd handle with its own ``free`` function unless it is None."""
    if handle is not None:
        free(handle)


class LlamaCppBackend(Backend[LlamaCppOptions]):
    name = "llama_cpp"
    capabilities = CAPABILITIES
    runs_on = "cpu"
    options_type: ClassVar[type[LlamaCppOptions]] = LlamaCppOptions
    """The options this class takes (a subclass's own, e.g. llama_cpp_vlm's); options of
    another type are read again as this one, the defaults when none are given."""

    def __init__(self, options: LlamaCppOptions | None = None, *,
                 clock: Clock | None = None) -> None:
        opts = options if options is not None else self.options_type()
        if not isinstance(opts, self.options_type):
            opts = self.options_type.model_validate(opts.model_dump())
        super().__init__(opts, clock=clock)
        self.threads = opts.threads or physical_cores()
        self.threads_batch = opts.threads_batch or self.threads
        self._model: Any = None
        self._ctx: Any = None
        self._vocab: Any = None
        self._path: Path | None = None
        self._n_ctx = 0
        self._n_vocab = 0
        self._eog: list[int] = []
        self._eog_set: frozenset[int] = frozenset()
        self._bos: int | None = None
        self._template: tuple[str, str] | None = None
        self._filler_cache: dict[str, list[int]] = {}
        self._flash_attn_resolved: str | None = None
        self._depth = DepthState()

    # -- load / close --------------------------------------------------------------------

    def load(self, model: ModelRef) -> ModelInfo:
        global _backend_ready
        self.close()
        artifact = model.artifact
        if not isinstance(artifact, LlamaCppArtifact):
            artifact = LlamaCppArtifact.model_validate(artifact)
        path = files.resolve_path(artifact.gguf)
        files.check_gguf(path)
        facts = files.inspect(path)
        logs.install()
        if not _backend_ready:
            llama_cpp.llama_backend_init()
            _backend_ready = True

        mparams = llama_cpp.llama_model_default_params()
        mparams.n_gpu_layers = 0
        mode = llama_cpp.LLAMA_LOAD_MODE_NONE
        if self.options.mmap:
            mode |= llama_cpp.LLAMA_LOAD_MODE_MMAP
        if self.options.mlock:
            mode |= llama_cpp.LLAMA_LOAD_MODE_MLOCK
        mparams.load_mode = mode
        logs.clear()
        self._model = llama_cpp.llama_model_load_from_file(str(path).encode(), mparams)
        if not self._model:
            self._model = None
            why = logs.last_problem("llama.cpp returned no model")
            raise ModelLoadError(f"cannot load model file {path}: {why}")
        self._path = path
        self._vocab = llama_cpp.llama_model_get_vocab(self._model)
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        self._eog = tokens.eog_ids(self._vocab)
        self._eog_set = frozenset(self._eog)
        self._bos = (
            llama_cpp.llama_vocab_bos(self._vocab)
            if llama_cpp.llama_vocab_get_add_bos(self._vocab)
            else None
        )
        try:
            self._template = tokens.resolve_template(artifact.chat_template, self._model_template())
        except BackendError as exc:
            self.close()
            raise ModelLoadError(f"{path}: {exc}") from None
        try:
            self._new_context(path)
        except ModelLoadError:
            self.close()
            raise
        info = files.model_info(path, self._model, facts)
        info.extra["chat_template"] = _template_source(artifact.chat_template, self._template)
        return info

    def _model_template(self) -> str | None:
        raw = llama_cpp.llama_model_chat_template(self._model, None)
        return raw.decode("utf-8", "replace") if raw else None

    def _new_context(self, path: Path) -> None:
        o = self.options
        n_ctx_train = llama_cpp.llama_model_n_ctx_train(self._model)
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = min(o.n_ctx, n_ctx_train) if n_ctx_train > 0 else o.n_ctx
        cparams.n_batch = o.n_batch
        cparams.n_ubatch = min(o.n_ubatch, o.n_batch)
        cparams.n_seq_max = 1
        cparams.n_threads = self.threads
        cparams.n_threads_batch = self.threads_batch
        cparams.flash_attn_type = FLASH_ATTN_TYPES[o.flash_attn]
        cparams.type_k = cparams.type_v = _KV_TYPES[o.kv_type]
        cparams.no_perf = False  # the raw default is True: every timing would read 0
        cparams.swa_full = False  # as llama-bench: one sequence, cache cleared per request
        logs.clear()
        ctx = llama_cpp.llama_init_from_model(self._model, cparams)
        if not ctx:
            why = logs.last_problem("llama.cpp returned no context")
            raise ModelLoadError(f"cannot create a llama.cpp context for {path}: {why}")
        self._ctx = ctx
        self._n_ctx = llama_cpp.llama_n_ctx(ctx)
        self._flash_attn_resolved = _flash_attn_from_log(logs.lines(), o.flash_attn)

    def close(self) -> None:
        ctx, model = self._ctx, self._model
        self._ctx = self._model = self._vocab = None
        free_handle(ctx, llama_cpp.llama_free)
        free_handle(model, llama_cpp.llama_model_free)
        self._filler_cache.clear()
        self._depth.forget()

    def reset(self) -> None:
        """Clear the KV cache (``generate`` also does it first, so every request starts
        from an empty context)."""
        if self._ctx is not None:
            llama_cpp.llama_synchronize(self._ctx)
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self._ctx), False)

    # -- generation ----------------------------------------------------------------------

    def generate(self, request: GenerationRequest) -> Generation:
        if self._ctx is None:
            raise BackendError("llama_cpp backend: generate() called before load()")
        ctx, vocab = self._ctx, self._vocab
        chat = request.kind != "throughput"  # chat and completion stop at end of generation
        t_request = self.clock.now()
        depth_ids: list[int] = []
        match request.kind:
            case "chat":
                ids = self._chat_ids(request)
            case "completion":
                ids = self._completion_ids(request)
            case "throughput":
                # llama-bench -d: the context (BOS first) then the prompt after it, no BOS
                ids = self._throughput_ids(request, bos=not request.depth)
                if request.depth:
                    depth_ids = self._throughput_ids(request, request.depth)
            case _:
                assert_never(request.kind)
        if len(depth_ids) + len(ids) + request.max_tokens > self._n_ctx:
            at = f"depth ({len(depth_ids)} tokens) + " if depth_ids else ""
            raise BackendError(
                f"{at}prompt ({len(ids)} tokens) + max_tokens ({request.max_tokens}) exceed the "
                f"context of {self._n_ctx} tokens: raise the llama_cpp option n_ctx"
            )
        self.reset()
        depth = InternalTimings()
        if depth_ids:  # outside the timed window and before the perf counters' reset
            t0 = self.clock.now()
            how = self._depth.put(ctx, depth_ids, self._decode_prompt)
            t_request = self.clock.now()
            depth = InternalTimings(depth_context=how, depth_context_tokens=len(depth_ids),
                                    depth_context_ms=(t_request - t0) * 1000.0)
        chain = self._sampler(request, suppress_eog=not chat)
        llama_cpp.llama_perf_context_reset(ctx)
        out: list[int] = []
        try:
            self._decode_prompt(ids)
            one = (llama_cpp.llama_token * 1)()
            batch = llama_cpp.llama_batch_get_one(one, 1)
            decode = llama_cpp.llama_decode

            def feed(tok: int, i: int) -> int:
                one[0] = tok  # llama_batch_get_one: the position follows the KV cache
                return int(decode(ctx, batch))

            stop = yield from self._token_loop(chain, request.max_tokens, chat, feed, out)
        finally:
            llama_cpp.llama_synchronize(ctx)
            llama_cpp.llama_sampler_free(chain)
        return GenerationStats(
            t_request=t_request,
            prompt_tokens=len(ids),
            prompt_tokens_method=_METHOD,
            gen_tokens=len(out),
            gen_tokens_method=_METHOD,
            stop_reason=stop,
            text=tokens.detokenize(vocab, out),
            internal=InternalTimings(**self._perf_figures(), **depth),
        )

    def _token_loop(self, chain: Any, max_tokens: int, chat: bool,
                    feed: Callable[[int, int], int], out: list[int]
                    ) -> Generator[TokenEvent, None, str]:
        """Sample, yield, feed back, up to ``max_tokens``: the per-token work in Python is a
        clock read and ``feed(token, i)`` (put the token in the batch, llama_decode, return
        its code). Stops at an end-of-generation id when ``chat``; returns the stop reason."""
        ctx, sample = self._ctx, llama_cpp.llama_sampler_sample
        now, eog = self.clock.now, self._eog_set
        for i in range(max_tokens):
            tok = sample(chain, ctx, -1)
            t = now()
            if chat and tok in eog:
                return "eos"
            out.append(tok)
            yield TokenEvent(t=t)
            if i + 1 == max_tokens:
                break
            rc = feed(tok, i)
            if rc != 0:
                raise BackendError(f"llama_decode failed with code {rc} after {i + 1} tokens")
        return "length"

    def _perf_figures(self) -> InternalTimings:
        """llama.cpp's own counters since the last llama_perf_context_reset (read after a
        llama_synchronize)."""
        perf = llama_cpp.llama_perf_context(self._ctx)
        return InternalTimings(
            source="llama.cpp perf counters",
            prompt_ms=perf.t_p_eval_ms,
            # llama.cpp reports max(1, n): a count with no time booked is really 0
            prompt_tokens=perf.n_p_eval if perf.t_p_eval_ms > 0 else 0,
            gen_ms=perf.t_eval_ms,
            gen_tokens=perf.n_eval if perf.t_eval_ms > 0 else 0,
        )

    def tokenize(self, text: str) -> list[int]:
        """Token ids of plain ``text`` by the loaded model's tokenizer (no BOS, no specials)."""
        if self._vocab is None:
            raise BackendError("llama_cpp backend: tokenize() called before load()")
        return tokens.tokenize(self._vocab, text, parse_special=False)

    def _decode_prompt(self, ids: list[int]) -> None:
        arr = (llama_cpp.llama_token * len(ids))(*ids)
        size = ctypes.sizeof(llama_cpp.llama_token)
        step = self.options.n_batch
        for start in range(0, len(ids), step):
            n = min(step, len(ids) - start)
            ptr = ctypes.cast(ctypes.byref(arr, start * size), llama_cpp.llama_token_p)
            rc = llama_cpp.llama_decode(self._ctx, llama_cpp.llama_batch_get_one(ptr, n))
            if rc != 0:
                why = logs.last_problem(f"code {rc}")
                raise BackendError(f"llama_decode failed on the prompt: {why}")

    def _sampler(self, request: GenerationRequest, *, suppress_eog: bool) -> Any:
        seed = self.options.seed if self.options.seed is not None else request.sampling.seed
        return sampler_chain(
            request.sampling,
            seed=seed,
            n_vocab=self._n_vocab,
            suppress=self._eog if suppress_eog else (),
        )

    def _throughput_ids(self, request: GenerationRequest, n: int | None = None,
                        bos: bool = True) -> list[int]:
        """Exactly ``n`` (default: ``prompt_tokens``) ids of filler text; without the BOS
        when they follow a context already in the cache (``depth``)."""
        if request.prompt_tokens is None:
            raise BackendError("a throughput request needs prompt_tokens")
        filler = request.filler or tokens.DEFAULT_FILLER
        ids = self._filler_cache.get(filler)
        if ids is None:
            ids = tokens.tokenize(self._vocab, filler, parse_special=False)
            self._filler_cache[filler] = ids
        count = request.prompt_tokens if n is None else n
        # the depth's filler starts elsewhere than the prompt's, and is the same for every
        # repetition (its state is saved once and restored: bench.backends.llama_cpp.depth)
        variant = request.variant if n is None else 7
        return tokens.throughput_prompt(ids, count, variant, self._bos if bos else None)

    def _chat_ids(self, request: GenerationRequest) -> list[int]:
        text = self._chat_text(request.messages)
        vocab = self._vocab
        ids = tokens.tokenize(vocab, text, parse_special=True)
        if self._bos is not None and (not ids or ids[0] != self._bos):
            ids.insert(0, self._bos)
        return ids

    def _chat_text(self, messages: tuple[Message, ...]) -> str:
        """The prompt text of ``messages`` through the model's chat template."""
        if self._template is None:
            raise BackendError(
                f"{self._path} has no chat template (tokenizer.chat_template): set chat_template "
                "in the model's llama_cpp artifact (Jinja text, a .jinja file or a llama.cpp "
                "built-in name such as gemma, chatml, llama3)"
            )
        kind, template = self._template
        vocab = self._vocab
        if kind == "builtin":
            return tokens.apply_builtin(template, messages)
        return tokens.render_chat(
            template,
            messages,
            bos_token=self._special_text(llama_cpp.llama_vocab_bos(vocab)),
            eos_token=self._special_text(llama_cpp.llama_vocab_eos(vocab)),
        )

    def _completion_ids(self, request: GenerationRequest) -> list[int]:
        """The raw prompt, no template, special tokens not parsed; BOS first if the model
        adds one."""
        text = "".join(m.content for m in request.messages)
        ids = tokens.tokenize(self._vocab, text, parse_special=False)
        if self._bos is not None and (not ids or ids[0] != self._bos):
            ids.insert(0, self._bos)
        return ids

    def _special_text(self, token: int) -> str:
        if token < 0:
            return ""
        return tokens.piece(self._vocab, token, special=True).decode("utf-8", "replace")

    # -- description ---------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        o = self.options
        return {
            # the CPU by name, cores and clock ("Cortex-A76 ×4, 2.4 GHz"), as simulated rows
            # name their hardware; "cpu" only when /proc/cpuinfo says nothing
            "device": cpu_description() or "cpu",
            "cpu": cpu_name(),
            "threads": self.threads,
            "threads_batch": self.threads_batch,
            "n_batch": o.n_batch,
            "n_ubatch": min(o.n_ubatch, o.n_batch),
            "n_ctx": self._n_ctx or o.n_ctx,
            "flash_attn": self._flash_attn_resolved or str(o.flash_attn).lower(),
            "mmap": o.mmap,
            "mlock": o.mlock,
            "kv_type": o.kv_type,
            "seed": o.seed,
            "llama_cpp_python": llama_cpp.__version__,
            "llama_cpp_system_info": llama_cpp.llama_print_system_info().decode(
                "utf-8", "replace"
            ).strip(),
            "throughput_prompt": "filler text tokenized by the model, BOS first if the model "
            "adds one, offset by variant",
            "eog_suppressed_ids": len(self._eog),
        }


def _flash_attn_from_log(lines: list[str], asked: bool | str) -> str:
    """What flash attention ended up as: "on"/"off", or "auto (enabled)"/"auto (disabled)"
    read back from llama.cpp's log when it chose."""
    if asked is not True and asked is not False:
        for line in reversed(lines):
            low = line.lower()
            if "flash attention" in low and "disabled" in low:
                return "auto (disabled)"
            if "flash attention" in low and "enabled" in low:
                return "auto (enabled)"
        return "auto"
    return "on" if asked else "off"


def _template_source(override: str | None, template: tuple[str, str] | None) -> str | None:
    """Where the chat template came from, for the record."""
    if template is None:
        return None
    kind, text = template
    if kind == "builtin":
        return f"llama.cpp built-in: {text}"
    return "artifact override" if override else "GGUF tokenizer.chat_template"
