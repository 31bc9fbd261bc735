"""hailo_vlm backend against the fake hailo_platform: an image and a question, timed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench.backends.base import collect

np = pytest.importorskip("numpy")
cv2 = pytest.importorskip("cv2")

from bench.backends.base import GenerationRequest, Message, ModelRef  # noqa: E402
from bench.backends.hailo_vlm.config import HailoVLMArtifact, HailoVLMOptions  # noqa: E402
from bench.clock import VirtualClock  # noqa: E402
from bench.errors import BackendUnavailable, ModelLoadError, UserError  # noqa: E402
from bench.registry import backend_entry, load_object  # noqa: E402

FAKES = Path(__file__).parent / "fakes"


@pytest.fixture
def genai(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(FAKES))
    for name in [m for m in sys.modules if m.split(".")[0] == "hailo_platform"]:
        monkeypatch.delitem(sys.modules, name)
    import hailo_platform.genai as genai
    from hailo_platform import _fake, _infer

    _fake.reset()
    if not hasattr(genai, "VLM"):
        monkeypatch.setattr(genai, "VLM", _infer.VLM, raising=False)
    yield genai
    for name in [m for m in sys.modules if m.split(".")[0] == "hailo_platform"]:
        del sys.modules[name]  # the fake must not leak into other tests


def vlm_hef(tmp_path: Path, **spec: object) -> Path:
    p = tmp_path / "Qwen2-VL-2B-Instruct.hef"
    p.write_text(json.dumps({"fake_hef": "vlm", "frame_shape": [336, 336, 3],
                             "reply": "Two people walk past a grey wall.", **spec}))
    return p


def image(tmp_path: Path) -> str:
    p = tmp_path / "street.png"
    cv2.imwrite(str(p), np.full((480, 640, 3), 128, dtype=np.uint8))
    return str(p)


def backend(clock: VirtualClock | None = None):
    cls = load_object(backend_entry("hailo_vlm").backend)
    return cls(HailoVLMOptions(), clock=clock or VirtualClock(0.0))


def test_registry_entry_points_at_the_backend() -> None:
    entry = backend_entry("hailo_vlm")
    assert load_object(entry.options) is HailoVLMOptions
    assert load_object(entry.artifact) is HailoVLMArtifact
    assert load_object(entry.backend).capabilities.vision is True


def test_image_and_question_stream_timed_tokens(tmp_path: Path, genai) -> None:
    be = backend()
    info = be.load(ModelRef("Qwen2-VL-2B-Instruct", "qwen2-vl", 2.2,
                            HailoVLMArtifact(hef=str(vlm_hef(tmp_path)))))
    assert info.extra["input_frame_shape"] == [336, 336, 3]
    request = GenerationRequest("chat", 32, messages=(Message("user", "What is in the image?"),),
                                images=(image(tmp_path),))
    events, stats = collect(be.generate(request))
    assert stats.text == "Two people walk past a grey wall. "
    assert stats.gen_tokens == len(events) == 7 and stats.stop_reason == "eos"
    assert "<|im_end|>" not in stats.text
    vlm = be._vlm
    call = vlm.calls[0]
    assert call["frames"] == 1 and call["max_generated_tokens"] == 32 and call["seed"] == 0
    assert call["prompt"][0]["content"][0] == {"type": "image"}
    assert call["prompt"][0]["content"][1]["text"] == "What is in the image?"
    be.close()
    be.close()
    assert vlm.released


def test_throughput_prompt_reaches_the_token_count(tmp_path: Path, genai) -> None:
    be = backend()
    be.load(ModelRef("vlm", None, None, HailoVLMArtifact(hef=str(vlm_hef(tmp_path)))))
    gen = be.generate(GenerationRequest("throughput", 3, prompt_tokens=20,
                                        images=(image(tmp_path),)))
    tokens = list(gen)
    assert len(tokens) == 3
    text = be._vlm.calls[0]["prompt"][0]["content"][1]["text"]
    assert len(be._vlm.tokenize(text)) >= 20


def test_missing_image_is_a_user_error(tmp_path: Path, genai) -> None:
    be = backend()
    be.load(ModelRef("vlm", None, None, HailoVLMArtifact(hef=str(vlm_hef(tmp_path)))))
    with pytest.raises(UserError, match=r"nope\.jpg"):
        next(be.generate(GenerationRequest("chat", 8, messages=(Message("user", "hi"),),
                                           images=(str(tmp_path / "nope.jpg"),))))


def test_missing_hef_and_missing_hailort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        backend().load(ModelRef("vlm", None, None, HailoVLMArtifact(hef=str(tmp_path / "x.hef"))))
    monkeypatch.setitem(sys.modules, "hailo_platform.genai", None)
    with pytest.raises(BackendUnavailable, match="hailo-h10-all"):
        backend().load(ModelRef("vlm", None, None, HailoVLMArtifact(hef=str(vlm_hef(tmp_path)))))
