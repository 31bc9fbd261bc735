"""The CPU VLM's light parts: options, artifact, workload images, the mmproj's layout and
metadata as written (no llama.cpp needed), the catalog entry and the shipped config."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from bench.backends.llama_cpp_vlm.config import LlamaCppVLMArtifact, LlamaCppVLMOptions
from bench.config.loader import ConfigErrors, load_config
from bench.errors import UserError
from bench.models.presets import PRESETS
from bench.registry import backend_entry, load_object
from bench.runner.plan import build_plan
from bench.runner.requests import make_request
from bench.workloads.images import check_spec, generated_image, resolve_image

ROOT = Path(__file__).resolve().parent.parent
QWEN2_VL = PRESETS["qwen2-vl-2b-instruct"]


def test_registry_and_options() -> None:
    entry = backend_entry("llama_cpp_vlm")
    assert load_object(entry.options) is LlamaCppVLMOptions
    assert load_object(entry.artifact) is LlamaCppVLMArtifact
    o = LlamaCppVLMOptions(threads=2, image_max_tokens=256)
    assert (o.threads, o.image_max_tokens, o.image_min_tokens) == (2, 256, None)
    with pytest.raises(ValidationError):
        LlamaCppVLMOptions(image_max_tokens=0)


def test_artifact_needs_an_mmproj_unless_synthetic(tmp_path: Path) -> None:
    assert LlamaCppVLMArtifact(gguf="synth:qwen2-vl-2b-instruct:q4_k_m").mmproj is None
    with pytest.raises(ValidationError, match="set mmproj"):
        LlamaCppVLMArtifact(gguf="model.gguf")
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    art = LlamaCppVLMArtifact(gguf=str(gguf), mmproj=str(tmp_path / "mmproj.gguf"))
    with pytest.raises(UserError, match=r"mmproj \(vision projector\) file not found: .*mmproj"):
        art.preflight()


def test_generated_image_specs_and_paths(tmp_path: Path) -> None:
    check_spec("generated:336x336")
    check_spec("photos/street.jpg")
    for bad in ("generated:336", "generated:4x4", "generated:336x99999", " "):
        with pytest.raises(ValueError):
            check_spec(bad)
    assert resolve_image("street.jpg", tmp_path) == str(tmp_path / "street.jpg")
    assert resolve_image("/abs/street.jpg", tmp_path) == "/abs/street.jpg"
    p = generated_image(40, 30, tmp_path)
    data = p.read_bytes()
    header = b"P6\n40 30\n255\n"
    assert data.startswith(header) and len(data) == len(header) + 40 * 30 * 3
    assert len(set(data[len(header):])) > 8, "a picture with content, not one flat colour"
    assert generated_image(40, 30, tmp_path).read_bytes() == data  # made once, same bytes
    cv2 = pytest.importorskip("cv2")  # what the hailo_vlm backend reads images with
    image = cv2.imread(str(p), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (30, 40, 3)


VLM_CONFIG = """
name: vlm
models:
  - name: Qwen2-VL-2B-Instruct
    artifacts:
      cpu: {gguf: "synth:qwen2-vl-2b-instruct:q4_k_m"}
      npu: {hef: /nowhere/Qwen2-VL-2B-Instruct.hef}
backends:
  - {name: cpu, type: llama_cpp_vlm, options: {image_max_tokens: 256}}
  - {name: npu, type: hailo_vlm}
workloads:
  - {name: ask, kind: chat, prompts: ["What is here?"], images: [generated:64x48], gen_tokens: 8}
  - {name: pp, kind: throughput, prompt_tokens: 16, gen_tokens: 8, images: [street.png]}
"""


def test_vlm_config_gives_both_backends_the_same_image(write_config, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIBENCH_CACHE_DIR", str(tmp_path / "cache"))
    cfg = load_config(write_config(VLM_CONFIG))
    cases, skipped = build_plan(cfg)
    assert sorted(c.case_id for c in cases) == [
        "Qwen2-VL-2B-Instruct/cpu/ask", "Qwen2-VL-2B-Instruct/cpu/pp",
        "Qwen2-VL-2B-Instruct/npu/ask", "Qwen2-VL-2B-Instruct/npu/pp"] and not skipped
    requests = {c.case_id: make_request(c.workload, 0, 0, cfg.path.parent) for c in cases}
    ask = {r.images for k, r in requests.items() if k.endswith("/ask")}
    assert len(ask) == 1, "both backends get the same image"
    (image,) = ask.pop()
    assert Path(image).is_file() and image.startswith(str(tmp_path / "cache"))
    pp = requests["Qwen2-VL-2B-Instruct/cpu/pp"]
    assert pp.images == (str(cfg.path.parent / "street.png"),) and pp.prompt_tokens == 16


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("images: [generated:64x48]", "images: [generated:64]", "images", "WIDTHxHEIGHT"),
        ("kind: chat", "kind: completion", "workloads[0]", "not completion"),
    ],
)
def test_bad_vlm_workloads_are_config_errors(write_config, old: str, new: str, field: str,
                                             message: str) -> None:
    with pytest.raises(ConfigErrors) as exc:
        load_config(write_config(VLM_CONFIG.replace(old, new)))
    assert any(field in line and message in line for line in exc.value.lines), exc.value.lines


def test_mmproj_artifact_is_required_for_a_real_gguf(write_config) -> None:
    text = VLM_CONFIG.replace('{gguf: "synth:qwen2-vl-2b-instruct:q4_k_m"}',
                              "{gguf: /models/Qwen2-VL-2B-Instruct-Q4_K_M.gguf}")
    with pytest.raises(ConfigErrors) as exc:
        load_config(write_config(text))
    (line,) = exc.value.lines
    assert "artifacts.cpu" in line and "set mmproj" in line


def test_mmproj_layout_is_llama_cpps_qwen2vl_merger() -> None:
    from bench.models.synth_vlm import mmproj_layout

    v = QWEN2_VL.vision
    assert v is not None
    layout = mmproj_layout(v, QWEN2_VL.n_embd)
    shapes = {s.name: s.shape for s in layout}
    assert len(shapes) == len(layout), "tensor names are unique"
    # numpy order; GGUF (and clip.cpp) see them reversed
    assert shapes["v.patch_embd.weight"] == shapes["v.patch_embd.weight.1"] == (1280, 3, 14, 14)
    assert shapes["v.blk.31.attn_q.weight"] == (1280, 1280)
    assert shapes["v.blk.0.ffn_up.weight"] == (5120, 1280)
    assert shapes["v.blk.0.ffn_down.weight"] == (1280, 5120)  # not swapped by clip.cpp
    assert shapes["mm.0.weight"] == (5120, 5120) and shapes["mm.2.weight"] == (1536, 5120)
    assert "v.blk.32.ln1.weight" not in shapes and "v.patch_embd.bias" not in shapes
    # per block: ln1, ln2 (weight + bias), q, k, v, out, up, down (weight + bias) = 16
    assert len(layout) == 2 + 16 * 32 + 6
    n = sum(math.prod(s.shape) for s in layout)
    assert n == v.n_params(QWEN2_VL.n_embd) == 665_271_296


def test_mmproj_metadata_as_clip_cpp_reads_it(tmp_path: Path) -> None:
    pytest.importorskip("gguf")
    pytest.importorskip("numpy")
    from bench.models.gguf_info import read_header
    from bench.models.synth_vlm import ensure_mmproj, mmproj_layout

    assert QWEN2_VL.vision is not None
    tiny = dataclasses.replace(QWEN2_VL, name="Tiny-VL", n_embd=32, vision=dataclasses.replace(
        QWEN2_VL.vision, n_layer=1, n_embd=16, n_head=2, n_ff=32))
    made = ensure_mmproj(tiny, tmp_path)
    assert made.path.name == "mmproj-tiny-vl-f16.gguf" and not made.reused
    assert ensure_mmproj(tiny, tmp_path).reused
    header = read_header(made.path)
    meta = header.metadata
    assert meta["general.architecture"] == "clip" and meta["general.type"] == "mmproj"
    assert meta["clip.projector_type"] == "qwen2vl_merger"
    assert meta["clip.has_vision_encoder"] is True and meta["pibench.synthetic"] is True
    assert meta["clip.vision.projection_dim"] == 32  # the text model's width
    assert (meta["clip.vision.embedding_length"], meta["clip.vision.block_count"],
            meta["clip.vision.attention.head_count"], meta["clip.vision.patch_size"]) == (
        16, 1, 2, 14)
    assert meta["clip.vision.image_mean"] == pytest.approx([0.48145466, 0.4578275, 0.40821073])
    assert [t.name for t in header.tensors] == [s.name for s in mmproj_layout(
        tiny.vision, 32)]  # type: ignore[arg-type]
    types = {t.name: t.type_name for t in header.tensors}
    assert types["v.patch_embd.weight"] == "F16" and types["mm.0.weight"] == "F16"
    assert types["v.blk.0.ln1.bias"] == "F32" and types["v.post_ln.weight"] == "F32"


def test_catalog_names_the_gguf_and_its_mmproj() -> None:
    from bench.models.catalog import find_entry

    e = find_entry("qwen2-vl-2b-instruct")
    assert e.repo == "ggml-org/Qwen2-VL-2B-Instruct-GGUF"
    assert e.file == "Qwen2-VL-2B-Instruct-Q4_K_M.gguf"
    mm = e.projector()
    assert mm is not None and mm.file == "mmproj-Qwen2-VL-2B-Instruct-f16.gguf"
    assert mm.url().endswith("/ggml-org/Qwen2-VL-2B-Instruct-GGUF/resolve/main/" + mm.file)
    assert find_entry("qwen2.5-0.5b-instruct").projector() is None


def test_shipped_vlm_config_runs_the_cpu_side_without_a_hef() -> None:
    cfg = load_config(ROOT / "configs" / "vlm-cpu-vs-npu.yaml")
    types = {b.name: b.type for b in cfg.run.backends}
    assert sorted(types.values()) == ["hailo_vlm", "llama_cpp_vlm"]
    cases, _ = build_plan(cfg)
    workloads = {c.workload.name: c.workload for c in cases}
    assert all(w.images for w in workloads.values()), "every workload sends an image"
    npu = [c for c in cases if types[c.backend.name] == "hailo_vlm"]
    with pytest.raises(UserError, match="HEF file not found"):
        npu[0].artifact.preflight()  # type: ignore[attr-defined]
    cpu_only, _ = build_plan(cfg, backends=[n for n, t in types.items() if t == "llama_cpp_vlm"])
    assert cpu_only and {types[c.backend.name] for c in cpu_only} == {"llama_cpp_vlm"}
    for c in cpu_only:
        c.artifact.preflight()  # type: ignore[attr-defined]  # a synth: spec: made at load
