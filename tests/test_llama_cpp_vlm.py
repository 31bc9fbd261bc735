"""The llama_cpp_vlm backend for real: llama.cpp's libmtmd on a tiny Qwen2-VL-shaped model.

The model is the Qwen2-VL-2B-Instruct preset with every width and depth cut down (a test-only
shape: the real vision tower is 0.67 B parameters in F16), made by the same code as the real
one: the text model with the real Qwen2 vocabulary and M-RoPE sections, quantized by
llama.cpp to Q4_K_M, and an F16 mmproj with the qwen2vl_merger projector. Writing both takes
a few seconds. One thread keeps the tests steady on a shared machine; nothing here is timed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

llama_cpp = pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")

from bench.backends.base import GenerationRequest, Message, ModelRef, collect  # noqa: E402
from bench.backends.llama_cpp import tokens  # noqa: E402
from bench.backends.llama_cpp_vlm.backend import LlamaCppVLMBackend  # noqa: E402
from bench.backends.llama_cpp_vlm.config import (  # noqa: E402
    LlamaCppVLMArtifact,
    LlamaCppVLMOptions,
)
from bench.errors import ModelLoadError, UserError  # noqa: E402
from bench.models.presets import PRESETS  # noqa: E402
from bench.models.synth import SynthResult, synthesize  # noqa: E402
from bench.workloads.images import generated_image  # noqa: E402

pytestmark = pytest.mark.llama

REAL = PRESETS["qwen2-vl-2b-instruct"]
assert REAL.vision is not None
TINY = dataclasses.replace(
    REAL, name="Tiny-Qwen2-VL", n_layer=2, n_embd=256, n_head=4, n_head_kv=2, n_ff=512,
    rope_sections=(8, 12, 12, 0),  # head size 64: the sections cover its 32 rotated pairs
    vision=dataclasses.replace(REAL.vision, n_layer=2, n_embd=64, n_head=4, n_ff=128,
                               ff_length_meta=256),
)
QUESTION = (Message("user", "What is in this picture?"),)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    out = tmp_path_factory.mktemp("vlm") / "tiny-qwen2-vl-q4_k_m.gguf"
    made = synthesize(TINY, "Q4_K_M", out=out)
    assert made.mmproj is not None and made.mmproj.is_file()
    return made


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(generated_image(336, 336, tmp_path_factory.mktemp("img")))


def ref(gguf: Path | str, mmproj: Path | str | None) -> ModelRef:
    return ModelRef("Tiny-Qwen2-VL", "qwen2-vl", None, LlamaCppVLMArtifact(
        gguf=str(gguf), mmproj=None if mmproj is None else str(mmproj)))


@pytest.fixture(scope="module")
def vlm(tiny: SynthResult) -> Iterator[LlamaCppVLMBackend]:
    backend = LlamaCppVLMBackend(LlamaCppVLMOptions(threads=1, n_ctx=1024))
    backend.load(ref(tiny.path, tiny.mmproj))
    yield backend
    backend.close()


def test_load_records_both_files(tiny: SynthResult) -> None:
    backend = LlamaCppVLMBackend(LlamaCppVLMOptions(threads=1, n_ctx=512))
    info = backend.load(ref(tiny.path, tiny.mmproj))
    try:
        assert info.weights == "synthetic" and info.architecture == "qwen2vl"
        mm = info.extra["mmproj"]
        assert mm["projector"] == "qwen2vl_merger" and mm["quant"] == "F16"
        assert mm["path"] == str(tiny.mmproj) and len(mm["sha256"]) == 64
        assert info.params == info.extra["text_params"] + mm["params"]
        assert backend.describe()["mmproj"] == str(tiny.mmproj)
    finally:
        backend.close()
        backend.close()


def test_vision_tokens_are_real_special_tokens(vlm: LlamaCppVLMBackend) -> None:
    ids = tokens.tokenize(vlm._vocab, "<|vision_start|><|image_pad|><|vision_end|>",
                          parse_special=True)
    assert ids == [151652, 151655, 151653]


def test_image_and_question_give_timed_tokens(vlm: LlamaCppVLMBackend, image: str) -> None:
    request = GenerationRequest("chat", 6, messages=QUESTION, images=(image,))
    events, stats = collect(vlm.generate(request))
    assert 1 <= stats.gen_tokens == len(events) <= 6
    assert stats.stop_reason in ("eos", "length")
    assert all(e.t >= stats.t_request for e in events)
    assert [e.t for e in events] == sorted(e.t for e in events)
    internal = stats.internal
    assert internal is not None and internal["images"] == 1
    # Qwen2-VL: one image token per 28 x 28 pixels (14-pixel patches merged 2 x 2)
    assert internal["image_tokens"] == (336 // 28) ** 2
    assert stats.prompt_tokens == internal["image_tokens"] + internal["text_tokens"]
    # llama.cpp's own prompt counter saw the image embeddings and the text
    assert internal["prompt_tokens"] == stats.prompt_tokens and internal["prompt_ms"] > 0
    assert internal["image_encode_ms"] > 0 and internal["image_preprocess_ms"] > 0
    # preprocessing, encoding and the prompt decode are disjoint spans inside TTFT (the
    # encode is not booked as prompt time by llama.cpp's counter); 1 ms for two clocks
    ttft_ms = (events[0].t - stats.t_request) * 1000
    parts = internal["image_preprocess_ms"] + internal["image_encode_ms"] + internal["prompt_ms"]
    assert parts <= ttft_ms + 1.0


def test_throughput_generates_exactly_n_after_the_image(vlm: LlamaCppVLMBackend,
                                                         image: str) -> None:
    request = GenerationRequest("throughput", 12, prompt_tokens=40, images=(image,), variant=3)
    events, stats = collect(vlm.generate(request))
    assert stats.gen_tokens == len(events) == 12 and stats.stop_reason == "length"
    internal = stats.internal
    assert internal is not None
    # exactly 40 filler tokens, plus <|vision_start|> and <|vision_end|> around the image
    assert internal["text_tokens"] == 40 + 2
    assert internal["gen_tokens"] == 11  # the first token comes out of the prompt's decode


def test_reset_clears_the_context(vlm: LlamaCppVLMBackend, image: str) -> None:
    request = GenerationRequest("throughput", 5, prompt_tokens=20, images=(image,))
    first = collect(vlm.generate(request))[1].text
    memory = llama_cpp.llama_get_memory(vlm._ctx)
    assert llama_cpp.llama_memory_seq_pos_max(memory, 0) >= 0
    vlm.reset()
    assert llama_cpp.llama_memory_seq_pos_max(memory, 0) == -1
    again = collect(vlm.generate(request))[1].text
    assert again == first, "greedy from a cleared context: the same tokens again"


def test_a_missing_image_names_the_file(vlm: LlamaCppVLMBackend, tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    with pytest.raises(UserError, match=r"nope\.png"):
        next(vlm.generate(GenerationRequest("chat", 4, messages=QUESTION,
                                            images=(str(missing),))))


def _one_line_load_error(gguf: Path, mmproj: Path | str) -> str:
    backend = LlamaCppVLMBackend(LlamaCppVLMOptions(threads=1, n_ctx=256))
    with pytest.raises(ModelLoadError) as exc:
        backend.load(ref(gguf, mmproj))
    backend.close()
    msg = str(exc.value)
    assert "\n" not in msg and str(mmproj) in msg
    return msg


def test_bad_mmproj_files_are_one_line_errors(tiny: SynthResult, tmp_path: Path) -> None:
    assert tiny.mmproj is not None
    assert "not found" in _one_line_load_error(tiny.path, tmp_path / "missing.gguf")
    text_model = _one_line_load_error(tiny.path, tiny.path)
    assert "not an mmproj" in text_model and "'qwen2vl'" in text_model
    junk = tmp_path / "junk.gguf"
    junk.write_text("not a model")
    assert "not a GGUF" in _one_line_load_error(tiny.path, junk)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny.mmproj.read_bytes()[:200_000])
    assert "truncated" in _one_line_load_error(tiny.path, cut)


def test_run_through_the_runner(tiny: SynthResult, image: str, write_config, cli,
                                tmp_path: Path) -> None:
    config = write_config(f"""
        name: vlm-tiny
        output_dir: {tmp_path / "results"}
        repetitions: 2
        warmup: 1
        models:
          - name: Tiny-Qwen2-VL
            artifacts:
              cpu: {{gguf: {tiny.path}, mmproj: {tiny.mmproj}}}
        backends:
          - {{name: cpu, type: llama_cpp_vlm, options: {{threads: 1, n_ctx: 1024}}}}
        workloads:
          - {{name: ask, kind: chat, prompts: ["What is here?"], images: [{image}],
              gen_tokens: 4}}
          - {{name: pp, kind: throughput, prompt_tokens: 16, gen_tokens: 4, images: [{image}]}}
        """)
    code, _out, err = cli("run", config, "--quiet")
    assert code == 0, err
    (run_dir,) = (tmp_path / "results").iterdir()
    records = [json.loads(line) for line in (run_dir / "cases.jsonl").read_text().splitlines()]
    assert [r["status"] for r in records] == ["ok", "ok"]
    for r in records:
        assert "synthetic weights: speed only" in r["labels"]
        s = r["summary"]
        assert s["image_encode_ms"]["n"] == 2 and s["image_encode_ms"]["unit"] == "ms"
        assert s["ttft_s"]["n"] == 2 and s["internal_prompt_tps"]["n"] == 2
        assert r["model"]["info"]["extra"]["mmproj"]["projector"] == "qwen2vl_merger"
    pp = next(r for r in records if r["workload"]["name"] == "pp")
    assert all(rep["gen_tokens"] == 4 for rep in pp["reps"])
    assert pp["summary"]["gen_tps"]["n"] == 2
    report = (run_dir / "report.md").read_text()
    table = report.split("## Vision-language: an image and a question")[1].split("\n\n")[1]
    rows = [line for line in table.splitlines() if line.startswith("| Tiny-Qwen2-VL")]
    header = [c.strip() for c in table.splitlines()[0].strip("|").split("|")]
    cells = [dict(zip(header, (c.strip() for c in row.strip("|").split("|")), strict=True))
             for row in rows]
    assert len(cells) == 2 and all(c["image tokens"] == "144" for c in cells)
    assert all(float(c["image encode ms"]) > 0 and float(c["TTFT s"]) > 0 for c in cells)
