"""Any OpenAI-compatible server: llama.cpp's llama-server, llama-cpp-python's server, vLLM, ...

Throughput and completion prompts go through streaming ``/v1/completions`` (raw text, no chat
template: the legacy completions endpoint that llama-server, llama-cpp-python's server and vLLM
serve), chat prompts through streaming ``/v1/chat/completions``, all with
``stream_options: {"include_usage": true}``. ``force_length`` applies to throughput and chat
requests; completion requests stop at the end of generation.
Time to first token and generation speed come from the arrival times of the streamed chunks
on the run's clock. Counts come from the server's ``usage`` where it sends one (not every
server does when streaming); otherwise the prompt count from the server's tokenize endpoint
(throughput, completion) and the generated count from the chunks, and the method says which.
llama-server's ``timings`` object, when present, is kept as the server's own view.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

import httpx

from bench.backends._http import (
    STREAMED_CHUNKS,
    HttpBackend,
    chat_messages,
    fit_with,
    iter_sse,
    server_stats,
    status_error,
)
from bench.backends.base import (
    Generation,
    GenerationRequest,
    InternalTimings,
    ModelInfo,
    ModelRef,
    TokenEvent,
)
from bench.backends.openai.config import CAPABILITIES, OpenAIArtifact, OpenAIOptions
from bench.common import Json, JsonObject, assert_never, json_object
from bench.errors import BackendError, BackendUnavailable, ModelLoadError

WHO = "openai backend"
START_HINT = ("start the server (e.g. `llama-server -m MODEL.gguf` or "
              "`python -m llama_cpp.server --model MODEL.gguf`)")
FLUSH_PROMPT = "Flush."

# (name, path, body builder): tried in this order by tokenize: auto. Each counts the prompt
# as the server's completion endpoint does, special tokens (BOS) included:
# - llama-server (ggml-org/llama.cpp@0c1e57098, vendored by llama-cpp-python 0.3.36,
#   tools/server/server-context.cpp): post_tokenize reads add_special (default false) and
#   parse_special (default true); handle_completions_impl tokenizes the prompt with
#   tokenize_input_prompts(..., add_special=true, parse_special=true): so add_special: true.
# - llama-cpp-python 0.3.36 llama_cpp/server/app.py tokenize(): Llama.tokenize(text,
#   special=True), whose add_bos defaults to True.
# - vLLM's /tokenize: add_special_tokens defaults to true.
# What a server still adds beyond that is learned from its own count (see generate).
Tokenizer = tuple[str, str, Callable[[str, str], JsonObject]]
"""A tokenize endpoint: (name, path, request body from (model, text))."""
_TOKENIZERS: tuple[Tokenizer, ...] = (
    ("llama-cpp-python", "/extras/tokenize", lambda m, t: {"model": m, "input": t}),
    ("llama-server", "/tokenize", lambda m, t: {"content": t, "add_special": True}),
    ("vllm", "/tokenize", lambda m, t: {"model": m, "prompt": t}),
)


def _text(value: Json) -> str:
    """A streamed text field ("text", "content", "finish_reason"): "" when absent or null."""
    return value if isinstance(value, str) else ""


def server_prompt_count(usage: JsonObject | None, timings: JsonObject | None
                        ) -> tuple[int | None, str]:
    """The server's own count of the whole prompt, and where it comes from: usage.prompt_tokens,
    else llama-server's timings prompt_n + cache_n (processed + reused from the cache; the
    same sum Ollama reports as prompt_eval_count, ollama/ollama llm/llama_server.go
    promptEvalCount)."""
    prompt = (usage or {}).get("prompt_tokens")
    if isinstance(prompt, int):
        return prompt, "server usage.prompt_tokens"
    processed, cached = (timings or {}).get("prompt_n"), (timings or {}).get("cache_n")
    if isinstance(processed, int):
        total = processed + (cached if isinstance(cached, int) else 0)
        return total, "server timings prompt_n + cache_n"
    return None, "unknown: the server sent no usage"


def _llama_server_timings(obj: JsonObject) -> InternalTimings | None:
    t = obj.get("timings")
    if not isinstance(t, dict):
        return None
    out = InternalTimings(source="llama-server timings of the final chunk")
    if isinstance(ms := t.get("prompt_ms"), int | float):
        out["prompt_ms"] = ms
    if isinstance(n := t.get("prompt_n"), int):
        out["prompt_tokens"] = n
    if isinstance(n := t.get("cache_n"), int):
        out["cached_tokens"] = n
    if isinstance(ms := t.get("predicted_ms"), int | float):
        out["gen_ms"] = ms
    if isinstance(n := t.get("predicted_n"), int):
        out["gen_tokens"] = n
    return out


class OpenAIBackend(HttpBackend[OpenAIOptions]):
    """An OpenAI-compatible server: /v1/completions and /v1/chat/completions, streamed (SSE);
    prompts sized by its tokenize endpoint when one answers."""

    name = "openai"
    capabilities = CAPABILITIES
    start_hint = START_HINT
    server_kind = "OpenAI-compatible server"
    api = "OpenAI-compatible HTTP API"
    _tokenizer: Tokenizer | None = None
    """The tokenize endpoint that answered at load (None: prompts sized by the ratio)."""
    _added = 0
    """Tokens the server adds to a throughput prompt beyond what its tokenize endpoint counts:
    learned from the server's own count (warm-up), subtracted when fitting."""
    _llama_server = False
    """The server is llama.cpp's llama-server (its /tokenize answered, or it sent timings)."""

    def _headers(self) -> dict[str, str]:
        env = self.options.api_key_env
        if not env:
            return {}
        key = os.environ.get(env)
        if not key:
            raise BackendUnavailable(f"{WHO}: api_key_env names {env!r} but that environment "
                                     "variable is not set")
        return {"Authorization": f"Bearer {key}"}

    def _post(self, path: str, body: JsonObject) -> httpx.Response:
        if self._client is None:
            raise self._no_model()
        try:
            return self._client.post(path, json=body)
        except httpx.HTTPError as e:
            raise self._failed(e, path) from None

    # ---- load / close -------------------------------------------------------------------

    def load(self, model: ModelRef) -> ModelInfo:
        artifact = self.artifact(model, OpenAIArtifact, "server model name")
        self.close()
        self._client = self._new_client(self._headers())
        self._model = artifact.model
        try:
            r = self._client.get("/v1/models")
        except httpx.HTTPError as e:
            self.close()
            raise self._failed(e, "/v1/models", timed=False) from None
        served: list[str] = []
        if r.status_code == 200:
            data = json_object(r.json()).get("data")
            served = [str(m.get("id")) for m in data if isinstance(m, dict)] if isinstance(
                data, list) else []
        elif r.status_code in (401, 403):
            self.close()
            raise BackendUnavailable(status_error(r, WHO) + " (set api_key_env)")
        self._model = artifact.model
        self._tokenizer = self._probe_tokenizer()
        self._llama_server = bool(self._tokenizer and self._tokenizer[0] == "llama-server")
        return ModelInfo(weights="real", extra={
            "server_model": artifact.model, "served_models": served,
            "base_url": self.options.base_url,
            "tokenize_endpoint": self._tokenizer[0] if self._tokenizer else None})

    def _probe_tokenizer(self) -> Tokenizer | None:
        choice = self.options.tokenize
        if choice == "none":
            return None
        candidates = [t for t in _TOKENIZERS if choice in ("auto", t[0])]
        for cand in candidates:
            try:
                self._count_with(cand, "hello world")
                return cand
            except BackendError:
                continue
        if choice != "auto":
            raise ModelLoadError(f"{WHO}: the {choice} tokenize endpoint does not answer at "
                                 f"{self._url(candidates[0][1])} (set tokenize: auto or none)")
        return None

    def _count_with(self, cand: Tokenizer, text: str) -> int:
        name, path, body = cand
        r = self._post(path, body(self._model or "", text))
        if r.status_code != 200:
            raise BackendError(status_error(r, WHO))
        data = json_object(r.json())
        ids, count = data.get("tokens"), data.get("count")
        if isinstance(ids, list):
            return len(ids)
        if isinstance(count, int):
            return count
        raise BackendError(f"{WHO}: {name} tokenize answer has no tokens")

    def reset(self) -> None:
        if self.options.fresh_context != "flush" or self._model is None:
            return
        r = self._post("/v1/completions", {"model": self._model, "prompt": FLUSH_PROMPT,
                                           "max_tokens": 1, "stream": False})
        if r.status_code >= 400:
            raise BackendError(status_error(r, WHO))

    def describe(self) -> JsonObject:
        return {
            **self._server_facts(),
            "api_key_env": self.options.api_key_env,
            "timing": "client side, each streamed chunk timed on arrival",
            "tokenize_endpoint": self._tokenizer[0] if self._tokenizer else None,
            "prompt_sizing": ("exact, by the server's tokenize endpoint" if self._tokenizer
                              else "filler words scaled by a tokens/word ratio learned from "
                                   "the server's usage (not exact)"),
            "throughput_prompt": "filler text as raw text through /v1/completions",
            "completion_prompt": "the prompt as raw text through /v1/completions (no template)",
            "force_length": self.options.force_length,
            "fresh_context": self.options.fresh_context,
        }

    # ---- generation ---------------------------------------------------------------------

    def generate(self, request: GenerationRequest) -> Generation:
        if self._client is None or self._model is None:
            raise self._no_model()
        s = request.sampling
        body: JsonObject = {"model": self._model, "max_tokens": request.max_tokens,
                                "temperature": s.temperature, "seed": s.seed, "stream": True,
                                "stream_options": {"include_usage": True}}
        if s.top_k is not None:
            body["top_k"] = s.top_k
        if s.top_p is not None:
            body["top_p"] = s.top_p
        if self.options.force_length and request.kind != "completion":
            # a completion continues the text until the end of generation (GenerationRequest)
            body["min_tokens"] = request.max_tokens
            body["ignore_eos"] = True
        if self.options.fresh_context == "flush" and self._llama_server:
            # llama-server keeps prompts in host memory (--cache-ram, on by default) and
            # restores the closest one into the slot, so the flush does not stop a prefix being
            # reused; cache_prompt: false makes it evaluate the whole prompt
            # (ggml-org/llama.cpp@0c1e57098 tools/server/server-context.cpp update_slots)
            body["cache_prompt"] = False
        body.update(self.options.extra_body)
        fitted = None
        text = ""
        match request.kind:
            case "throughput":
                if request.prompt_tokens is None:
                    raise BackendError(f"{WHO}: a throughput request needs prompt_tokens")
                tok = self._tokenizer
                count = (lambda t: self._count_with(tok, t)) if tok else None
                target = max(1, request.prompt_tokens - self._added)
                text, fitted = fit_with(count, self._fitter, target, request.variant,
                                        request.filler or None)
                path, body["prompt"] = "/v1/completions", text
            case "completion":
                text = "".join(m.content for m in request.messages)
                path, body["prompt"] = "/v1/completions", text
            case "chat":
                path = "/v1/chat/completions"
                body["messages"] = chat_messages(request.messages)
            case _:
                assert_never(request.kind)
        chunks, parts = 0, []
        usage: JsonObject | None = None
        timings: JsonObject | None = None
        finish: str | None = None
        internal: InternalTimings | None = None
        t_request = self.clock.now()
        for t, obj in self._objects(self._client, path, body, iter_sse):
            if isinstance(got := obj.get("usage"), dict):
                usage = got
            internal = _llama_server_timings(obj) or internal
            if isinstance(got := obj.get("timings"), dict):
                timings = got
                self._llama_server = True
            choices = obj.get("choices")
            for choice in map(json_object, choices if isinstance(choices, list) else []):
                if path == "/v1/completions":
                    piece = _text(choice.get("text"))
                else:
                    delta = json_object(choice.get("delta"))
                    piece = _text(delta.get("reasoning_content")) + _text(delta.get("content"))
                finish = _text(choice.get("finish_reason")) or finish
                if piece:
                    chunks += 1
                    parts.append(piece)
                    yield TokenEvent(t=t, n=1, text=piece)

        prompt_tokens, prompt_method = server_prompt_count(usage, timings)
        if prompt_tokens is not None:
            if fitted is not None:
                added = prompt_tokens - fitted.tokens
                if added != 0:
                    # the next prompts are fitted to leave room for what the server adds
                    prompt_method += f" (its tokenize endpoint counted {fitted.tokens})"
                self._added = added
        elif fitted is not None:
            prompt_tokens = fitted.tokens
            prompt_method = f"server tokenize endpoint ({self._tokenizer and self._tokenizer[0]})"
        elif request.kind == "completion" and self._tokenizer is not None:
            # after the last chunk: the count does not touch the timed stream
            prompt_tokens = self._count_with(self._tokenizer, text)
            prompt_method = f"server tokenize endpoint ({self._tokenizer[0]})"
        if request.kind == "throughput":
            self._fitter.observe(text, prompt_tokens)
        completion_tokens = (usage or {}).get("completion_tokens")
        if isinstance(completion_tokens, int):
            gen_tokens, gen_method = completion_tokens, "server usage.completion_tokens"
        else:
            gen_tokens, gen_method = chunks, STREAMED_CHUNKS
        stats = server_stats(request, t_request, (prompt_tokens, prompt_method),
                             (gen_tokens, gen_method), finish, parts, internal)
        cached = (timings or {}).get("cache_n")
        return replace(stats, prompt_cached_tokens=cached if isinstance(cached, int) else None)
