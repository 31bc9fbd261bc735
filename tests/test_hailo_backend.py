"""The hailo backend driven through the Backend interface against the fake hailo_platform."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.backends.base import (
    GenerationRequest,
    Message,
    ModelRef,
    collect,
)
from bench.backends.hailo.config import HailoArtifact, HailoOptions
from bench.errors import BackendError, BackendUnavailable, GenerationTimeout, ModelLoadError
from tests.conftest import COMPLETION_WORKLOADS, completion_reps, hailo_fake


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    monkeypatch.setenv("PIBENCH_CACHE_DIR", str(tmp_path / "cache"))
    with hailo_fake(monkeypatch) as fake_module:
        yield fake_module


def _backend(fake: Any, tmp_path: Path, **opts: Any) -> tuple[Any, ModelRef]:
    from bench.backends.hailo.backend import HailoBackend

    hef = fake.write_hef(tmp_path / "Qwen2.5-1.5B-Instruct.hef")
    backend = HailoBackend(HailoOptions(**opts), clock=fake.STATE.clock)
    model = ModelRef("Qwen2.5-1.5B-Instruct", "qwen2.5", 1.54, HailoArtifact(hef=str(hef)))
    return backend, model


run = collect  # drain a generation: (events, stats)


def test_load_records_hef_and_uses_shared_group(fake: Any, tmp_path: Path) -> None:
    backend, model = _backend(fake, tmp_path)
    clock = fake.STATE.clock
    t0 = clock.now()
    info = backend.load(model)
    assert info.weights == "real"
    assert info.extra["hef_name"] == "Qwen2.5-1.5B-Instruct.hef"
    assert info.file_bytes == 4096
    assert info.sha256 is not None and len(info.sha256) == 64
    assert info.extra["device_load_s"] == pytest.approx(7.5)
    assert clock.now() - t0 == pytest.approx(7.5)
    assert info.extra["max_context_tokens"] == 2048
    assert fake.STATE.calls[0] == ("VDevice", {"group_id": "SHARED",
                                               "scheduling_algorithm": fake.STATE.calls[0][1][
                                                   "scheduling_algorithm"]})
    d = backend.describe()
    assert d["device"] == "Hailo-10H" and d["hailort_version"] == "5.1.1"
    backend.close()
    assert fake.STATE.open_llms == 0 and fake.STATE.open_vdevices == 0
    backend.close()  # safe twice


def test_chat_natural_end_timed_items_end_token_stripped(fake: Any, tmp_path: Path) -> None:
    backend, model = _backend(fake, tmp_path)
    backend.load(model)
    fake.STATE.scripts.append(fake.Script(tokens=[" a", " b", " c"], first_delay=0.5,
                                          delay=0.125))
    clock = fake.STATE.clock
    req = GenerationRequest(kind="chat", max_tokens=16, messages=(Message("user", "abc?"),))
    events, stats = run(backend.generate(req))
    assert [e.text for e in events] == [" a", " b", " c"]
    # token 0 after the prefill delay, then one per 0.125 s; the end token (0.125 s later)
    # is not an event
    assert events[0].t - stats.t_request == pytest.approx(0.5)
    assert [round(b.t - a.t, 6) for a, b in itertools.pairwise(events)] == [0.125, 0.125]
    assert clock.now() - events[-1].t == pytest.approx(0.125)
    assert stats.gen_tokens == 3 and stats.stop_reason == "eos"
    assert stats.text == " a b c" and "<|im_end|>" not in stats.text
    gen_call = next(kw for name, kw in fake.STATE.calls if name == "generate")
    assert gen_call["max_generated_tokens"] == 16
    assert gen_call["do_sample"] is False and gen_call["temperature"] is None
    reads = [kw["timeout_ms"] for name, kw in fake.STATE.calls if name == "read"]
    assert reads == [120000, 30000, 30000, 30000]
    assert "completion.release" in fake.STATE.names()
    assert "set_stop_tokens" not in fake.STATE.names()  # chat keeps the model's stop tokens
    backend.close()


def test_throughput_prompt_is_a_raw_string_counted_by_tokenize(fake: Any, tmp_path: Path
                                                               ) -> None:
    backend, model = _backend(fake, tmp_path)
    backend.load(model)
    req = GenerationRequest(kind="throughput", prompt_tokens=64, max_tokens=4, variant=2)
    _, stats = run(backend.generate(req))
    assert stats.prompt_tokens == 64
    assert "tokenize()" in stats.prompt_tokens_method
    gen_call = next(kw for name, kw in fake.STATE.calls if name == "generate")
    assert isinstance(gen_call["prompt"], str) and gen_call["prompt"].startswith("Sample 2:")
    backend.close()


def test_max_tokens_reached_is_length(fake: Any, tmp_path: Path) -> None:
    backend, model = _backend(fake, tmp_path)
    backend.load(model)
    fake.STATE.scripts.append(fake.Script(eos=False, tokens=[" x"] * 3))
    req = GenerationRequest(kind="throughput", prompt_tokens=16, max_tokens=8)
    events, stats = run(backend.generate(req))
    assert len(events) == 8 and stats.gen_tokens == 8 and stats.stop_reason == "length"
    backend.close()


def test_completion_sends_the_raw_string_counted_by_tokenize(fake: Any, tmp_path: Path
                                                             ) -> None:
    from bench.backends.hailo.backend import HailoBackend

    assert HailoBackend.capabilities.completion  # the runner does not refuse the workload
    backend, model = _backend(fake, tmp_path)
    fake.STATE.end_token = "<|endoftext|>"  # a base model's end token (its stop token)
    backend.load(model)
    fake.STATE.scripts.append(fake.Script(tokens=[" Paris", "."]))
    text = "The capital of France is"
    req = GenerationRequest(kind="completion", max_tokens=16, messages=(Message("user", text),))
    events, stats = run(backend.generate(req))
    gen_call = next(kw for name, kw in fake.STATE.calls if name == "generate")
    # a plain string, used as is by HailoRT: no message list, so no chat template
    assert gen_call["prompt"] == text
    assert gen_call["max_generated_tokens"] == 16 and gen_call["do_sample"] is False
    # counted exactly on the card, before the request
    names = fake.STATE.names()
    assert ("tokenize", {"chars": len(text)}) in fake.STATE.calls
    assert names.index("tokenize") < names.index("generate")
    assert stats.prompt_tokens == len(backend._llm.tokenize(text)) == 5
    assert stats.prompt_tokens_method == "tokenize() on the card, raw text prompt"
    # stops at the end of generation; the end token is neither counted nor kept
    assert [e.text for e in events] == [" Paris", "."]
    assert stats.gen_tokens == 2 and stats.stop_reason == "eos"
    assert stats.text == " Paris."
    assert "raw string" in backend.describe()["completion_prompt"]
    backend.close()


def test_completion_stops_at_max_tokens(fake: Any, tmp_path: Path) -> None:
    backend, model = _backend(fake, tmp_path)
    backend.load(model)
    fake.STATE.scripts.append(fake.Script(eos=False, tokens=[" upon", " a", " time"]))
    req = GenerationRequest(kind="completion", max_tokens=5,
                            messages=(Message("user", "Once"),))
    events, stats = run(backend.generate(req))
    assert len(events) == 5 and stats.gen_tokens == 5 and stats.stop_reason == "length"
    assert stats.prompt_tokens == 1
    backend.close()


def test_completion_workload_end_to_end(fake: Any, tmp_path: Path, write_config: Any) -> None:
    from bench.runner.session import start_run

    # the fake's delays pass on its own virtual clock (instant); the runner reads the real one
    fake.STATE.default_script = fake.Script(tokens=[" Paris", "."])
    hef = fake.write_hef(tmp_path / "base.hef")
    cfg = write_config(f"""
        name: t
        repetitions: 2
        warmup: 1
        models:
          - name: base
            artifacts: {{npu: {{hef: "{hef}"}}}}
        backends:
          - {{name: npu, type: hailo, options: {{hash_model: false}}}}
        {COMPLETION_WORKLOADS}
    """)
    result = start_run(cfg, output_dir=tmp_path / "out", quiet=True)
    reps = completion_reps(result)
    assert [r["prompt_tokens"] for r in reps] == [5, 4]
    assert all(r["prompt_tokens_method"].startswith("tokenize()") for r in reps)
    assert [(r["gen_tokens"], r["stop_reason"], r["text"]) for r in reps] == [
        (2, "eos", " Paris."), (2, "eos", " Paris.")]
    prompts = [kw["prompt"] for name, kw in fake.STATE.calls if name == "generate"]
    assert prompts == ["The capital of France is"] * 2 + ["Once upon a time"]  # warm-up first


def test_incomplete_utf8_is_an_empty_item_counted_as_a_token(fake: Any, tmp_path: Path
                                                               ) -> None:
    backend, model = _backend(fake, tmp_path)
    backend.load(model)
    # "é" is two bytes split over two model tokens: an empty item, then "é"
    fake.STATE.scripts.append(fake.Script(tokens=[" caf", b"\xc3", b"\xa9", "!"]))
    req = GenerationRequest(kind="chat", max_tokens=32,
                            messages=(Message("user", "Say café"),))
    events, stats = run(backend.generate(req))
    assert [e.text for e in events] == [" caf", "", "é", "!"]
    assert stats.gen_tokens == 4 and stats.text == " café!"
    assert stats.gen_tokens_method.startswith("exact")
    assert stats.prompt_tokens is None and "unknown" in stats.prompt_tokens_method
    gen_call = next(kw for name, kw in fake.STATE.calls if name == "generate")
    assert gen_call["prompt"] == [{"role": "user", "content": "Say café"}]
    backend.close()


def test_sampling_passed_when_temperature_positive(fake: Any, tmp_path: Path) -> None:
    from bench.backends.base import Sampling

    backend, model = _backend(fake, tmp_path)
    backend.load(model)
    req = GenerationRequest(kind="chat", max_tokens=4, messages=(Message("user", "hi"),),
                            sampling=Sampling(temperature=0.7, seed=5, top_k=40, top_p=0.9))
    run(backend.generate(req))
    call = next(kw for name, kw in fake.STATE.calls if name == "generate")
    assert (call["temperature"], call["seed"], call["top_k"], call["top_p"], call["do_sample"]
            ) == (0.7, 5, 40, 0.9, True)
    backend.close()


def test_reset_clears_context(fake: Any, tmp_path: Path) -> None:
    backend, model = _backend(fake, tmp_path)
    backend.load(model)
    run(backend.generate(GenerationRequest(kind="throughput", prompt_tokens=32, max_tokens=4)))
    backend.reset()
    assert fake.STATE.names().count("clear_context") == 1
    assert fake.STATE.kv_cache_holder is not None
    backend.close()
    assert fake.STATE.kv_cache_holder is None


def test_first_read_timeout_is_one_line(fake: Any, tmp_path: Path) -> None:
    backend, model = _backend(fake, tmp_path, first_read_timeout_s=2.0)
    backend.load(model)
    fake.STATE.scripts.append(fake.Script(first_delay=5.0))
    req = GenerationRequest(kind="throughput", prompt_tokens=32, max_tokens=4)
    with pytest.raises(GenerationTimeout) as err:
        run(backend.generate(req))
    msg = str(err.value)
    assert "\n" not in msg and "first token" in msg and "first_read_timeout_s" in msg
    assert "completion.release" in fake.STATE.names()
    # a timeout does not make the backend unusable
    _events, stats = run(backend.generate(req))
    assert stats.gen_tokens > 0
    backend.close()


def test_card_disappearing_mid_run(fake: Any, tmp_path: Path) -> None:
    backend, model = _backend(fake, tmp_path)
    backend.load(model)
    fake.STATE.scripts.append(fake.Script(fail_at=3))
    req = GenerationRequest(kind="throughput", prompt_tokens=32, max_tokens=16)
    gen = backend.generate(req)
    got = [next(gen) for _ in range(3)]
    assert len(got) == 3
    with pytest.raises(BackendError) as err:
        next(gen)
    assert "stopped answering" in str(err.value) and "dmesg" in str(err.value)
    with pytest.raises(BackendError, match="unusable"):
        run(backend.generate(req))
    backend.close()  # releases without raising
    assert fake.STATE.open_vdevices == 0


def test_kv_cache_held_by_hailo_ollama(fake: Any, tmp_path: Path) -> None:
    fake.STATE.kv_cache_external = "hailo-ollama"
    backend, model = _backend(fake, tmp_path)
    with pytest.raises(BackendUnavailable) as err:
        backend.load(model)
    msg = str(err.value)
    assert "KV cache" in msg and "hailo-ollama" in msg and "keep_alive 0" in msg
    assert fake.STATE.open_vdevices == 0  # the VDevice was released after the failure


def test_second_llm_in_process_gets_kv_cache_error(fake: Any, tmp_path: Path) -> None:
    first, model = _backend(fake, tmp_path)
    first.load(model)
    second, _ = _backend(fake, tmp_path)
    with pytest.raises(BackendUnavailable, match="KV cache"):
        second.load(model)
    first.close()
    second.load(model)  # works once the first released the card
    second.close()


def test_hef_for_another_chip(fake: Any, tmp_path: Path) -> None:
    backend, model = _backend(fake, tmp_path)
    fake.write_hef(model.artifact.hef, arch="HAILO8L")
    with pytest.raises(ModelLoadError, match="not compiled for this chip"):
        backend.load(model)


def test_invalid_and_missing_hef(fake: Any, tmp_path: Path) -> None:
    backend, model = _backend(fake, tmp_path)
    Path(model.artifact.hef).write_bytes(b"<html>not found</html>")
    with pytest.raises(ModelLoadError, match="not a valid HEF"):
        backend.load(model)
    missing = ModelRef("m", None, None, HailoArtifact(hef=str(tmp_path / "nope.hef")))
    with pytest.raises(ModelLoadError, match="fetch-pi-models"):
        backend.load(missing)


def test_no_device(fake: Any, tmp_path: Path) -> None:
    fake.STATE.devices = 0
    backend, model = _backend(fake, tmp_path)
    with pytest.raises(BackendUnavailable, match="no free Hailo device"):
        backend.load(model)


def test_device_held_by_another_process_in_unique_group(fake: Any, tmp_path: Path) -> None:
    fake.STATE.other_process_group = "UNIQUE"
    backend, model = _backend(fake, tmp_path)
    with pytest.raises(BackendUnavailable, match="holds the device"):
        backend.load(model)


def test_not_installed_names_apt_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path
                                         ) -> None:
    from bench.backends.hailo.backend import HailoBackend

    monkeypatch.setitem(sys.modules, "hailo_platform", None)  # import fails like a missing one
    monkeypatch.delitem(sys.modules, "hailo_platform.genai", raising=False)
    hef = tmp_path / "m.hef"
    hef.write_bytes(b"x")
    backend = HailoBackend(HailoOptions())
    with pytest.raises(BackendUnavailable) as err:
        backend.load(ModelRef("m", None, None, HailoArtifact(hef=str(hef))))
    msg = str(err.value)
    assert "hailo-h10-all" in msg and "--system-site-packages" in msg and "\n" not in msg
