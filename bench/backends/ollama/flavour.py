"""Which server answers the Ollama API: the real Ollama, or hailo-ollama (the Hailo-10H NPU).

They differ where a benchmark cares (hailo-ai/hailo_model_zoo_genai v5.1.1, cited in
tests/fakes/hailo_ollama.py): hailo-ollama ignores ``raw`` (/api/generate
always applies the chat template, so it has no raw completion and its prompts are longer than
the text sent), answers a missing model with HTTP 200 and an ``{"error": ...}`` body, always
reports version "0.5.1", lists quantization "Q4_0" for A8W4 models, takes ``keep_alive`` only
as integer seconds, and drops options it does not know (num_ctx, num_thread).

Detection: ``GET /hailo/v1/list`` answers ``{"models": [...]}`` on hailo-ollama only (Ollama:
404); the option ``flavour`` can declare it instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import httpx

from bench.backends.base import Capabilities
from bench.backends.ollama.config import CAPABILITIES, HAILO_OLLAMA_CAPABILITIES
from bench.common import Json, JsonObject
from bench.errors import BackendError, ModelLoadError, UserError

Name = Literal["ollama", "hailo-ollama"]

HAILO_OPTIONS = frozenset({"temperature", "seed", "top_k", "top_p", "frequency_penalty",
                           "num_predict", "use_mlock"})
"""The options hailo-ollama 5.1.1 maps (src/library/dto/DTOs.hpp ``ModelParameters``); any other
key is dropped without a word."""


@dataclass(frozen=True)
class Flavour:
    name: Name
    capabilities: Capabilities
    templated_generate: bool
    """/api/generate applies the chat template whatever ``raw`` says."""
    known_options: frozenset[str] | None
    """Options the server maps; None: all of Ollama's."""
    version_is_fixed: bool
    """/api/version answers a constant, not the server's version."""
    quant_is_nominal: bool
    """/api/tags details.quantization_level is not the model's real scheme."""
    keep_alive_seconds_only: bool


OLLAMA = Flavour("ollama", CAPABILITIES, templated_generate=False, known_options=None,
                 version_is_fixed=False, quant_is_nominal=False, keep_alive_seconds_only=False)
HAILO_OLLAMA = Flavour(
    "hailo-ollama",
    HAILO_OLLAMA_CAPABILITIES,  # raw is ignored: no raw completion
    templated_generate=True, known_options=HAILO_OPTIONS, version_is_fixed=True,
    quant_is_nominal=True, keep_alive_seconds_only=True)
FLAVOURS: dict[str, Flavour] = {"ollama": OLLAMA, "hailo-ollama": HAILO_OLLAMA}


def detect(client: httpx.Client, declared: str) -> Flavour:
    """The declared flavour, or (``auto``) hailo-ollama when ``/hailo/v1/list`` answers a model
    list, else Ollama."""
    if declared != "auto":
        return FLAVOURS[declared]
    try:
        r = client.get("/hailo/v1/list")
    except httpx.HTTPError:
        return OLLAMA
    if r.status_code != 200:
        return OLLAMA
    try:
        body = r.json()
    except ValueError:
        return OLLAMA
    models = body.get("models") if isinstance(body, dict) else None
    return HAILO_OLLAMA if isinstance(models, list) else OLLAMA


def error_in_body(answer: Json, who: str, what: str) -> None:
    """hailo-ollama 5.1.1 answers a missing model with HTTP 200 and ``{"error": "model 'x' not
    found"}`` (controller.cpp ``generate``/``chat``/``show``/``pull``): an error all the same."""
    message = answer.get("error") if isinstance(answer, Mapping) else None
    if isinstance(message, str):
        cls = ModelLoadError if "not found" in message else BackendError
        raise cls(f"{who}: {what}: the server answered an error: {message}")


_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_S = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def keep_alive(value: int | str | None, flavour: Flavour) -> int | str | None:
    """``keep_alive`` as this server takes it: hailo-ollama maps only an integer number of
    seconds (DTOs.hpp ``Int32 keep_alive``; negative = forever), so "10m" becomes 600."""
    if value is None or not flavour.keep_alive_seconds_only or isinstance(value, int):
        return value
    m = _DURATION.match(value)
    if not m:
        raise UserError(f"ollama backend: keep_alive {value!r} is not a duration hailo-ollama "
                        "can take: give whole seconds (e.g. 600; -1 keeps the model loaded)")
    return round(float(m.group(1)) * _UNIT_S[m.group(2)])


def split_options(options: JsonObject, flavour: Flavour) -> tuple[JsonObject, list[str]]:
    """(options to send, names the server would drop). Dropped options are not sent, and the
    record says so, rather than pretend they applied."""
    if flavour.known_options is None:
        return options, []
    kept = {k: v for k, v in options.items() if k in flavour.known_options}
    return kept, sorted(k for k in options if k not in flavour.known_options)


def describe(flavour: Flavour, dropped: list[str]) -> JsonObject:
    """What the record says about the flavour (added to the backend's describe())."""
    out: JsonObject = {"server_flavour": flavour.name}
    if flavour.templated_generate:
        out["prompt_template"] = ("applied by the server to every prompt: hailo-ollama ignores "
                                  "raw and sends the text as a user message through the model's "
                                  "chat template (with its default system turn, e.g. Qwen's)")
    if dropped:
        out["options_dropped"] = dropped
    return out


TEMPLATED_METHOD = " (prompt sent through the model's chat template by hailo-ollama: raw ignored)"


def length_note(gen_tokens: int, asked: int) -> str:
    """A gen_tokens_method suffix when the server generated more than num_predict asked."""
    if gen_tokens > asked:
        return (f"; the server generated {gen_tokens} tokens for num_predict {asked}: it "
                "ignored num_predict")
    return ""
