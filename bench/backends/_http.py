"""Shared pieces of the HTTP backends (ollama, openai): their base class (client, server
address, errors as one line), streamed lines timed on the run's clock, and prompts fitted to a
token count by a server's counts.

Timing is client side: a chunk's time is the clock reading when its line has been received and
parsed, the same clock the meters use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from typing import ClassVar, TypeVar

import httpx

from bench.backends._server import ServerOptions, server_address
from bench.backends.base import (
    Backend,
    GenerationRequest,
    GenerationStats,
    InternalTimings,
    Message,
    ServerAddress,
)
from bench.clock import Clock
from bench.common import Json, JsonObject
from bench.errors import BackendError, BackendUnavailable, GenerationTimeout
from bench.workloads.prompts import FittedPrompt, filler_text, fit_prompt

ServerOptionsT = TypeVar("ServerOptionsT", bound=ServerOptions)


def make_client(base_url: str, connect_timeout_s: float, read_timeout_s: float,
                headers: dict[str, str] | None = None) -> httpx.Client:
    """A client whose read timeout applies per read (so it must cover the first token)."""
    timeout = httpx.Timeout(connect=connect_timeout_s, read=read_timeout_s,
                            write=connect_timeout_s, pool=connect_timeout_s)
    return httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers or {})


def http_error(exc: Exception, who: str, url: str, start_hint: str,
               read_timeout_s: float | None = None) -> Exception:
    """One line for an httpx failure."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return BackendUnavailable(f"{who}: cannot connect to {url} ({_reason(exc)}): "
                                  f"{start_hint}, or fix base_url")
    if isinstance(exc, httpx.ReadTimeout):
        limit = f" within {read_timeout_s:g} s" if read_timeout_s else ""
        return GenerationTimeout(f"{who}: no data from {url}{limit} "
                                 "(raise read_timeout_s if the prompt is long or the model slow)")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return BackendError(f"{who}: the server at {url} closed the connection mid-answer "
                            f"({_reason(exc)})")
    return BackendError(f"{who}: request to {url} failed: {_reason(exc)}")


def _reason(exc: Exception) -> str:
    msg = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def status_error(response: httpx.Response, who: str) -> str:
    """The server's error text of a failed response (read in full), on one line."""
    try:
        body = response.read().decode(errors="replace")
    except httpx.HTTPError:
        body = ""
    try:
        data = json.loads(body)
        if isinstance(data, dict):
            err = data.get("error", body)
            body = err.get("message", str(err)) if isinstance(err, dict) else str(err)
    except ValueError:
        pass
    body = " ".join(body.split())[:300]
    return f"{who}: HTTP {response.status_code} from {response.request.url}: {body or 'no body'}"


def iter_ndjson(response: httpx.Response) -> Iterator[JsonObject]:
    """Objects of a newline-delimited JSON stream (Ollama)."""
    for line in response.iter_lines():
        if line.strip():
            obj = json.loads(line)
            if isinstance(obj, dict):
                yield obj


def iter_sse(response: httpx.Response) -> Iterator[JsonObject]:
    """JSON payloads of a server-sent-events stream (OpenAI style), until ``data: [DONE]``."""
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        if data:
            obj = json.loads(data)
            if isinstance(obj, dict):
                yield obj


class RatioFitter:
    """Filler prompts near a token count when only the server can count tokens.

    Starts from ``tokens_per_word`` and learns the ratio from the server's counts of earlier
    prompts (``observe``), so the warm-up run calibrates the measured ones. Never claims
    exactness: the count to record is the server's own.
    """

    def __init__(self, tokens_per_word: float = 1.35) -> None:
        self.ratio = tokens_per_word
        self.observed = 0

    def build(self, target: int, variant: int, base: str | None = None) -> str:
        words_needed = max(1, round(target / self.ratio))
        words = (base.split() if base else filler_text(variant, words_needed).split())
        while len(words) < words_needed:
            words = words + words
        return " ".join(words[:words_needed]) if target > 0 else ""

    def observe(self, text: str, tokens: int | None) -> None:
        words = len(text.split())
        if tokens and words >= 8:
            self.ratio = tokens / words
            self.observed += 1


def fit_with(count: Callable[[str], int] | None, fitter: RatioFitter, target: int,
             variant: int, base: str | None) -> tuple[str, FittedPrompt | None]:
    """Exact fit through ``count`` (a tokenize endpoint) when given, else the ratio estimate."""
    if count is not None:
        fitted = fit_prompt(count, target, variant, base=base)
        return fitted.text, fitted
    return fitter.build(target, variant, base), None


STREAMED_CHUNKS = "streamed chunks (one token each, assumed)"
"""The generated-token method when the server sends no count: one token per chunk."""


def server_stats(request: GenerationRequest, t_request: float, prompt: tuple[int | None, str],
                 gen: tuple[int, str], finish: Json, parts: list[str],
                 internal: InternalTimings | None) -> GenerationStats:
    """The stats of a streamed answer: ``prompt`` and ``gen`` are (count, method); the stop
    reason is the server's ``finish`` reason ("length", or another: "eos"), or without one
    "length" when max_tokens tokens came."""
    gen_tokens, gen_method = gen
    if finish == "length" or (finish is None and gen_tokens >= request.max_tokens):
        stop = "length"
    else:
        stop = "eos"
    return GenerationStats(t_request=t_request, prompt_tokens=prompt[0],
                           prompt_tokens_method=prompt[1], gen_tokens=gen_tokens,
                           gen_tokens_method=gen_method, stop_reason=stop,
                           text="".join(parts), internal=internal)


def chat_messages(messages: tuple[Message, ...]) -> list[JsonObject]:
    """Chat messages as both APIs take them: [{"role": ..., "content": ...}]."""
    return [{"role": m.role, "content": m.content} for m in messages]


class HttpBackend(Backend[ServerOptionsT]):
    """A backend whose server generates: the options' ``runs_on``, the server model's name
    (set by ``load``), an httpx client, the server's address and one-line errors."""

    start_hint: ClassVar[str]
    """What to do when the server does not answer, e.g. "start the server (`ollama serve`)"."""
    server_kind: ClassVar[str]
    """What the server is, for the recorded device when the options name none, e.g.
    "Ollama server"."""
    api: ClassVar[str]
    """The API it speaks, recorded as the runtime, e.g. "Ollama HTTP API"."""

    def __init__(self, options: ServerOptionsT, *, clock: Clock | None = None) -> None:
        super().__init__(options, clock=clock)
        # what the config declares: nothing in these APIs says which device serves the model
        self.runs_on = options.runs_on
        self._client: httpx.Client | None = None
        self._model: str | None = None
        self._fitter = RatioFitter(options.tokens_per_word)

    @property
    def who(self) -> str:
        """The backend in messages, e.g. "ollama backend"."""
        return f"{self.name} backend"

    def _url(self, path: str) -> str:
        return self.options.base_url.rstrip("/") + path

    def _failed(self, exc: httpx.HTTPError, path: str, *, timed: bool = True) -> Exception:
        """The one-line error for a request to ``path`` that failed (``timed``: name the read
        timeout the options set)."""
        return http_error(exc, self.who, self._url(path), self.start_hint,
                          self.options.read_timeout_s if timed else None)

    def _new_client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        return make_client(self.options.base_url, self.options.connect_timeout_s,
                           self.options.read_timeout_s, headers)

    def server(self) -> ServerAddress:
        return server_address(self.options)

    def _server_facts(self) -> JsonObject:
        """The head of ``describe()``: device (declared, else the server and its URL), runtime
        and URL."""
        device = self.options.device or f"{self.server_kind} at {self.options.base_url}"
        return {"device": device, "runtime": self.api, "base_url": self.options.base_url}

    def close(self) -> None:
        client, self._client = self._client, None
        self._model = None
        if client is not None:
            client.close()

    def _objects(self, client: httpx.Client, path: str, body: JsonObject,
                 read: Callable[[httpx.Response], Iterator[JsonObject]]
                 ) -> Generator[tuple[float, JsonObject], None, None]:
        """The JSON objects streamed back by a POST of ``body`` to ``path`` (``read``: NDJSON or
        SSE), each with the clock reading once it was received and parsed. One-line errors for
        a failed status, an error object in the stream, a transport failure. Close it (or read
        it to the end) to end the request."""
        try:
            with client.stream("POST", path, json=body) as r:
                if r.status_code >= 400:
                    raise BackendError(status_error(r, self.who))
                for obj in read(r):
                    t = self.clock.now()
                    if "error" in obj:
                        raise BackendError(f"{self.who}: server error mid-stream: {obj['error']}")
                    yield t, obj
        except httpx.HTTPError as e:
            raise self._failed(e, path) from None

    def _no_model(self) -> BackendError:
        return BackendError(f"{self.who}: no model loaded")
