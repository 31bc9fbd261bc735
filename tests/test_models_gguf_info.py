"""inspect_gguf on a tiny synthetic model written with the gguf package, and bad files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench.errors import ModelLoadError
from bench.models.gguf_info import GGML_TYPES, inspect_gguf, read_header
from bench.models.presets import PRESETS, Preset
from bench.models.synth import tensor_layout, tokenizer_metadata, write_f16

gguf = pytest.importorskip("gguf")
np = pytest.importorskip("numpy")

TINY = dataclasses.replace(
    PRESETS["qwen2.5-0.5b-instruct"],
    name="Tiny-Qwen2",
    n_layer=2,
    n_embd=64,
    n_head=4,
    n_head_kv=2,
    n_ff=128,
    n_vocab=300,
    bos_token_id=0,
    eos_token_id=1,
)


def _tiny_vocab(path: Path, n_tokens: int) -> Path:
    """A vocab-only GGUF like llama.cpp's ggml-vocab-*.gguf, with ``n_tokens`` tokens."""
    w = gguf.GGUFWriter(path, "qwen2")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list([f"t{i}" for i in range(n_tokens)])
    w.add_token_types([1] * n_tokens)
    w.add_token_merges(["t 1"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    return path


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    vocab = _tiny_vocab(tmp_path / "vocab.gguf", 250)
    tok = tokenizer_metadata(vocab, TINY, template="{{ messages }}")
    path = tmp_path / "tiny.gguf"
    write_f16(TINY, path, seed=7, tokenizer=tok)
    return path


def test_layout_and_facts_read_back(tiny_model: Path) -> None:
    header = read_header(tiny_model)
    layout = tensor_layout(TINY)
    assert [t.name for t in header.tensors] == [s.name for s in layout]
    # GGUF stores dimensions innermost first: the reverse of numpy's shape
    assert [t.shape for t in header.tensors] == [tuple(reversed(s.shape)) for s in layout]
    info = inspect_gguf(tiny_model)
    assert info.weights == "synthetic"
    assert info.architecture == "qwen2"
    assert info.params == TINY.n_params()
    assert info.quant == "F16" and info.extra["quant_llama_cpp"] == "F16"
    assert info.file_bytes == tiny_model.stat().st_size
    assert info.extra["preset"] == "Tiny-Qwen2" and info.extra["seed"] == 7
    assert info.extra["tensor_types"] == {"F16": 1 + 7 * 2, "F32": 5 * 2 + 1}
    # tied: token_embd is the output matrix, so it counts in the bytes read per token
    assert info.extra["bytes_per_token"] == sum(t.nbytes or 0 for t in header.tensors)


def test_tokenizer_padded_to_model_vocab(tiny_model: Path) -> None:
    meta = gguf.GGUFReader(tiny_model).fields
    tokens = meta["tokenizer.ggml.tokens"].contents()
    types = meta["tokenizer.ggml.token_type"].contents()
    assert len(tokens) == len(types) == TINY.n_vocab == 300
    assert tokens[250] == "[PAD250]" and tokens[-1] == "[PAD299]"
    assert set(types[250:]) == {5}  # UNUSED, as llama.cpp's converter pads
    assert meta["tokenizer.chat_template"].contents() == "{{ messages }}"
    assert meta["tokenizer.ggml.eos_token_id"].contents() == 1
    assert meta["pibench.synthetic"].contents() is True


def test_untied_model_excludes_token_embd_from_bytes_per_token(tmp_path: Path) -> None:
    untied: Preset = dataclasses.replace(TINY, tied_embeddings=False)
    path = tmp_path / "untied.gguf"
    write_f16(untied, path, seed=0, tokenizer=None)
    header = read_header(path)
    sizes = {t.name: t.nbytes or 0 for t in header.tensors}
    info = inspect_gguf(path)
    assert "output.weight" in sizes
    assert info.extra["bytes_per_token"] == sum(sizes.values()) - sizes["token_embd.weight"]


def test_real_file_without_pibench_key_is_real(tmp_path: Path) -> None:
    path = _tiny_vocab(tmp_path / "v.gguf", 10)
    info = inspect_gguf(path)
    assert info.weights == "real" and info.params == 0 and info.quant is None


def test_type_table_matches_gguf_package() -> None:
    for type_id, (name, block, size) in GGML_TYPES.items():
        qtype = gguf.GGMLQuantizationType(type_id)
        assert qtype.name == name
        assert gguf.GGML_QUANT_SIZES[qtype] == (block, size)


def _one_line(exc: pytest.ExceptionInfo[ModelLoadError], path: Path) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.gguf"
    with pytest.raises(ModelLoadError) as exc:
        inspect_gguf(path)
    assert _one_line(exc, path) == f"model file not found: {path}"


def test_not_a_gguf(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(ModelLoadError) as exc:
        inspect_gguf(path)
    assert "is not a GGUF file" in _one_line(exc, path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.gguf"
    path.write_bytes(b"")
    with pytest.raises(ModelLoadError) as exc:
        inspect_gguf(path)
    assert "is not a GGUF file" in _one_line(exc, path)


def test_truncated_in_tensor_data(tiny_model: Path, tmp_path: Path) -> None:
    data = tiny_model.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: len(data) - 1000])
    with pytest.raises(ModelLoadError) as exc:
        inspect_gguf(cut)
    assert "is truncated" in _one_line(exc, cut)


def test_truncated_in_header(tiny_model: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_model.read_bytes()[:500])
    with pytest.raises(ModelLoadError) as exc:
        inspect_gguf(cut)
    assert "is truncated or corrupt: the GGUF header ends early" in _one_line(exc, cut)


def test_header_agrees_with_the_gguf_package_reader(tiny_model: Path) -> None:
    """The bounded reader and gguf-py's GGUFReader (the reference) read the same header."""
    ref = gguf.GGUFReader(tiny_model)
    header = read_header(tiny_model, full_arrays=True)
    assert set(header.metadata) == {k for k in ref.fields if not k.startswith("GGUF.")}
    for key, f in ref.fields.items():
        if not key.startswith("GGUF."):
            want = f.contents()
            got = header.metadata[key]
            assert got == (pytest.approx(want) if isinstance(want, float) else want), key
    assert [(t.name, t.shape, t.ggml_type) for t in header.tensors] == [
        (t.name, tuple(int(d) for d in t.shape), int(t.tensor_type)) for t in ref.tensors]
    assert [header.data_offset + t.offset for t in header.tensors] == [
        int(t.data_offset) for t in ref.tensors]
