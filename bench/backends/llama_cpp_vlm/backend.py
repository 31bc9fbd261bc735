"""A vision-language model on the CPU: llama.cpp's libmtmd through llama-cpp-python's
``llama_cpp.mtmd_cpp`` bindings, beside the ``llama_cpp`` backend's text model.

Same request as the ``hailo_vlm`` backend: image files (``request.images``) and a question
(chat), or images and exactly ``prompt_tokens`` tokens of filler text (throughput). The text
model and its context are the ``llama_cpp`` backend's (this class extends it); libmtmd adds the
vision projector ("mmproj") and turns each image into one chunk of image embeddings.

Per request, all in C except the per-chunk loop:

1. before the clock starts: each image file is decoded into an RGB bitmap (file I/O, as the
   ``hailo_vlm`` backend reads its frames before its clock starts);
2. ``mtmd_tokenize``: the prompt text (one media marker per image) into text chunks and image
   chunks; this includes the image preprocessing (resize to a multiple of the patch grid,
   normalisation) and is timed as ``image_preprocess_ms``;
3. every image chunk through ``mtmd_encode_chunk`` (the vision tower; timed as
   ``image_encode_ms`` on the harness clock: a synchronous CPU computation), before any
   prompt decode: llama.cpp's prompt counter spans from the first decode to the next
   synchronize, so an encode between two decodes would be booked as prompt time;
4. the chunks in order into the text model: text through ``mtmd_helper_eval_chunk_single``,
   images as their embeddings through ``mtmd_helper_decode_image_chunk`` (both booked by
   llama.cpp's perf counters as prompt processing: ``prompt_ms``, ``prompt_tokens``);
5. the token loop of the ``llama_cpp`` backend (native sampler chain, one ``llama_decode``
   per token), with explicit positions: Qwen2-VL's M-RoPE gives an image fewer positions
   than tokens, so the next position is libmtmd's ``n_past``, not the KV cache's count.

Time to first token is the harness clock from the start of (2) to the first token: image
preprocessing, encoding, prompt decode and the first sampling. Token counts are exact:
``prompt_tokens`` is every token the text model decodes before generating (text and image
tokens; the split is in ``internal``). Throughput requests suppress end-of-generation ids, as
in ``llama_cpp``; chat requests stop at end of generation.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import llama_cpp
from llama_cpp import mtmd_cpp as mtmd

from bench.backends.base import (
    Generation,
    GenerationRequest,
    GenerationStats,
    Message,
    ModelInfo,
    ModelRef,
)
from bench.backends.llama_cpp import logs, tokens
from bench.backends.llama_cpp.backend import FLASH_ATTN_TYPES, LlamaCppBackend, free_handle
from bench.backends.llama_cpp_vlm.config import (
    CAPABILITIES,
    LlamaCppVLMArtifact,
    LlamaCppVLMOptions,
)
from bench.backends.llama_cpp_vlm.mmproj import check_mmproj, mmproj_facts, resolve_mmproj
from bench.common import assert_never
from bench.errors import BackendError, ModelLoadError, UserError

_METHOD = "exact: llama.cpp tokenizer and libmtmd chunks (text + image tokens)"
_NO_CALLBACK = mtmd.mtmd_helper_post_decode_callback(0)  # a NULL function pointer


class LlamaCppVLMBackend(LlamaCppBackend):
    name = "llama_cpp_vlm"
    capabilities = CAPABILITIES
    options_type = LlamaCppVLMOptions
    _mtmd: Any = None
    _batch: Any = None
    _mmproj: Path | None = None

    @property
    def vlm_opts(self) -> LlamaCppVLMOptions:
        """The options as this backend's own model (``options_type`` made them so)."""
        assert isinstance(self.options, LlamaCppVLMOptions)
        return self.options

    # -- load / close --------------------------------------------------------------------

    def load(self, model: ModelRef) -> ModelInfo:
        self.close()
        artifact = model.artifact
        if not isinstance(artifact, LlamaCppVLMArtifact):
            artifact = LlamaCppVLMArtifact.model_validate(artifact)
        if artifact.mmproj is not None:  # a wrong projector fails before the model loads
            check_mmproj(Path(artifact.mmproj).expanduser())
        info = super().load(model)  # the text model and its context (synth: makes both files)
        try:
            path = resolve_mmproj(artifact, Path(info.path or ""))
            check_mmproj(path)
            self._init_mtmd(path)
        except (ModelLoadError, UserError) as exc:
            self.close()
            raise ModelLoadError(str(exc)) from None
        self._mmproj = path
        self._batch = llama_cpp.llama_batch_init(self.options.n_batch, 0, 1)
        facts = mmproj_facts(path)
        info.extra["text_params"] = info.params
        info.extra["mmproj"] = facts
        if info.params and facts.get("params"):
            info.params = info.params + facts["params"]
        if facts.get("weights") == "synthetic":
            info.weights = "synthetic"
        return info

    def _init_mtmd(self, path: Path) -> None:
        callback = logs.callback()
        mtmd.mtmd_log_set(callback, None)
        mtmd.mtmd_helper_log_set(callback, None)
        o = self.vlm_opts
        params = mtmd.mtmd_context_params_default()
        params.use_gpu = False
        params.print_timings = False
        params.warmup = False  # the runner's warm-up generations do that, measured apart
        params.n_threads = self.threads_batch
        params.flash_attn_type = FLASH_ATTN_TYPES[o.flash_attn]
        params.image_min_tokens = o.image_min_tokens or -1
        params.image_max_tokens = o.image_max_tokens or -1
        logs.clear()
        ctx = mtmd.mtmd_init_from_file(str(path).encode(), self._model, params)
        if not ctx:
            why = logs.last_problem("libmtmd returned no context")
            raise ModelLoadError(f"cannot load the mmproj {path}: {why}")
        self._mtmd = ctx
        if not mtmd.mtmd_support_vision(ctx):
            raise ModelLoadError(f"the mmproj {path} has no vision encoder (an audio projector?)")

    def close(self) -> None:
        ctx, batch = self._mtmd, self._batch
        self._mtmd = self._batch = None
        free_handle(ctx, mtmd.mtmd_free)
        free_handle(batch, llama_cpp.llama_batch_free)
        super().close()

    # -- generation ----------------------------------------------------------------------

    def generate(self, request: GenerationRequest) -> Generation:
        if self._mtmd is None:
            raise BackendError("llama_cpp_vlm backend: generate() called before load()")
        if request.kind == "completion":
            raise BackendError("llama_cpp_vlm takes chat and throughput workloads, not completion")
        bitmaps: list[Any] = []
        chunks = mtmd.mtmd_input_chunks_init()
        chain = None
        try:
            for image in request.images:  # decoded before the clock starts: file I/O
                bitmaps.append(self._bitmap(image))
            t_request = self.clock.now()
            filler = self._tokenize(request, chunks, bitmaps)
            t_tokenized = self.clock.now()
            n_chunk_tokens = mtmd.mtmd_helper_get_n_tokens(chunks)
            n_prompt = n_chunk_tokens + len(filler)
            if n_prompt + request.max_tokens > self._n_ctx:
                raise BackendError(
                    f"prompt ({n_prompt} tokens, images included) + max_tokens "
                    f"({request.max_tokens}) exceed the context of {self._n_ctx} tokens: raise "
                    "the llama_cpp_vlm option n_ctx (or lower image_max_tokens)"
                )
            chat = request.kind == "chat"
            self.reset()
            chain = self._sampler(request, suppress_eog=not chat)
            embeddings, encode_s, image_tokens = self._encode_images(chunks)
            llama_cpp.llama_perf_context_reset(self._ctx)
            n_past = self._decode_chunks(chunks, embeddings, logits_last=not filler)
            n_past = self._decode_ids(filler, n_past)
            out: list[int] = []
            ctx, b = self._ctx, self._batch
            b.n_tokens, b.n_seq_id[0], b.logits[0] = 1, 1, 1
            b.seq_id[0][0] = 0
            tok_arr, pos_arr = b.token, b.pos
            decode = llama_cpp.llama_decode

            def feed(tok: int, i: int) -> int:
                tok_arr[0], pos_arr[0] = tok, n_past + i  # explicit: M-RoPE positions
                return int(decode(ctx, b))

            stop = yield from self._token_loop(chain, request.max_tokens, chat, feed, out)
        finally:
            llama_cpp.llama_synchronize(self._ctx)
            if chain is not None:
                llama_cpp.llama_sampler_free(chain)
            mtmd.mtmd_input_chunks_free(chunks)
            for b in bitmaps:
                mtmd.mtmd_bitmap_free(b)
        internal = self._perf_figures()
        internal["images"] = len(bitmaps)
        internal["image_tokens"] = image_tokens
        internal["text_tokens"] = n_prompt - image_tokens
        internal["image_preprocess_ms"] = round((t_tokenized - t_request) * 1000.0, 3)
        internal["image_encode_ms"] = round(encode_s * 1000.0, 3)
        internal["image_timing_source"] = ("harness clock around mtmd_tokenize (text tokenizing "
                                           "and image preprocessing) and mtmd_encode_chunk "
                                           "(vision tower)")
        return GenerationStats(
            t_request=t_request,
            prompt_tokens=n_prompt,
            prompt_tokens_method=_METHOD,
            gen_tokens=len(out),
            gen_tokens_method="exact: llama.cpp tokenizer",
            stop_reason=stop,
            text=tokens.detokenize(self._vocab, out),
            internal=internal,
        )

    def _bitmap(self, path: str) -> Any:
        p = Path(path).expanduser()
        if not p.is_file():
            raise UserError(f"image {str(p)!r} not found or not readable; fix the workload's "
                            "images")
        bitmap = mtmd.mtmd_helper_bitmap_init_from_file(self._mtmd, str(p).encode(), False)
        if not bitmap:
            raise UserError(f"image {str(p)!r} could not be decoded by libmtmd (PNG, JPEG, BMP, "
                            "PPM and the like are read)")
        return bitmap

    def _tokenize(self, request: GenerationRequest, chunks: Any, bitmaps: list[Any]) -> list[int]:
        """Fill ``chunks`` with the prompt; return the throughput filler ids decoded after
        them ([] for chat)."""
        marker = mtmd.mtmd_default_marker().decode() * len(bitmaps)
        match request.kind:
            case "chat":
                text = self._chat_text(_with_images(request.messages, marker))
                bos = self._special_text(self._bos) if self._bos is not None else ""
                add_special = bool(bos) and not text.startswith(bos)
                filler: list[int] = []
            case "throughput":
                text, add_special = marker, True
                if request.prompt_tokens is None:
                    raise BackendError("a throughput request needs prompt_tokens")
                ids = self._filler_ids(request.filler or tokens.DEFAULT_FILLER)
                filler = tokens.throughput_prompt(ids, request.prompt_tokens, request.variant, None)
            case "completion":  # refused in generate()
                raise BackendError("llama_cpp_vlm takes no completion workloads")
            case _:
                assert_never(request.kind)
        data = text.encode("utf-8")
        inp = mtmd.mtmd_input_text()
        inp.text, inp.text_len = data, len(data)
        inp.add_special, inp.parse_special = add_special, True
        arr = (mtmd.mtmd_bitmap_p_ctypes * max(1, len(bitmaps)))(*bitmaps)
        logs.clear()
        rc = mtmd.mtmd_tokenize(self._mtmd, chunks, ctypes.byref(inp), arr, len(bitmaps))
        if rc != 0:
            why = logs.last_problem(f"code {rc}")
            raise BackendError(f"libmtmd could not tokenize the prompt with its images: {why}")
        return filler

    def _filler_ids(self, filler: str) -> list[int]:
        ids = self._filler_cache.get(filler)
        if ids is None:
            ids = tokens.tokenize(self._vocab, filler, parse_special=False)
            self._filler_cache[filler] = ids
        return ids

    def _encode_images(self, chunks: Any) -> tuple[dict[int, Any], float, int]:
        """Run the vision tower on every image chunk, before any prompt decode, so that
        llama.cpp's prompt counter (which spans from the first decode to the next
        synchronize) holds no encoding. Returns the embeddings per chunk index (copied out of
        libmtmd's buffer, which the next encode overwrites), encode seconds, image tokens."""
        n_embd = llama_cpp.llama_model_n_embd(self._model)
        out: dict[int, Any] = {}
        encode_s, image_tokens = 0.0, 0
        for i in range(mtmd.mtmd_input_chunks_size(chunks)):
            chunk = mtmd.mtmd_input_chunks_get(chunks, i)
            if mtmd.mtmd_input_chunk_get_type(chunk) == mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT:
                continue
            logs.clear()
            t0 = self.clock.now()
            rc = mtmd.mtmd_encode_chunk(self._mtmd, chunk)
            encode_s += self.clock.now() - t0
            if rc != 0:
                why = logs.last_problem(f"code {rc}")
                raise BackendError(f"libmtmd could not encode an image: {why}")
            n_tokens = mtmd.mtmd_input_chunk_get_n_tokens(chunk)
            buf = (ctypes.c_float * (n_tokens * n_embd))()
            ctypes.memmove(buf, mtmd.mtmd_get_output_embd(self._mtmd), ctypes.sizeof(buf))
            out[i] = buf
            image_tokens += n_tokens
        return out, encode_s, image_tokens

    def _decode_chunks(self, chunks: Any, embeddings: dict[int, Any], *, logits_last: bool
                       ) -> int:
        """Decode every chunk into the context, text as tokens and images as their
        embeddings, at libmtmd's positions; return the next position (``n_past``)."""
        n = mtmd.mtmd_input_chunks_size(chunks)
        n_past, n_batch = 0, self.options.n_batch
        for i in range(n):
            chunk = mtmd.mtmd_input_chunks_get(chunks, i)
            new_past = llama_cpp.llama_pos(n_past)  # in/out: libmtmd adds to it
            if i in embeddings:
                rc = mtmd.mtmd_helper_decode_image_chunk(
                    self._mtmd, self._ctx, chunk, embeddings[i], n_past, 0, n_batch,
                    ctypes.byref(new_past), _NO_CALLBACK, None)
                what = "the image embeddings"
            else:
                rc = mtmd.mtmd_helper_eval_chunk_single(
                    self._mtmd, self._ctx, chunk, n_past, 0, n_batch, logits_last and i == n - 1,
                    ctypes.byref(new_past))
                what = "the prompt text"
            if rc != 0:
                why = logs.last_problem(f"code {rc}")
                raise BackendError(f"llama_decode failed on {what}: {why}")
            n_past = new_past.value
        return n_past

    def _decode_ids(self, ids: list[int], n_past: int) -> int:
        """Decode ``ids`` at positions from ``n_past`` (logits for the last one only)."""
        b, step = self._batch, self.options.n_batch
        for start in range(0, len(ids), step):
            part = ids[start : start + step]
            for j, tok in enumerate(part):
                b.token[j], b.pos[j], b.n_seq_id[j], b.logits[j] = tok, n_past + j, 1, 0
                b.seq_id[j][0] = 0
            b.logits[len(part) - 1] = 1 if start + step >= len(ids) else 0
            b.n_tokens = len(part)
            rc = llama_cpp.llama_decode(self._ctx, b)
            if rc != 0:
                why = logs.last_problem(f"code {rc}")
                raise BackendError(f"llama_decode failed on the prompt: {why}")
            n_past += len(part)
        return n_past

    # -- description ---------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        o = self.vlm_opts
        d.update(
            api="llama.cpp libmtmd (llama_cpp.mtmd_cpp)",
            mmproj=str(self._mmproj) if self._mmproj else None,
            mtmd_threads=self.threads_batch,
            image_min_tokens=o.image_min_tokens or "model default",
            image_max_tokens=o.image_max_tokens or "model default",
            throughput_prompt="the images, then prompt_tokens tokens of filler text by the "
            "model's tokenizer (offset by variant)",
            chat_prompt="the model's chat template; the images' media markers open the first "
            "user message",
        )
        return d


def _with_images(messages: tuple[Message, ...], marker: str) -> tuple[Message, ...]:
    """``messages`` with ``marker`` (one media marker per image) before the first user text."""
    out, done = [], not marker
    for m in messages:
        if not done and m.role == "user":
            m, done = Message("user", marker + m.content), True
        out.append(m)
    return tuple(out)
