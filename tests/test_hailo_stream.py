"""The HailoRT GenAI stream as HailoRT 5.1.1/5.2.0 send it, through the fake and the backends.

One test per behaviour of the fake (tests/fakes/hailo_platform/pyhailort/_llm.py, each with its
source citation), then the issue's acceptance cases: exact-length throughput on the NPU (8 and
128 tokens, no end token, t/s within 2 % of the fake's rate), the natural end of a chat, a
greedy VLM request, and HailoRT 5.0.x refused with one line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.backends.base import GenerationRequest, Message, ModelRef, collect
from bench.backends.hailo.config import HailoArtifact, HailoOptions
from bench.errors import BackendError, BackendUnavailable
from tests.conftest import hailo_fake, hailo_modules


@pytest.fixture(params=["5.1.1", "5.2.0"])
def fake(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
         tmp_path: Path) -> Iterator[Any]:
    with hailo_fake(monkeypatch, request.param) as fake_module:
        yield fake_module


def _llm(fake: Any, tmp_path: Path) -> Any:
    from hailo_platform import genai

    hef = fake.write_hef(tmp_path / "m.hef")
    return genai.LLM(genai.VDevice(), str(hef))


def _drain(completion: Any) -> list[tuple[str, str]]:
    """(item, status after it) until the status is not GENERATING."""
    out = []
    with completion:
        while completion.generation_status.name == "GENERATING":
            item = completion.read()
            out.append((item, completion.generation_status.name))
    return out


# ---- the fake follows HailoRT ------------------------------------------------------------


def test_fake_max_tokens_sends_one_recovery_item_carrying_the_status(fake: Any,
                                                                     tmp_path: Path) -> None:
    llm = _llm(fake, tmp_path)
    fake.STATE.scripts.append(fake.Script(eos=False, tokens=[" x"] * 10, delay=0.1))
    t0 = fake.STATE.clock.now()
    items = _drain(llm.generate("go", max_generated_tokens=3))
    assert items == [(" x", "GENERATING"), (" x", "GENERATING"), (" x", "GENERATING"),
                     ("<|im_end|>", "MAX_TOKENS_REACHED")]
    # the recovery item arrives at once: 3 tokens took 3 intervals (0.3 s first + 2 x 0.1)
    assert fake.STATE.clock.now() - t0 == pytest.approx(0.3 + 0.2)


def test_fake_empty_recovery_sequence_puts_the_status_on_the_last_token(fake: Any,
                                                                        tmp_path: Path) -> None:
    llm = _llm(fake, tmp_path)
    llm.set_generation_recovery_sequence("")
    fake.STATE.scripts.append(fake.Script(eos=False, tokens=[" x"] * 10))
    items = _drain(llm.generate("go", max_generated_tokens=2))
    assert items == [(" x", "GENERATING"), (" x", "MAX_TOKENS_REACHED")]


def test_fake_natural_end_is_the_stop_token_item(fake: Any, tmp_path: Path) -> None:
    llm = _llm(fake, tmp_path)
    fake.STATE.scripts.append(fake.Script(tokens=[" a"]))
    items = _drain(llm.generate("go", max_generated_tokens=8))
    assert items == [(" a", "GENERATING"), ("<|im_end|>", "LOGICAL_END_OF_GENERATION")]


def test_fake_incomplete_utf8_is_an_empty_item(fake: Any, tmp_path: Path) -> None:
    llm = _llm(fake, tmp_path)
    fake.STATE.scripts.append(fake.Script(tokens=[b"\xc3", b"\xa9"]))
    items = _drain(llm.generate("go", max_generated_tokens=8))
    assert [i for i, _ in items] == ["", "é", "<|im_end|>"]


def test_fake_set_stop_tokens_empty_removes_the_end_of_sentence(fake: Any,
                                                                tmp_path: Path) -> None:
    llm = _llm(fake, tmp_path)
    assert llm.get_stop_tokens() == ["<|im_end|>"]
    llm.set_stop_tokens([])
    assert llm.get_stop_tokens() == []
    fake.STATE.scripts.append(fake.Script(tokens=[" a"]))
    items = _drain(llm.generate("go", max_generated_tokens=4))
    # the end token is now an ordinary token; the generation runs to the limit
    assert [i for i, _ in items] == [" a", "<|im_end|>", " more", " more", "<|im_end|>"]
    assert items[-1][1] == "MAX_TOKENS_REACHED"


@pytest.mark.parametrize(("kwargs", "detail"), [
    ({"temperature": 0}, "Temperature should be higher than '0'"),
    ({"do_sample": False, "temperature": 0.0}, "Temperature should be higher than '0'"),
    ({"top_k": 0}, "top_k should be greater than or equal to '1'"),
    ({"top_p": 1.5}, "top_p should be in range [0, 1]"),
])
def test_fake_validates_generator_params(fake: Any, tmp_path: Path, kwargs: dict[str, Any],
                                         detail: str) -> None:
    from hailo_platform.pyhailort.pyhailort import HailoRTInvalidArgumentException

    llm = _llm(fake, tmp_path)
    with pytest.raises(HailoRTInvalidArgumentException, match="Invalid argument"):
        llm.generate("go", max_generated_tokens=4, **kwargs)
    assert detail in fake.STATE.log[-1]


def test_fake_greedy_without_temperature_is_accepted(fake: Any, tmp_path: Path) -> None:
    llm = _llm(fake, tmp_path)
    assert _drain(llm.generate("go", max_generated_tokens=1, do_sample=False))


def test_fake_read_after_the_end_raises(fake: Any, tmp_path: Path) -> None:
    from hailo_platform.pyhailort.pyhailort import HailoRTInvalidOperationException

    llm = _llm(fake, tmp_path)
    completion = llm.generate("go", max_generated_tokens=1)
    _drain(completion)
    with pytest.raises(HailoRTInvalidOperationException):
        completion.read()
    assert "read() cannot be called after generation completed!" in fake.STATE.log[-1]


def test_fake_signatures_follow_the_version(fake: Any, tmp_path: Path) -> None:
    import inspect

    from hailo_platform import genai

    params = list(inspect.signature(genai.LLM.generate).parameters)
    assert params[:3] == (["self", "prompt", "tools"] if fake.STATE.version == "5.2.0"
                          else ["self", "prompt", "temperature"])
    assert "optimize_memory_on_device" in inspect.signature(genai.LLM.__init__).parameters
    fake.set_version("5.0.1")
    assert "optimize_memory_on_device" not in inspect.signature(genai.LLM.__init__).parameters
    assert "optimize_memory_on_device" not in inspect.signature(genai.VLM.__init__).parameters
    with pytest.raises(TypeError):
        genai.LLM(genai.VDevice(), str(fake.write_hef(tmp_path / "m.hef")), "",
                  optimize_memory_on_device=False)


# ---- the backends on that stream ----------------------------------------------------------


def _backend(fake: Any, tmp_path: Path) -> tuple[Any, ModelRef]:
    from bench.backends.hailo.backend import HailoBackend

    hef = fake.write_hef(tmp_path / "Qwen2.5-1.5B-Instruct.hef")
    backend = HailoBackend(HailoOptions(hash_model=False), clock=fake.STATE.clock)
    return backend, ModelRef("q", "qwen2.5", 1.5, HailoArtifact(hef=str(hef)))


@pytest.mark.parametrize("n", [8, 128])
def test_throughput_case_records_exactly_n_tokens_at_the_fakes_rate(
        fake: Any, tmp_path: Path, write_config: Any, monkeypatch: pytest.MonkeyPatch,
        n: int) -> None:
    from bench.runner import session

    # the model would end after 3 tokens; the rate is 1 / 0.125 s = 8 tokens/s
    fake.STATE.default_script = fake.Script(tokens=[" a", " b", " c"], first_delay=0.4,
                                            delay=0.125)
    monkeypatch.setattr(session, "make_clock", lambda cfg: fake.STATE.clock)
    hef = fake.write_hef(tmp_path / "q.hef")
    cfg = write_config(f"""
        name: t
        repetitions: 2
        warmup: 0
        models:
          - name: q
            artifacts: {{npu: {{hef: "{hef}"}}}}
        backends:
          - {{name: npu, type: hailo, options: {{hash_model: false}}}}
        workloads:
          - {{name: w, kind: throughput, prompt_tokens: 16, gen_tokens: {n}}}
    """)
    result = session.start_run(cfg, output_dir=tmp_path / "out", quiet=True)
    (rec,) = list(result.run_dir.cases())
    assert rec["status"] == "ok"
    for rep in rec["reps"]:
        assert rep["gen_tokens"] == n and rep["stop_reason"] == "length"
        assert len(rep["token_t"]) == n
    assert rec["backend"]["capabilities"]["exact_gen_tokens"] is True
    tps = rec["summary"]["gen_tps"]["median"]
    assert abs(tps - 8.0) / 8.0 < 0.02
    assert ("set_stop_tokens", {"stop_tokens": []}) in fake.STATE.calls


def test_throughput_text_has_no_end_token_and_chat_gets_stops_back(fake: Any,
                                                                   tmp_path: Path) -> None:
    backend, model = _backend(fake, tmp_path)
    backend.load(model)
    fake.STATE.scripts.append(fake.Script(eos=False, tokens=[" w"] * 16))
    _, stats = collect(backend.generate(GenerationRequest(kind="throughput", prompt_tokens=8,
                                                          max_tokens=8)))
    assert stats.gen_tokens == 8 and "<|im_end|>" not in stats.text
    assert backend._llm.get_stop_tokens() == []
    fake.STATE.scripts.append(fake.Script(tokens=[" yes"]))
    _, stats = collect(backend.generate(GenerationRequest(
        kind="chat", max_tokens=8, messages=(Message("user", "ok?"),))))
    assert backend._llm.get_stop_tokens() == ["<|im_end|>"]
    assert stats.gen_tokens == 1 and stats.text == " yes" and stats.stop_reason == "eos"
    backend.close()


def test_chat_at_max_tokens_drops_the_recovery_item(fake: Any, tmp_path: Path) -> None:
    backend, model = _backend(fake, tmp_path)
    backend.load(model)
    fake.STATE.scripts.append(fake.Script(eos=False, tokens=[" w"] * 16, delay=0.125))
    events, stats = collect(backend.generate(GenerationRequest(
        kind="chat", max_tokens=8, messages=(Message("user", "go on"),))))
    assert stats.gen_tokens == 8 and len(events) == 8 and stats.stop_reason == "length"
    assert "<|im_end|>" not in stats.text
    span = events[-1].t - events[0].t
    assert (stats.gen_tokens - 1) / span == pytest.approx(8.0)  # not 8 * 8/7
    backend.close()


def test_hailort_501_is_refused_with_one_line(fake: Any, tmp_path: Path) -> None:
    fake.set_version("5.0.1")
    backend, model = _backend(fake, tmp_path)
    with pytest.raises(BackendUnavailable, match=r"HailoRT 5\.0\.1 is installed; pibench needs"):
        backend.load(model)


def test_signature_typeerror_is_one_line(fake: Any, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.backends.hailo import backend as hb

    fake.set_version("5.0.1")
    monkeypatch.setattr(hb, "check_version", lambda version, who: None)  # version unknown
    backend, model = _backend(fake, tmp_path)
    with pytest.raises(BackendUnavailable, match="does not take the arguments of HailoRT"):
        backend.load(model)


def _vlm(fake: Any, tmp_path: Path) -> tuple[Any, str]:
    from bench.backends.hailo_vlm.backend import HailoVLMBackend
    from bench.backends.hailo_vlm.config import HailoVLMArtifact, HailoVLMOptions

    hef = tmp_path / "vlm.hef"
    hef.write_text(json.dumps({"fake_hef": "vlm", "frame_shape": [8, 8, 3],
                               "reply": "A red square."}))
    image = tmp_path / "red.png"
    import cv2

    cv2.imwrite(str(image), np.full((16, 16, 3), (0, 0, 255), dtype=np.uint8))
    backend = HailoVLMBackend(HailoVLMOptions(), clock=fake.STATE.clock)
    backend.load(ModelRef("vlm", None, None, HailoVLMArtifact(hef=str(hef))))
    return backend, str(image)


def test_greedy_vlm_request_succeeds_without_temperature(fake: Any, tmp_path: Path) -> None:
    backend, image = _vlm(fake, tmp_path)
    req = GenerationRequest(kind="chat", max_tokens=16, images=(image,),
                            messages=(Message("user", "What is it?"),))
    events, stats = collect(backend.generate(req))
    assert stats.text == "A red square. " and stats.stop_reason == "eos"
    assert stats.gen_tokens == 3 == len(events)
    call = backend._vlm.calls[-1]
    assert call["temperature"] is None and call["do_sample"] is False
    backend.close()


def test_vlm_at_max_tokens_is_length(fake: Any, tmp_path: Path) -> None:
    backend, image = _vlm(fake, tmp_path)
    req = GenerationRequest(kind="chat", max_tokens=2, images=(image,),
                            messages=(Message("user", "What is it?"),))
    events, stats = collect(backend.generate(req))
    assert stats.stop_reason == "length" and stats.gen_tokens == 2 == len(events)
    assert "<|im_end|>" not in stats.text
    backend.close()


def test_vlm_sampling_out_of_range_is_refused(fake: Any, tmp_path: Path) -> None:
    from bench.backends.base import Sampling

    backend, image = _vlm(fake, tmp_path)
    req = GenerationRequest(kind="chat", max_tokens=2, images=(image,),
                            messages=(Message("user", "?"),),
                            sampling=Sampling(temperature=0.7, top_k=0))
    with pytest.raises(BackendError, match="top_k 0: HailoRT takes top_k >= 1"):
        collect(backend.generate(req))
    backend.close()


def test_environment_records_hailort_without_importing_it(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.results import environment

    # an installed binding nobody imported yet: its __init__.py literal gives the version
    pkg = tmp_path / "site" / "hailo_platform"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('raise ImportError("must not be imported")\n'
                                     '__version__ = "5.2.0"\n')
    for name in hailo_modules():
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert environment.versions()["hailort"] == "5.2.0"
    assert "hailo_platform" not in sys.modules


def test_environment_json_and_case_record_agree_on_hailort(
        fake: Any, tmp_path: Path, write_config: Any) -> None:
    from bench.runner.session import start_run

    fake.STATE.default_script = fake.Script(eos=False, delay=0.0, first_delay=0.0)
    hef = fake.write_hef(tmp_path / "q.hef")
    cfg = write_config(f"""
        name: t
        repetitions: 1
        warmup: 0
        models:
          - name: q
            artifacts: {{npu: {{hef: "{hef}"}}}}
        backends:
          - {{name: npu, type: hailo, options: {{hash_model: false}}}}
        workloads:
          - {{name: w, kind: throughput, prompt_tokens: 8, gen_tokens: 4}}
    """)
    result = start_run(cfg, output_dir=tmp_path / "out", quiet=True)
    (rec,) = list(result.run_dir.cases())
    env = json.loads((result.run_dir.path / "environment.json").read_text())
    assert env["versions"]["hailort"] == rec["backend"]["hailort_version"] == fake.STATE.version


def test_vlm_throughput_is_exact_and_chat_gets_stops_back(fake: Any, tmp_path: Path) -> None:
    backend, image = _vlm(fake, tmp_path)
    req = GenerationRequest(kind="throughput", prompt_tokens=8, max_tokens=8, images=(image,))
    _, stats = collect(backend.generate(req))
    assert stats.gen_tokens == 8 and stats.stop_reason == "length"
    assert backend._vlm.get_stop_tokens() == []
    chat = GenerationRequest(kind="chat", max_tokens=16, images=(image,),
                             messages=(Message("user", "What is it?"),))
    _, stats = collect(backend.generate(chat))
    assert backend._vlm.get_stop_tokens() == ["<|im_end|>"] and stats.stop_reason == "eos"
    backend.close()


def test_fake_vlm_refuses_temperature_zero(fake: Any, tmp_path: Path) -> None:
    from hailo_platform import genai
    from hailo_platform.pyhailort.pyhailort import HailoRTInvalidArgumentException

    hef = tmp_path / "vlm.hef"
    hef.write_text(json.dumps({"fake_hef": "vlm", "frame_shape": [8, 8, 3]}))
    vlm = genai.VLM(genai.VDevice(), str(hef))
    with pytest.raises(HailoRTInvalidArgumentException):
        vlm.generate("hi", frames=[], temperature=0.0, do_sample=False)
    assert "VLM: Temperature should be higher than '0'" in fake.STATE.log[-1]
    with vlm.generate("hi", frames=[], do_sample=False, max_generated_tokens=2) as completion:
        assert completion.read()  # greedy without a temperature is accepted
