"""An Ollama HTTP server: the real Ollama (llama.cpp on the Pi's CPU) or hailo-ollama (the NPU).

Throughput prompts go through streaming ``/api/generate`` (``raw: true``: no chat template,
unless the option ``raw`` is off), completion prompts through the same endpoint, always with
``raw: true`` (the text continued as it is), chat prompts through streaming ``/api/chat``.
Every streamed chunk is timed on the run's clock as it arrives. The final chunk's duration
fields (nanoseconds) are kept beside, as the server's own view, with the names of the fields
present: Ollama fills them all; hailo-ollama fills only ``total_duration`` and ``eval_count``.
Token counts come from the server when it gives them (``prompt_eval_count``, ``eval_count``); a
prompt count it does not give is null, never guessed.
"""

from __future__ import annotations

import contextlib
import logging

import httpx

from bench.backends._http import (
    STREAMED_CHUNKS,
    HttpBackend,
    chat_messages,
    iter_ndjson,
    server_stats,
    status_error,
)
from bench.backends.base import (
    Generation,
    GenerationRequest,
    GenerationStats,
    InternalTimings,
    ModelInfo,
    ModelRef,
    TokenEvent,
)
from bench.backends.ollama import flavour
from bench.backends.ollama.config import CAPABILITIES, OllamaArtifact, OllamaOptions
from bench.clock import Clock
from bench.common import Json, JsonObject, assert_never, json_number, json_object
from bench.errors import BackendError, ModelLoadError

log = logging.getLogger(__name__)

WHO = "ollama backend"
START_HINT = "start the server (`ollama serve`, or hailo-ollama for the NPU on port 8000)"
DURATIONS = ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration")
COUNTS = ("prompt_eval_count", "eval_count")
FLUSH_PROMPT = "Flush."


def _text(value: Json) -> str:
    """A streamed text field ("response", "content", "thinking"): "" when absent or null."""
    return value if isinstance(value, str) else ""


def _full_name(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


def server_timings(final: JsonObject) -> InternalTimings:
    """The server's own figures from the final chunk, ns -> ms, and which fields it filled."""
    numbers = {k: n for k in (*DURATIONS, *COUNTS) if (n := json_number(final.get(k))) is not None}
    present = list(numbers)
    out = InternalTimings(
        source="server duration fields of the final chunk (ns, shown in ms)",
        fields_present=present,
        fields_missing=[k for k in (*DURATIONS, *COUNTS) if k not in present])
    if "total_duration" in numbers:
        out["total_ms"] = numbers["total_duration"] / 1e6
    if "load_duration" in numbers:
        out["load_ms"] = numbers["load_duration"] / 1e6
    if "prompt_eval_duration" in numbers:
        out["prompt_ms"] = numbers["prompt_eval_duration"] / 1e6
    if "eval_duration" in numbers:
        out["gen_ms"] = numbers["eval_duration"] / 1e6
    if "prompt_eval_count" in numbers:
        out["prompt_tokens"] = int(numbers["prompt_eval_count"])
    if "eval_count" in numbers:
        out["gen_tokens"] = int(numbers["eval_count"])
    return out


class OllamaBackend(HttpBackend[OllamaOptions]):
    """Ollama or hailo-ollama (``flavour``): /api/generate and /api/chat, streamed."""

    name = "ollama"
    capabilities = CAPABILITIES
    start_hint = START_HINT
    server_kind = "Ollama server"
    api = "Ollama HTTP API"

    def __init__(self, options: OllamaOptions, *, clock: Clock | None = None) -> None:
        super().__init__(options, clock=clock)
        self._server_version: str | None = None
        self._last_fields: list[str] = []
        self._flavour = flavour.FLAVOURS.get(options.flavour, flavour.OLLAMA)
        self._dropped: list[str] = []

    # ---- plumbing -----------------------------------------------------------------------

    def _request(self, method: str, path: str, body: JsonObject | None = None) -> JsonObject:
        """The server's answer to a request (a JSON object; {} for any other JSON)."""
        client = self._require_client()
        try:
            r = client.request(method, path, json=body)
        except httpx.HTTPError as e:
            raise self._failed(e, path) from None
        if r.status_code >= 400:
            cls = ModelLoadError if r.status_code == 404 else BackendError
            raise cls(status_error(r, WHO))
        answer: Json
        try:
            answer = r.json()
        except ValueError:
            # hailo-ollama may answer some calls with a stream: the last object is the answer
            objs = list(iter_ndjson(r))
            answer = objs[-1] if objs else {}
        flavour.error_in_body(answer, WHO, f"{method} {path}")  # hailo-ollama: 200 + error
        return json_object(answer)

    def _require_client(self) -> httpx.Client:
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def _with_keep_alive(self, body: JsonObject) -> JsonObject:
        if self.options.keep_alive is not None:
            body["keep_alive"] = flavour.keep_alive(self.options.keep_alive, self._flavour)
        return body

    # ---- load / close -------------------------------------------------------------------

    def load(self, model: ModelRef) -> ModelInfo:
        name = self.artifact(model, OllamaArtifact, "server model name").model
        version = self._request("GET", "/api/version")
        self._server_version = str(version.get("version")) if version else None
        self._flavour = flavour.detect(self._require_client(), self.options.flavour)
        # what this server can take (the runner asks the instance before every request)
        setattr(self, "capabilities", self._flavour.capabilities)  # noqa: B010
        reported_version = self._server_version
        if self._flavour.version_is_fixed:
            self._server_version = None  # hailo-ollama answers "0.5.1" whatever it is
        entry = self._find(name)
        if entry is None:
            if not self.options.pull:
                raise ModelLoadError(
                    f"{WHO}: model {name!r} is not on the server at {self.options.base_url}: "
                    f"run `ollama pull {name}` (hailo-ollama: POST /api/pull) or set pull: true")
            self._request("POST", "/api/pull", {"model": name, "name": name, "stream": False})
            entry = self._find(name) or {}
        self._model = name
        # an empty prompt loads the model (the runner times this call)
        answer = self._request("POST", "/api/generate",
                               self._with_keep_alive({"model": name, "stream": False}))
        extra: JsonObject = {"server_model": name, "server_version": self._server_version,
                                 "server_version_reported": reported_version,
                                 "server_flavour": self._flavour.name,
                                 "base_url": self.options.base_url}
        for key in ("digest", "modified_at"):
            if entry.get(key):
                extra[key] = entry[key]
        details = entry.get("details")
        if isinstance(details, dict):
            extra["details"] = details
        load_ns = json_number(answer.get("load_duration"))
        if load_ns is not None:
            extra["server_load_ms"] = load_ns / 1e6
        size = entry.get("size")
        quant = json_object(details).get("quantization_level")
        if self._flavour.quant_is_nominal and quant:
            extra["quantization_level_reported"] = quant  # "Q4_0" for A8W4 HEFs: not the scheme
            quant = None
        return ModelInfo(weights="real", file_bytes=size if isinstance(size, int) else None,
                         quant=str(quant) if quant else None, extra=extra)

    def _find(self, name: str) -> JsonObject | None:
        models = self._request("GET", "/api/tags").get("models")
        want = _full_name(name)
        for entry in models if isinstance(models, list) else []:
            if isinstance(entry, dict) and want in {_full_name(str(entry.get(k, "")))
                                                    for k in ("name", "model")}:
                return entry
        return None

    def reset(self) -> None:
        if self.options.fresh_context != "flush" or self._model is None:
            return
        body: JsonObject = {"model": self._model, "prompt": FLUSH_PROMPT, "raw": True,
                            "stream": False, "options": {"num_predict": 1}}
        self._request("POST", "/api/generate", self._with_keep_alive(body))

    def close(self) -> None:
        client, model = self._client, self._model
        try:
            if client is not None and model is not None and self.options.unload_after:
                client.post("/api/generate", json={"model": model, "keep_alive": 0})
        except httpx.HTTPError as e:
            log.warning("%s: unloading %s failed: %s", WHO, model, e)
        finally:
            super().close()

    def describe(self) -> JsonObject:
        return {
            **self._server_facts(),
            "server_version": self._server_version,
            "timing": "client side, each streamed chunk timed on arrival; server duration "
                      "fields kept beside when present",
            "server_fields_present": self._last_fields,
            "fresh_context": (
                "reset() sends a short unrelated raw prompt so no cached prefix is reused; "
                "throughput prompts change their first words each repetition"
                if self.options.fresh_context == "flush"
                else "throughput prompts change their first words each repetition; chat "
                     "and completion prompts may reuse the server's cached prefix"),
            "throughput_prompt": ("raw text (raw=true, no template)"
                                  if self.options.raw and not self._flavour.templated_generate
                                  else "text through the model's template"),
            "completion_prompt": "the prompt as raw text through /api/generate (raw=true, no "
                                 "template, whatever the raw option)",
            "prompt_sizing": "filler words scaled by a tokens/word ratio learned from the "
                             "server's prompt_eval_count (not exact)",
            **flavour.describe(self._flavour, self._dropped),
            "unload_after": self.options.unload_after,
            # sent with every request when set; null: the server's own default (not known here)
            "num_ctx": self.options.num_ctx,
            "num_thread": self.options.num_thread,
            "keep_alive": self.options.keep_alive,
        }

    # ---- generation ---------------------------------------------------------------------

    def generate(self, request: GenerationRequest) -> Generation:
        if self._model is None:
            raise self._no_model()
        s = request.sampling
        options: JsonObject = {"num_predict": request.max_tokens,
                                   "temperature": s.temperature, "seed": s.seed}
        opts = self.options
        for key, value in (("top_k", s.top_k), ("top_p", s.top_p),
                           ("num_ctx", opts.num_ctx), ("num_thread", opts.num_thread)):
            if value is not None:
                options[key] = value
        options, self._dropped = flavour.split_options(options, self._flavour)
        text = ""
        match request.kind:
            case "throughput":
                if request.prompt_tokens is None:
                    raise BackendError(f"{WHO}: a throughput request needs prompt_tokens")
                text = self._fitter.build(request.prompt_tokens, request.variant,
                                          request.filler or None)
                path = "/api/generate"
                body: JsonObject = {"model": self._model, "prompt": text,
                                     "raw": self.options.raw, "stream": True, "options": options}
            case "completion":
                prompt = "".join(m.content for m in request.messages)
                if not prompt:
                    # an empty prompt only loads (or unloads) the model: nothing would be generated
                    raise BackendError(f"{WHO}: a completion request needs a non-empty prompt")
                path = "/api/generate"
                body = {"model": self._model, "prompt": prompt, "raw": True, "stream": True,
                        "options": options}
            case "chat":
                path = "/api/chat"
                body = {"model": self._model, "stream": True, "options": options,
                        "messages": chat_messages(request.messages)}
            case _:
                assert_never(request.kind)
        self._with_keep_alive(body)
        client = self._require_client()
        chunks, parts = 0, []
        final: JsonObject | None = None
        t_request = self.clock.now()
        with contextlib.closing(self._objects(client, path, body, iter_ndjson)) as objects:
            for t, obj in objects:
                part = obj if path == "/api/generate" else json_object(obj.get("message"))
                piece = _text(part.get("thinking")) + _text(
                    part.get("response" if path == "/api/generate" else "content"))
                if piece:
                    chunks += 1
                    parts.append(piece)
                    yield TokenEvent(t=t, n=1, text=piece)
                if obj.get("done"):
                    final = obj
                    break
        if final is None:
            raise BackendError(f"{WHO}: the stream from {self._url(path)} ended without a "
                               "final (done) chunk")
        return self._stats(request, t_request, final, chunks, parts, text)

    def _stats(self, request: GenerationRequest, t_request: float, final: JsonObject,
               chunks: int, parts: list[str], text: str) -> GenerationStats:
        internal = server_timings(final)
        self._last_fields = internal["fields_present"]
        prompt_tokens = internal.get("prompt_tokens")
        if request.kind == "throughput":
            self._fitter.observe(text, prompt_tokens)
        if "gen_tokens" in internal:
            gen_tokens, gen_method = internal["gen_tokens"], "server eval_count"
        else:
            gen_tokens, gen_method = chunks, STREAMED_CHUNKS
        gen_method += flavour.length_note(gen_tokens, request.max_tokens)
        if prompt_tokens is not None:
            prompt_method = "server prompt_eval_count"
            if self.options.fresh_context == "none" and request.kind != "throughput":
                # the server evaluates (and counts) only what its cached prefix lacks
                prompt_method += " (only the part not already cached when a prompt repeats)"
            if request.kind == "throughput" and request.prompt_tokens is not None:
                prompt_method += f" (asked for about {request.prompt_tokens})"
        else:
            prompt_method = "unknown: the server does not report prompt_eval_count"
        if self._flavour.templated_generate and request.kind != "chat":
            prompt_method += flavour.TEMPLATED_METHOD
        return server_stats(request, t_request, (prompt_tokens, prompt_method),
                            (gen_tokens, gen_method), final.get("done_reason"), parts, internal)
