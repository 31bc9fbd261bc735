"""The ollama backend against fake Ollama and hailo-ollama servers on 127.0.0.1."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from bench.backends.base import (
    GenerationRequest,
    Message,
    ModelRef,
    Sampling,
    collect,
)
from bench.backends.ollama.backend import OllamaBackend
from bench.backends.ollama.config import OllamaArtifact, OllamaOptions
from bench.errors import BackendError, BackendUnavailable, ModelLoadError
from tests.conftest import COMPLETION_WORKLOADS, completion_reps

FAKES = Path(__file__).parent / "fakes"


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(FAKES))
    import servers as fake_servers

    return fake_servers


run = collect  # drain a generation: (events, stats)


def model(name: str = "qwen2.5:1.5b") -> ModelRef:
    return ModelRef("Qwen2.5-1.5B-Instruct", "qwen2.5", 1.54, OllamaArtifact(model=name))


THROUGHPUT = GenerationRequest(kind="throughput", prompt_tokens=64, max_tokens=32, variant=1)
CHAT = GenerationRequest(kind="chat", max_tokens=32, messages=(Message("user", "Hello?"),),
                         sampling=Sampling(temperature=0.0, seed=7))
BASE_TEXT = "The capital of France is"
COMPLETION = GenerationRequest(kind="completion", max_tokens=16,
                               messages=(Message("user", BASE_TEXT),),
                               sampling=Sampling(temperature=0.0, seed=3, top_k=20))


def test_ollama_throughput_uses_all_server_fields(servers: Any) -> None:
    with servers.FakeServer("ollama") as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url, device="Pi 5 CPU"))
        info = backend.load(model())
        assert info.weights == "real" and info.quant == "Q4_K_M" and info.file_bytes == 986061892
        assert info.extra["server_version"] == "0.6.0"
        events, stats = run(backend.generate(THROUGHPUT))
        backend.close()
    assert len(events) == 12 and all(e.n == 1 for e in events)
    assert events[0].t >= stats.t_request
    assert [e.t for e in events] == sorted(e.t for e in events)
    assert stats.text == "".join(f" w{i}" for i in range(12))
    assert stats.gen_tokens == 12 and stats.gen_tokens_method == "server eval_count"
    assert stats.prompt_tokens is not None and stats.prompt_tokens > 0
    assert stats.prompt_tokens_method.startswith("server prompt_eval_count")
    assert stats.stop_reason == "eos"
    internal = stats.internal or {}
    assert set(internal["fields_present"]) == {
        "total_duration", "load_duration", "prompt_eval_duration", "eval_duration",
        "prompt_eval_count", "eval_count"}
    assert internal["gen_ms"] > 0 and internal["prompt_ms"] > 0
    body = next(r.body for r in srv.requests if r.path == "/api/generate" and r.body.get("prompt"))
    assert body["raw"] is True and body["stream"] is True
    assert body["options"] == {"num_predict": 32, "temperature": 0.0, "seed": 0}
    assert body["prompt"].startswith("Sample 1:")
    assert backend.describe()["device"] == "Pi 5 CPU"


def test_hailo_ollama_missing_fields_are_null_not_guessed(servers: Any) -> None:
    with servers.FakeServer("hailo-ollama", models=("qwen2.5-instruct:1.5b",)) as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url))
        backend.load(model("qwen2.5-instruct:1.5b"))
        events, stats = run(backend.generate(CHAT))
        backend.close()
    assert len(events) == 12
    assert stats.prompt_tokens is None and stats.prompt_tokens_method.startswith("unknown")
    assert stats.gen_tokens == 12 and stats.gen_tokens_method == "server eval_count"
    internal = stats.internal or {}
    assert internal["fields_present"] == ["total_duration", "eval_count"]
    assert "eval_duration" in internal["fields_missing"]
    assert "gen_ms" not in internal and "prompt_ms" not in internal
    assert internal["total_ms"] > 0
    chat = next(r.body for r in srv.requests if r.path == "/api/chat")
    assert chat["messages"] == [{"role": "user", "content": "Hello?"}]
    assert chat["options"]["seed"] == 7


def test_length_stop_and_flush_between_repetitions(servers: Any) -> None:
    script = servers.Script(eos=False)
    with servers.FakeServer("ollama", script=script) as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url))
        backend.load(model())
        _, first = run(backend.generate(CHAT))
        backend.reset()
        _, second = run(backend.generate(CHAT))
        # without the flush the same prompt would be served from the cached prefix
        backend.options.__dict__["fresh_context"] = "none"
        backend.reset()
        _, third = run(backend.generate(CHAT))
        backend.close()
    assert first.stop_reason == "length" and first.gen_tokens == 32
    assert second.prompt_tokens == first.prompt_tokens
    assert third.prompt_tokens == 1  # cache reuse: what the flush protects against
    # ...and the recorded method says that such a count may be only the uncached part
    assert first.prompt_tokens_method == "server prompt_eval_count"
    assert third.prompt_tokens_method.startswith("server prompt_eval_count (only the part not")
    flushes = [r.body for r in srv.requests if (r.body or {}).get("prompt") == "Flush."]
    assert len(flushes) == 1 and flushes[0]["options"] == {"num_predict": 1}


def test_throughput_prompts_differ_per_variant(servers: Any) -> None:
    with servers.FakeServer("ollama") as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url, fresh_context="none"))
        backend.load(model())
        _, a = run(backend.generate(THROUGHPUT))
        _, b = run(backend.generate(GenerationRequest(kind="throughput", prompt_tokens=64,
                                                      max_tokens=32, variant=2)))
        backend.close()
    # the second prompt shares no prefix with the first: fully evaluated
    assert a.prompt_tokens is not None and b.prompt_tokens is not None
    assert b.prompt_tokens > 40


def test_completion_is_raw_generate_whatever_the_raw_option(servers: Any) -> None:
    assert OllamaBackend.capabilities.completion  # the runner does not refuse the workload
    script = servers.Script(tokens=[" Paris", "."])
    with servers.FakeServer("ollama", script=script) as srv:
        # raw: false only concerns throughput prompts; a completion is never templated
        backend = OllamaBackend(OllamaOptions(base_url=srv.url, raw=False, num_ctx=2048))
        backend.load(model())
        events, stats = run(backend.generate(COMPLETION))
        described = backend.describe()
        backend.close()
    generations = [r for r in srv.requests if r.path == "/api/generate" and r.body.get("prompt")]
    assert len(generations) == 1 and "/api/chat" not in srv.paths()
    assert generations[0].body == {
        "model": "qwen2.5:1.5b", "prompt": BASE_TEXT, "raw": True, "stream": True,
        "options": {"num_predict": 16, "temperature": 0.0, "seed": 3, "top_k": 20,
                    "num_ctx": 2048}}
    # the server's count is the raw text's: no template tokens around it
    assert stats.prompt_tokens == len(servers.tokenize(BASE_TEXT)) == 5
    assert stats.prompt_tokens_method == "server prompt_eval_count"
    assert [e.text for e in events] == [" Paris", "."]
    assert stats.gen_tokens == 2 and stats.gen_tokens_method == "server eval_count"
    assert stats.stop_reason == "eos" and stats.text == " Paris."
    assert described["throughput_prompt"] == "text through the model's template"
    assert "raw=true" in described["completion_prompt"]


def test_empty_completion_prompt_is_refused(servers: Any) -> None:
    with servers.FakeServer("ollama") as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url))
        backend.load(model())
        n = len(srv.requests)
        req = GenerationRequest(kind="completion", max_tokens=8, messages=(Message("user", ""),))
        with pytest.raises(BackendError, match="non-empty prompt"):
            run(backend.generate(req))
        backend.close()
    assert len(srv.requests) == n  # an empty prompt would only have (re)loaded the model


def test_completion_workload_end_to_end(servers: Any, write_config: Any, tmp_path: Path
                                        ) -> None:
    from bench.runner.session import start_run

    with servers.FakeServer("ollama", script=servers.Script(tokens=[" Paris", "."])) as srv:
        cfg = write_config(f"""
            name: t
            repetitions: 2
            warmup: 1
            models:
              - name: base
                artifacts: {{srv: {{model: "qwen2.5:1.5b"}}}}
            backends:
              - {{name: srv, type: ollama, options: {{base_url: "{srv.url}"}}}}
            {COMPLETION_WORKLOADS}
        """)
        result = start_run(cfg, output_dir=tmp_path / "out", quiet=True)
    reps = completion_reps(result)
    # the flush before each repetition: every prompt is evaluated in full
    assert [r["prompt_tokens"] for r in reps] == [5, 4]
    assert all(r["prompt_tokens_method"] == "server prompt_eval_count" for r in reps)
    assert [(r["gen_tokens"], r["stop_reason"], r["text"]) for r in reps] == [
        (2, "eos", " Paris."), (2, "eos", " Paris.")]
    sent = [r.body for r in srv.requests
            if r.path == "/api/generate" and (r.body or {}).get("prompt") not in (None, "Flush.")]
    assert [b["prompt"] for b in sent] == ["The capital of France is"] * 2 + ["Once upon a time"]
    assert all(b["raw"] is True and b["stream"] is True for b in sent)


def test_missing_model_without_pull_is_one_line(servers: Any) -> None:
    with servers.FakeServer("ollama") as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url))
        with pytest.raises(ModelLoadError) as err:
            backend.load(model("llama3.2:3b"))
        backend.close()
    msg = str(err.value)
    assert "ollama pull llama3.2:3b" in msg and "pull: true" in msg and "\n" not in msg
    assert "/api/pull" not in srv.paths()


def test_missing_model_pulled_when_allowed(servers: Any) -> None:
    with servers.FakeServer("ollama") as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url, pull=True))
        backend.load(model("llama3.2:3b"))
        backend.close()
    assert "/api/pull" in srv.paths()
    assert "llama3.2:3b" in srv.loaded


def test_unload_after_sends_keep_alive_zero(servers: Any) -> None:
    with servers.FakeServer("hailo-ollama", models=("qwen2:1.5b",)) as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url, unload_after=True,
                                              keep_alive="10m"))
        backend.load(model("qwen2:1.5b"))
        assert "qwen2:1.5b" in srv.loaded
        run(backend.generate(CHAT))
        backend.close()
        backend.close()
    assert "qwen2:1.5b" not in srv.loaded
    last = srv.requests[-1].body
    assert last == {"model": "qwen2:1.5b", "keep_alive": 0}
    # hailo-ollama maps keep_alive as integer seconds only: "10m" is sent as 600
    assert all(r.body.get("keep_alive") == 600 for r in srv.requests[:-1] if r.body)


def test_connection_refused_names_url_and_server() -> None:
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    backend = OllamaBackend(OllamaOptions(base_url=url))
    with pytest.raises(BackendUnavailable) as err:
        backend.load(model())
    msg = str(err.value)
    assert url in msg and "ollama serve" in msg and "hailo-ollama" in msg and "\n" not in msg
    backend.close()


def test_generate_without_load_is_an_error() -> None:
    backend = OllamaBackend(OllamaOptions())
    with pytest.raises(BackendError, match="no model loaded"):
        run(backend.generate(CHAT))
