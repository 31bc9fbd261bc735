"""The ollama backend on hailo-ollama 5.1.1 (tests/fakes/hailo_ollama.py follows its source):
detection, capabilities per flavour, templated prompts, 200-with-error, the fixed version,
dropped options, integer keep_alive, and an ignored num_predict labelled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.backends.base import GenerationRequest, Message, ModelRef, collect
from bench.backends.ollama.backend import OllamaBackend
from bench.backends.ollama.config import OllamaArtifact, OllamaOptions
from bench.errors import ModelLoadError, UserError
from tests.conftest import COMPLETION_WORKLOADS

FAKES = Path(__file__).parent / "fakes"
NAME = "qwen2.5-instruct:1.5b"


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(FAKES))
    import servers as fake_servers

    return fake_servers


def model(name: str = NAME) -> ModelRef:
    return ModelRef("Qwen2.5-1.5B-Instruct", "qwen2.5", 1.54, OllamaArtifact(model=name))


THROUGHPUT = GenerationRequest(kind="throughput", prompt_tokens=32, max_tokens=8, variant=1)


def test_detects_hailo_ollama_and_takes_no_completion(servers: Any) -> None:
    with servers.FakeServer("hailo-ollama", models=(NAME,)) as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url))
        info = backend.load(model())
        why = backend.capabilities.refusal("completion", images=False)
        assert why is not None and "completion" in why
        assert backend.capabilities.refusal("chat", images=False) is None
        described = backend.describe()
        backend.close()
    assert "/hailo/v1/list" in srv.paths()
    assert described["server_flavour"] == "hailo-ollama"
    assert info.extra["server_flavour"] == "hailo-ollama"


def test_plain_ollama_keeps_completion(servers: Any) -> None:
    with servers.FakeServer("ollama") as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url))
        backend.load(model("qwen2.5:1.5b"))
        assert backend.capabilities.refusal("completion", images=False) is None
        assert backend.describe()["server_flavour"] == "ollama"
        backend.close()


def test_declared_flavour_is_not_probed(servers: Any) -> None:
    with servers.FakeServer("hailo-ollama", models=(NAME,)) as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url, flavour="hailo-ollama"))
        backend.load(model())
        backend.close()
    assert "/hailo/v1/list" not in srv.paths()


def test_completion_workload_is_refused_with_a_reason(servers: Any, tmp_path: Path,
                                                      write_config: Any) -> None:
    from bench.runner.session import start_run

    with servers.FakeServer("hailo-ollama", models=(NAME,)) as srv:
        cfg = write_config(f"""
            name: t
            repetitions: 1
            warmup: 0
            models:
              - name: q
                artifacts: {{npu: {{model: "{NAME}"}}}}
            backends:
              - {{name: npu, type: ollama, options: {{base_url: "{srv.url}"}}}}
            {COMPLETION_WORKLOADS}
        """)
        result = start_run(cfg, output_dir=tmp_path / "out", quiet=True)
    (rec,) = list(result.run_dir.cases())
    assert rec["status"] == "failed"
    assert "takes no completion workloads" in rec["error"]["message"]
    assert not srv.templated_prompts  # nothing was sent as a "raw" prompt


def test_throughput_prompt_is_recorded_as_templated(servers: Any) -> None:
    with servers.FakeServer("hailo-ollama", models=(NAME,)) as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url))
        backend.load(model())
        _, stats = collect(backend.generate(THROUGHPUT))
        described = backend.describe()
        backend.close()
    sent = next(r.body for r in srv.requests if r.body and r.body.get("prompt"))
    assert srv.templated_prompts[0].startswith("<|im_start|>system\nYou are Qwen")
    assert sent["prompt"] in srv.templated_prompts[0]
    assert "chat template" in stats.prompt_tokens_method
    assert described["throughput_prompt"] == "text through the model's template"
    assert "ignores raw" in described["prompt_template"]


def test_missing_model_200_with_error_is_an_error(servers: Any) -> None:
    with servers.FakeServer("hailo-ollama", models=(NAME,), catalog=("llama3.2:3b",)) as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url, pull=True))
        with pytest.raises(ModelLoadError, match="model 'qwen9:1b' not found"):
            backend.load(model("qwen9:1b"))
        backend.close()


def test_fixed_version_and_nominal_quant_are_not_recorded_as_facts(servers: Any) -> None:
    with servers.FakeServer("hailo-ollama", models=(NAME,)) as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url))
        info = backend.load(model())
        described = backend.describe()
        backend.close()
    assert described["server_version"] is None
    assert info.extra["server_version_reported"] == "0.5.1"
    assert info.quant is None and info.extra["quantization_level_reported"] == "Q4_0"


def test_unknown_options_are_not_sent_and_recorded_as_dropped(servers: Any) -> None:
    with servers.FakeServer("hailo-ollama", models=(NAME,)) as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url, num_ctx=2048, num_thread=4))
        backend.load(model())
        collect(backend.generate(THROUGHPUT))
        described = backend.describe()
        backend.close()
    sent = next(r.body for r in srv.requests if r.body and r.body.get("prompt"))
    assert "num_ctx" not in sent["options"] and "num_thread" not in sent["options"]
    assert sent["options"]["num_predict"] == 8
    assert described["options_dropped"] == ["num_ctx", "num_thread"]


def test_keep_alive_duration_sent_as_seconds_or_refused(servers: Any) -> None:
    with servers.FakeServer("hailo-ollama", models=(NAME,)) as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url, keep_alive="2h"))
        backend.load(model())
        backend.close()
        assert all(r.body.get("keep_alive") == 7200 for r in srv.requests if r.body)
        bad = OllamaBackend(OllamaOptions(base_url=srv.url, keep_alive="forever"))
        with pytest.raises(UserError, match="whole seconds"):
            bad.load(model())
        bad.close()


def test_ignored_num_predict_is_labelled(servers: Any) -> None:
    with servers.FakeServer("hailo-ollama", models=(NAME,), ignores_num_predict=40,
                            script=servers.Script(eos=False)) as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url))
        backend.load(model())
        events, stats = collect(backend.generate(THROUGHPUT))
        backend.close()
    assert stats.gen_tokens == 40 == len(events)
    assert "ignored num_predict" in stats.gen_tokens_method


def test_chat_answer_counts_streamed_chunks_without_end_token(servers: Any) -> None:
    with servers.FakeServer("hailo-ollama", models=(NAME,),
                            script=servers.Script(tokens=[" Hi", "!"])) as srv:
        backend = OllamaBackend(OllamaOptions(base_url=srv.url))
        backend.load(model())
        _, stats = collect(backend.generate(GenerationRequest(
            kind="chat", max_tokens=16, messages=(Message("user", "Hello"),))))
        backend.close()
    assert stats.gen_tokens == 2 and stats.text == " Hi!" and stats.stop_reason == "eos"


# ---- the fake follows hailo-ollama 5.1.1 (one test per behaviour) -------------------------


def test_fake_generate_for_a_missing_model_is_200_with_an_error_body(servers: Any) -> None:
    import httpx

    with servers.FakeServer("hailo-ollama", models=(NAME,)) as srv:
        r = httpx.post(srv.url + "/api/generate", json={"model": "nope:1b", "prompt": "hi"})
    assert r.status_code == 200 and r.json() == {"error": "model 'nope:1b' not found"}


def test_fake_ignores_raw_and_drops_unknown_options(servers: Any) -> None:
    import httpx

    with servers.FakeServer("hailo-ollama", models=(NAME,)) as srv:
        httpx.post(srv.url + "/api/generate", json={
            "model": NAME, "prompt": "Once upon", "raw": True, "stream": False,
            "options": {"num_predict": 2, "num_ctx": 4096, "num_thread": 4}})
    assert srv.templated_prompts == [
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
        "assistant.<|im_end|>\n<|im_start|>user\nOnce upon<|im_end|>\n<|im_start|>assistant\n"]
    assert srv.options_seen == [{"num_predict": 2}]


def test_fake_keep_alive_must_be_an_integer(servers: Any) -> None:
    import httpx

    with servers.FakeServer("hailo-ollama", models=(NAME,)) as srv:
        bad = httpx.post(srv.url + "/api/generate", json={"model": NAME, "keep_alive": "10m"})
        good = httpx.post(srv.url + "/api/generate", json={"model": NAME, "keep_alive": 600})
    assert bad.status_code == 500 and "keep_alive" in bad.json()["error"]
    assert good.json()["done_reason"] == "load"


def test_fake_version_is_fixed_and_list_has_every_manifest(servers: Any) -> None:
    import httpx

    with servers.FakeServer("hailo-ollama", models=(NAME,), catalog=("llama3.2:3b",)) as srv:
        version = httpx.get(srv.url + "/api/version").json()
        listed = httpx.get(srv.url + "/hailo/v1/list").json()
        tags = httpx.get(srv.url + "/api/tags").json()
    assert version == {"version": "0.5.1"}
    assert listed == {"models": ["llama3.2:3b", NAME]}
    assert [m["name"] for m in tags["models"]] == [NAME]  # only downloaded HEFs
    assert tags["models"][0]["details"]["quantization_level"] == "Q4_0"
