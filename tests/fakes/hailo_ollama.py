"""The "hailo-ollama" flavour of tests/fakes/servers.FakeServer, following hailo-ollama's source.

Source: hailo-ai/hailo_model_zoo_genai tag v5.1.1. Abbreviations:
  CTL  src/library/controller/controller.cpp (MyController)
  HPP  src/library/controller/controller.hpp (the ENDPOINT table)
  DTO  src/library/dto/DTOs.hpp
  CB   src/library/controller/llm_generation_callback.cpp (LLMGenerationReadCallback::read)
  MAN  models/manifests/<name>/<size>/manifest.json
Generation itself (delays, tokens) comes from the server's Script, as for the other flavours.
"""

from __future__ import annotations

import json
import time
from typing import Any

# MAN qwen2/1.5b (Qwen's template, default system turn) reduced to what the fake renders;
# CTL ``generate`` (~534-546) applies it to {"role": "user", "content": prompt}
QWEN_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

# DTO ``ModelParameters`` (~21-31): the only options mapped; any other key is dropped
KNOWN_OPTIONS = {"temperature", "seed", "top_k", "top_p", "frequency_penalty", "num_predict",
                 "use_mlock"}

# CTL ``handle_load_unload`` -> ``convert_keep_alive`` (~144-153): no keep_alive = 300 s
DEFAULT_KEEP_ALIVE_S = 300


def template(messages: list[dict[str, str]]) -> str:
    """Qwen2.5's chat template as hailo-ollama applies it (MAN qwen2.5-instruct chat_template):
    a default system turn when the first message is not a system one."""
    turns = list(messages)
    if not turns or turns[0].get("role") != "system":
        turns.insert(0, {"role": "system", "content": QWEN_SYSTEM})
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n"
                   for m in turns) + "<|im_start|>assistant\n"


def handle(h: Any, server: Any, method: str, body: Any) -> None:
    """Answer one request like hailo-ollama 5.1.1."""
    path = h.path
    if method == "GET" and path == "/api/version":
        # CTL ``version`` (~359-364): "tools might rely on this" -> always "0.5.1"
        return h._json({"version": "0.5.1"})
    if method == "GET" and path == "/hailo/v1/list":
        # HPP ENDPOINT("GET", "/hailo/v1/list", list_all_models); CTL ``list_all_models``
        # (~381-391): every manifest's name, downloaded or not
        return h._json({"models": sorted({*server.models, *server.catalog})})
    if method == "GET" and path == "/api/tags":
        # CTL ``list_models`` (~366-379) + ``get_model_info`` (~111-141): only models whose HEF
        # is on disk; details from the manifest (MAN: quantization_level "Q4_0" for A8W4 HEFs)
        return h._json({"models": [
            {"name": m, "model": m, "size": 1_645_000_000, "modified_at": "2026-01-01T00:00:00Z",
             "details": {"parent_model": "", "format": "hef", "family": "qwen2",
                         "families": ["qwen2"], "parameter_size": "1.5B",
                         "quantization_level": "Q4_0"}}
            for m in server.models]})
    if method == "POST" and path == "/api/pull":
        name = body.get("model") or body.get("name")
        if name not in server.catalog and name not in server.models:
            # CTL ``pull`` (~455-459): 200 with an error body
            return h._json({"error": f"model '{name}' not found"})
        server.models.append(name)
        return h._json({"status": "success"})
    if method != "POST" or path not in ("/api/generate", "/api/chat"):
        return h._json({"error": f"unknown endpoint {path}"}, 404)
    keep_alive = body.get("keep_alive")
    if keep_alive is not None and not isinstance(keep_alive, int):
        # DTO ``Int32 keep_alive``: "10m" does not map (oatpp's mapping error; status assumed)
        return h._json({"error": "[oatpp::json::Deserializer]: Error. Can't deserialize "
                                 f"keep_alive {keep_alive!r} as Int32"}, 500)
    model = body.get("model", "")
    if model not in server.models:
        # CTL ``generate`` (~517-522) / ``chat``: HTTP 200 and an error body
        return h._json({"error": f"model '{model}' not found"})
    chat = path == "/api/chat"
    if (not chat and body.get("prompt") is None) or (chat and body.get("messages") is None):
        # CTL ``handle_load_unload`` (~318-350): keep_alive 0 unloads, otherwise loads
        if keep_alive == 0:
            server.loaded.discard(model)
            return h._json({"model": model, "response": "", "done": True,
                            "done_reason": "unload"})
        server.loaded.add(model)
        return h._json({"model": model, "response": "", "done": True, "done_reason": "load"})
    # CTL ``generate`` (~534-546): ``raw`` is never read; the prompt is always templated
    messages = body["messages"] if chat else [{"role": "user", "content": body["prompt"]}]
    prompt = template(messages)
    server.templated_prompts.append(prompt)
    options = {k: v for k, v in (body.get("options") or {}).items() if k in KNOWN_OPTIONS}
    server.options_seen.append(options)
    limit = int(options.get("num_predict", 128))
    if server.ignores_num_predict is not None:
        limit = server.ignores_num_predict  # a divergent server: not hailo-ollama's behaviour
    tokens, hit_limit = server.generated(limit)
    stream = body.get("stream", True)
    t0 = time.perf_counter()
    if stream:
        h._start_stream("application/x-ndjson")
    time.sleep(server.script.first_delay)
    for i, tok in enumerate(tokens):
        if i:
            time.sleep(server.script.delay)
        if stream:
            chunk: dict[str, Any] = {"model": model, "created_at": "2026-01-01T00:00:00Z",
                                     "done": False}
            chunk.update({"message": {"role": "assistant", "content": tok}} if chat
                         else {"response": tok})
            h._send(json.dumps(chunk).encode() + b"\n")
    # CB ``read`` (~88-113): the end (or recovery) item is not streamed; the final chunk has
    # only done, done_reason, total_duration and eval_count (= streamed chunks)
    final: dict[str, Any] = {"model": model, "created_at": "2026-01-01T00:00:00Z",
                             "done": True, "done_reason": "length" if hit_limit else "stop",
                             "total_duration": int((time.perf_counter() - t0) * 1e9),
                             "eval_count": len(tokens)}
    final.update({"message": {"role": "assistant", "content": ""}} if chat else {"response": ""})
    if not stream:
        return h._json(final)
    h._send(json.dumps(final).encode() + b"\n")
    return None
