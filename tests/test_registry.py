"""The generic registry: lazy entries, one-line errors that list what exists, and a backend
added in tests only (tests/plugins/echo: its folder plus one registry line) run end to end."""

from __future__ import annotations

import sys

import pytest

from bench.config.loader import load_config
from bench.errors import UserError
from bench.registry import BACKENDS, BackendEntry, Registry
from bench.runner.session import start_run


def test_lazy_entry_is_imported_when_first_asked_for():
    sys.modules.pop("tests.plugins.echo.backend", None)
    reg: Registry[object] = Registry("thing", {"echo": "tests.plugins.echo.backend:EchoBackend"})
    assert "tests.plugins.echo.backend" not in sys.modules
    assert reg.names() == ["echo"] and "echo" in reg
    cls = reg.get("echo")
    assert "tests.plugins.echo.backend" in sys.modules
    assert cls.name == "echo"


def test_unknown_name_says_did_you_mean_or_lists_choices():
    reg: Registry[int] = Registry("meter", {"shelly": 1, "tasmota": 2})
    with pytest.raises(UserError, match=r"unknown meter 'shely': did you mean 'shelly'\?"):
        reg.get("shely")
    with pytest.raises(UserError, match=r"unknown meter 'zzz': choose one of: shelly, tasmota"):
        reg.get("zzz")


def test_a_name_is_registered_once_unless_replaced():
    reg: Registry[int] = Registry("thing", {"a": 1})
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a", 2)
    reg.register("a", 2, replace=True)
    assert reg.get("a") == 2


ECHO = """
name: echo-run
clock: virtual
repetitions: 2
warmup: 0
models:
  - {name: Qwen2-1.5B-Instruct}
backends:
  - {name: fake, type: echo, options: {tokens_per_s: 20}}
  - {name: sim, type: mock, options: {profile: hailo10h, jitter: 0}}
workloads:
  - {name: tp, prompt_tokens: 8, gen_tokens: 10}
  - {name: talk, kind: completion, prompts: [Once upon], gen_tokens: 4}
"""


@pytest.fixture
def echo_registered():
    BACKENDS.register("echo", BackendEntry(
        "tests.plugins.echo.config:EchoOptions", "tests.plugins.echo.config:EchoArtifact",
        "tests.plugins.echo.backend:EchoBackend", "a backend added by a test"))
    yield
    BACKENDS.unregister("echo")


def test_unregistered_backend_is_refused_by_the_config(write_config):
    with pytest.raises(UserError, match="unknown backend 'echo'"):
        load_config(write_config(ECHO))


def test_backend_added_in_tests_runs_through_a_config(echo_registered, write_config, tmp_path):
    result = start_run(write_config(ECHO), output_dir=tmp_path, quiet=True)
    recs = {r["case_id"]: r for r in result.run_dir.cases()}
    # the plan reads the test backend's declared flags: no completion workloads
    assert sorted(recs) == ["Qwen2-1.5B-Instruct/fake/tp", "Qwen2-1.5B-Instruct/sim/talk",
                            "Qwen2-1.5B-Instruct/sim/tp"]
    rec = recs["Qwen2-1.5B-Instruct/fake/tp"]
    assert rec["status"] == "ok"
    assert rec["backend"]["type"] == "echo"
    # 10 tokens at 20 t/s on the virtual clock: exactly 20 t/s, from 2 repetitions
    assert rec["summary"]["gen_tps"]["n"] == 2
    assert rec["summary"]["gen_tps"]["median"] == pytest.approx(20.0)


HAILO_OLLAMA = """
name: npu-server
models:
  - {name: qwen, artifacts: {ollama: {model: "qwen2.5-instruct:1.5b"}}}
backends:
  - {name: npu, type: ollama, options: {flavour: %s}}
  - {name: sim, type: mock}
workloads:
  - {name: chat, kind: chat, prompts: [Hello], gen_tokens: 4}
  - {name: cont, kind: completion, prompts: [Once upon], gen_tokens: 4}
"""


def test_declared_hailo_ollama_flavour_skips_completion_in_the_plan(write_config):
    from bench.runner.plan import build_plan

    cfg = load_config(write_config(HAILO_OLLAMA % "hailo-ollama"))
    cases, skipped = build_plan(cfg, backends=["npu"])
    assert [c.case_id for c in cases] == ["qwen/npu/chat"]
    assert [(s.case_id, s.reason) for s in skipped] == [
        ("qwen/npu/cont", "backend 'npu' (ollama) takes no completion workloads "
                          "(raw text prompts)")]
    # auto: known only once the server answers, so the plan keeps the case
    cfg = load_config(write_config(HAILO_OLLAMA % "auto"))
    cases, skipped = build_plan(cfg, backends=["npu"])
    assert [c.case_id for c in cases] == ["qwen/npu/chat", "qwen/npu/cont"] and not skipped


def test_hailo_ollama_alone_refuses_a_completion_only_config(write_config):
    from bench.config.loader import ConfigErrors

    text = (HAILO_OLLAMA % "hailo-ollama").replace(
        "  - {name: chat, kind: chat, prompts: [Hello], gen_tokens: 4}\n", "").replace(
        "  - {name: sim, type: mock}\n", "")
    with pytest.raises(ConfigErrors, match="no backend in this config can take it"):
        load_config(write_config(text))


def test_artifacts_declare_their_model_files():
    from bench.backends.llama_cpp_vlm.config import LlamaCppVLMArtifact
    from bench.registry import model_file_fields

    art = LlamaCppVLMArtifact(gguf="m.gguf", mmproj="p.gguf")
    assert art.named_files() == {"gguf": "m.gguf", "mmproj": "p.gguf"}
    assert model_file_fields("llama_cpp_vlm") == ("gguf", "mmproj")
    assert model_file_fields("hailo") == ("hef",)
    assert model_file_fields("ollama") == ()  # a server's model name is no file
    assert set(model_file_fields()) == {"gguf", "mmproj", "hef"}
