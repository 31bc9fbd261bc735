"""Fake LLM servers on 127.0.0.1 (random port) for the HTTP backends' tests.

``FakeServer(flavour)`` answers like:
- "ollama": the Ollama API, every duration field in the final chunk, a cached prompt prefix
  reused (``prompt_eval_count`` counts only the tokens after the prefix shared with the
  previous prompt, as llama.cpp's cache does); ``/api/generate`` puts the prompt through the
  model's template (a user message) unless ``raw`` is true, as Ollama documents;
- "hailo-ollama": hailo-ollama 5.1.1 as its source behaves (tests/fakes/hailo_ollama.py, a
  citation per behaviour): raw ignored (every prompt templated), 200 with an error body for a
  missing model, version "0.5.1", /hailo/v1/list, unknown options dropped, integer keep_alive,
  a final chunk with only ``total_duration`` and ``eval_count``;
- "openai": /v1/models, /v1/completions and /v1/chat/completions streamed as server-sent
  events, usage in a last chunk when ``stream_options.include_usage`` is set (``usage=False``
  drops it, like llama-cpp-python's server), a llama-cpp-python style /extras/tokenize;
- "llama-server": llama.cpp's server as the openai flavour plus what it adds: a BOS on every
  completion prompt, /tokenize that adds it only with ``add_special``, and ``timings``
  (prompt_n, cache_n) on the final chunk (see ``_llama_server`` for the sources).
Generation is scripted (tokens, first-chunk and per-chunk delays, end of generation or not);
every request is kept in ``requests`` for tests to assert on. Stdlib only.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_TOKEN_RE = re.compile(r" ?\w+| ?[^\w\s]|\s+")


def tokenize(text: str) -> list[str]:
    """The fake servers' tokenizer: words, punctuation, whitespace runs."""
    return _TOKEN_RE.findall(text)


@dataclass
class Script:
    tokens: list[str] = field(default_factory=lambda: [f" w{i}" for i in range(12)])
    eos: bool = True
    """Stop after ``tokens`` (end of generation); False: keep going to the token limit."""
    first_delay: float = 0.02
    delay: float = 0.002


@dataclass
class Request:
    method: str
    path: str
    body: Any
    headers: dict[str, str]


class FakeServer:
    def __init__(self, flavour: str, models: tuple[str, ...] = ("qwen2.5:1.5b",),
                 script: Script | None = None, usage: bool = True,
                 tokenize_endpoint: bool = True, api_key: str | None = None,
                 catalog: tuple[str, ...] = (), ignores_num_predict: int | None = None) -> None:
        assert flavour in ("ollama", "hailo-ollama", "openai", "llama-server")
        self.flavour = flavour
        self.models = list(models)
        self.script = script or Script()
        self.usage = usage
        self.tokenize_endpoint = tokenize_endpoint
        self.api_key = api_key
        self.requests: list[Request] = []
        self.catalog = list(catalog)
        """hailo-ollama: manifests whose HEF is not downloaded (in /hailo/v1/list only)."""
        self.ignores_num_predict = ignores_num_predict
        """hailo-ollama: generate this many tokens whatever num_predict says (divergent)."""
        self.templated_prompts: list[str] = []
        self.options_seen: list[dict[str, Any]] = []
        self.loaded: set[str] = set()
        self._last_prompt: list[str] = []
        self.host_cache: list[list[str]] | None = [] if flavour == "llama-server" else None
        """llama-server: prompts saved in host memory (--cache-ram, on by default)."""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,),
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    # ---- generation ---------------------------------------------------------------------

    def generated(self, limit: int, force: bool = False) -> tuple[list[str], bool]:
        """The tokens to stream and whether the limit (not the end token) stopped them."""
        tokens = list(self.script.tokens)
        if not self.script.eos or force:
            while len(tokens) < limit:
                tokens.append(" more")
        return tokens[:limit], len(tokens) >= limit

    def prompt_eval(self, prompt: str) -> int:
        """Tokens evaluated: all but the prefix shared with the previous prompt (min 1)."""
        toks = tokenize(prompt)
        shared = 0
        for a, b in zip(toks, self._last_prompt, strict=False):
            if a != b:
                break
            shared += 1
        self._last_prompt = toks
        return max(1, len(toks) - shared)

    def llama_server_eval(self, toks: list[str], cache_prompt: bool) -> int:
        """llama-server's tokens evaluated for a prompt (ggml-org/llama.cpp@0c1e57098,
        tools/server): server-context.cpp get_available_slot saves the slot's prompt into the
        host-memory cache (--cache-ram, 8192 MiB by default: common/common.h cache_ram_mib)
        and server-task.cpp server_prompt_cache::load restores the cached prompt that shares
        a longer prefix (f_keep >= 0.25 and better f_keep and f_sim than the slot's own);
        server-context.cpp update_slots reuses the common prefix only when the request's
        cache_prompt is true (server-task.h: default true), else n_past stays 0 and the whole
        prompt is evaluated. At least one token is always evaluated."""
        slot = self._last_prompt
        self._last_prompt = toks
        if self.host_cache is not None:
            if slot:
                self.host_cache.append(slot)
            best = _lcp(slot, toks)
            keep_best = best / len(slot) if slot else -1.0
            for cached in self.host_cache:
                lcp = _lcp(cached, toks)
                if lcp / len(cached) >= 0.25 and lcp / len(cached) > keep_best and lcp > best:
                    best, keep_best = lcp, lcp / len(cached)
        else:
            best = _lcp(slot, toks)
        if not cache_prompt:
            return len(toks)
        return max(1, len(toks) - best)


def _lcp(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _chat_text(messages: list[dict[str, str]]) -> str:
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n"
                   for m in messages) + "<|im_start|>assistant\n"


def _handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _body(self) -> Any:
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            return json.loads(raw) if raw else None

        def _json(self, obj: Any, status: int = 200) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _start_stream(self, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.end_headers()

        def _send(self, data: bytes) -> None:
            self.wfile.write(data)
            self.wfile.flush()

        def do_GET(self) -> None:
            server.requests.append(Request("GET", self.path, None, dict(self.headers)))
            self._route("GET", None)

        def do_POST(self) -> None:
            body = self._body()
            server.requests.append(Request("POST", self.path, body, dict(self.headers)))
            self._route("POST", body)

        def do_DELETE(self) -> None:
            body = self._body()
            server.requests.append(Request("DELETE", self.path, body, dict(self.headers)))
            self._json({"error": "not implemented in the fake"}, 501)

        def _route(self, method: str, body: Any) -> None:
            if server.flavour == "openai":
                _openai(self, server, method, body)
            elif server.flavour == "hailo-ollama":
                from tests.fakes import hailo_ollama

                hailo_ollama.handle(self, server, method, body)
            elif server.flavour == "llama-server":
                _llama_server(self, server, method, body)
            else:
                _ollama(self, server, method, body)

    return Handler


def _ollama(h: Any, server: FakeServer, method: str, body: Any) -> None:
    hailo = server.flavour == "hailo-ollama"
    path = h.path
    if method == "GET" and path == "/api/version":
        return h._json({"version": "0.1.0" if hailo else "0.6.0"})
    if method == "GET" and path == "/api/tags":
        models = []
        for m in server.models:
            entry: dict[str, Any] = {"name": m, "size": 986061892}
            if not hailo:
                entry.update(model=m, digest="sha256:" + "ab" * 32,
                             details={"family": "qwen2", "parameter_size": "1.5B",
                                      "quantization_level": "Q4_K_M"})
            models.append(entry)
        return h._json({"models": models})
    if method == "POST" and path == "/api/pull":
        name = body.get("model") or body.get("name")
        server.models.append(name)
        return h._json({"status": "success"})
    if method != "POST" or path not in ("/api/generate", "/api/chat"):
        return h._json({"error": f"unknown endpoint {path}"}, 404)
    model = body.get("model", "")
    if model not in server.models:
        return h._json({"error": f"model '{model}' not found"}, 404)
    chat = path == "/api/chat"
    prompt = _chat_text(body.get("messages") or []) if chat else body.get("prompt", "")
    if prompt and not chat and not body.get("raw"):
        # Ollama applies the model's template to the prompt unless raw is true
        prompt = _chat_text([{"role": "user", "content": prompt}])
    if not prompt:
        if body.get("keep_alive") == 0:
            server.loaded.discard(model)
            return h._json({"model": model, "response": "", "done": True,
                            "done_reason": "unload"})
        server.loaded.add(model)
        return h._json({"model": model, "response": "", "done": True, "done_reason": "load"})
    opts = body.get("options") or {}
    tokens, hit_limit = server.generated(int(opts.get("num_predict", 128)))
    prompt_eval = server.prompt_eval(prompt)
    stream = body.get("stream", True)
    t0 = time.perf_counter()
    if stream:
        h._start_stream("application/x-ndjson")
    time.sleep(server.script.first_delay)
    t_first = time.perf_counter()
    for i, tok in enumerate(tokens):
        if i:
            time.sleep(server.script.delay)
        if stream:
            piece: dict[str, Any] = {"role": "assistant", "content": tok}
            chunk = {"model": model, "created_at": "2026-01-01T00:00:00Z", "done": False}
            chunk.update({"message": piece} if chat else {"response": tok})
            h._send(json.dumps(chunk).encode() + b"\n")
    t_end = time.perf_counter()
    final: dict[str, Any] = {"model": model, "created_at": "2026-01-01T00:00:00Z",
                             "done": True, "done_reason": "length" if hit_limit else "stop",
                             "total_duration": int((t_end - t0) * 1e9),
                             "eval_count": len(tokens)}
    if not hailo:  # hailo-ollama leaves all of these out
        final.update(load_duration=1_000_000, prompt_eval_count=prompt_eval,
                     prompt_eval_duration=int((t_first - t0) * 1e9),
                     eval_duration=int((t_end - t_first) * 1e9))
    if not stream:
        final["response" if not chat else "message"] = (
            "".join(tokens) if not chat else {"role": "assistant", "content": "".join(tokens)})
        return h._json(final)
    final.update({"message": {"role": "assistant", "content": ""}} if chat else {"response": ""})
    h._send(json.dumps(final).encode() + b"\n")
    return None


def _openai(h: Any, server: FakeServer, method: str, body: Any, bos: int = 0,
            timings: dict[str, Any] | None = None) -> None:
    if server.api_key and h.headers.get("Authorization") != f"Bearer {server.api_key}":
        return h._json({"error": {"message": "Invalid API key", "type": "auth"}}, 401)
    path = h.path
    if method == "GET" and path == "/v1/models":
        return h._json({"object": "list",
                        "data": [{"id": m, "object": "model"} for m in server.models]})
    if method == "POST" and path == "/extras/tokenize" and server.tokenize_endpoint:
        return h._json({"tokens": list(range(len(tokenize(body["input"]))))})
    if method != "POST" or path not in ("/v1/completions", "/v1/chat/completions"):
        return h._json({"detail": "Not Found"}, 404)
    chat = path == "/v1/chat/completions"
    prompt = _chat_text(body.get("messages") or []) if chat else body.get("prompt", "")
    force = int(body.get("min_tokens") or 0) >= int(body.get("max_tokens", 16))
    tokens, hit_limit = server.generated(int(body.get("max_tokens", 16)), force=force)
    n_prompt = len(tokenize(prompt)) + bos
    usage = {"prompt_tokens": n_prompt, "completion_tokens": len(tokens),
             "total_tokens": n_prompt + len(tokens)}
    obj_type = "chat.completion.chunk" if chat else "text_completion"
    finish = "length" if hit_limit else "stop"
    if not body.get("stream"):
        text = "".join(tokens)
        choice: dict[str, Any] = ({"message": {"role": "assistant", "content": text}}
                                  if chat else {"text": text})
        choice.update(index=0, finish_reason=finish)
        return h._json({"id": "x", "object": obj_type, "choices": [choice], "usage": usage})

    def event(choices: list[dict[str, Any]], **extra: Any) -> None:
        payload = {"id": "cmpl-1", "object": obj_type, "created": 0,
                   "model": body.get("model"), "choices": choices, **extra}
        h._send(b"data: " + json.dumps(payload).encode() + b"\n\n")

    h._start_stream("text/event-stream")
    if chat:
        event([{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}])
    time.sleep(server.script.first_delay)
    for i, tok in enumerate(tokens):
        if i:
            time.sleep(server.script.delay)
        last = i == len(tokens) - 1
        c: dict[str, Any] = {"index": 0, "finish_reason": finish if last else None}
        c.update({"delta": {"content": tok}} if chat else {"text": tok})
        event([c])
    include = (body.get("stream_options") or {}).get("include_usage")
    if server.usage and include:
        event([], usage=usage, **({"timings": timings} if timings else {}))
    elif timings:
        event([], timings=timings)
    h._send(b"data: [DONE]\n\n")
    return None


def _llama_server(h: Any, server: FakeServer, method: str, body: Any) -> None:
    """llama-server's additions to the OpenAI API, from ggml-org/llama.cpp@0c1e57098 (the
    source llama-cpp-python 0.3.36 vendors), tools/server:
    - server-context.cpp, server_routes post_tokenize: POST /tokenize {"content": ...}
      answers {"tokens": [...]}; add_special defaults to false (no BOS), parse_special to true;
    - server-context.cpp, handle_completions_impl: the prompt of /v1/completions is tokenized
      by tokenize_input_prompts(..., add_special=true, parse_special=true): BOS added;
    - server-task.cpp, usage_json_oaicompat: usage.prompt_tokens = n_prompt_tokens (the whole
      prompt, BOS included); server-common.cpp, result_timings::to_json: timings.prompt_n =
      tokens evaluated, cache_n = tokens reused from the slot's cache (the common prefix with
      the previous prompt; at least one token is always evaluated); the final chunk carries
      both (to_json_oaicompat / to_json_oaicompat_chat_stream).
    This fake's BOS is one token, its tokenizer the words of ``tokenize``."""
    path = h.path
    if path == "/extras/tokenize":  # llama-cpp-python's, not llama-server's
        return h._json({"error": {"code": 404, "message": "File Not Found"}}, 404)
    if method == "POST" and path == "/tokenize":
        ids = list(range(1, len(tokenize(body["content"])) + 1))
        return h._json({"tokens": ([0] if body.get("add_special", False) else []) + ids})
    if method == "POST" and path in ("/v1/completions", "/v1/chat/completions"):
        chat = path == "/v1/chat/completions"
        prompt = _chat_text(body.get("messages") or []) if chat else body.get("prompt", "")
        toks = ["<bos>", *tokenize(prompt)]
        n = len(toks)
        evaluated = server.llama_server_eval(toks, bool(body.get("cache_prompt", True)))
        timings = {"cache_n": n - evaluated, "prompt_n": evaluated, "prompt_ms": 1.0 * evaluated}
        return _openai(h, server, method, body, bos=1, timings=timings)
    return _openai(h, server, method, body)
