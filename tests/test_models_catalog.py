"""The model catalog and `pibench models fetch`: no hub here, so errors and a local server."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.errors import UserError
from bench.models.catalog import CatalogFile, fetch, find_entry, load_catalog
from bench.models.presets import PRESETS


def test_catalog_covers_every_preset_and_gemma() -> None:
    entries = load_catalog()
    presets = {e.preset for e in entries if e.preset}
    assert presets == set(PRESETS)
    assert any(e.model == "Gemma-3-270M" for e in entries)
    for e in entries:
        assert e.sha256 is None or (len(e.sha256) == 64 and int(e.sha256, 16) >= 0)
        assert e.file.endswith(".gguf") and "/" in e.repo


def test_find_entry() -> None:
    e = find_entry("llama-3.2-3b-instruct", "q8_0")
    assert (e.repo, e.quant) == ("bartowski/Llama-3.2-3B-Instruct-GGUF", "Q8_0")
    assert e.url().startswith("https://huggingface.co/bartowski/")
    with pytest.raises(UserError, match="not in the model catalog"):
        find_entry("gpt-5")
    with pytest.raises(UserError, match=r"no Q2_K file for Llama-3\.2-3B-Instruct"):
        find_entry("Llama-3.2-3B-Instruct", "Q2_K")


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("version: 1\nmodels:\n  - name: m\n    files:\n      - {quant: Q4_0, repo: a/b,"
     " file: m.gguf, sha256: nothex}\n", 5, "models[0].files[0].sha256"),
    ("version: 1\nmodels:\n  - name: m\n    files:\n      - {quant: Q4_0, file: m.gguf}\n",
     5, "models[0].files[0]: missing required field 'repo'"),
    ("version: 1\nmodels:\n  - name: m\n    files: [{quant: Q4_0, repo: a/b, file: m.gguf}]\n"
     "    fils: []\n", 5, "models[0].fils: unknown key"),
    ("models: [\n", 2, "invalid YAML"),
])
def test_a_malformed_catalog_is_one_line_naming_file_line_field(tmp_path: Path, text: str,
                                                                line: int, fragment: str) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as info:
        load_catalog(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:{line}: "), msg
    assert fragment in msg and msg.endswith("(model catalog)") and "\n" not in msg, msg


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ENTRY = CatalogFile(
    "Qwen2.5-0.5B-Instruct", "Q4_K_M", "Qwen/X-GGUF", "x.gguf", None, "qwen2.5-0.5b-instruct"
)


def test_unreachable_hub_is_one_clear_line(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(UserError) as exc:
        fetch(ENTRY, dest_dir=tmp_path, base_url=base, timeout_s=5)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith("cannot reach 127.0.0.1 (")
    assert "pibench models fetch needs internet" in msg
    assert "pibench models synth qwen2.5-0.5b-instruct" in msg
    assert list(tmp_path.iterdir()) == []


def test_cli_fetch_exits_2_without_internet(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bench.models.catalog.HF_BASE", f"http://127.0.0.1:{_closed_port()}")
    import bench.models.catalog as catalog

    original = catalog.fetch

    def fetch_to_tmp(entry: CatalogFile, **kw: object) -> Path:
        return original(entry, base_url=catalog.HF_BASE, timeout_s=5)

    monkeypatch.setattr(catalog, "fetch", fetch_to_tmp)
    code, _out, err = cli("models", "fetch", "qwen2.5-0.5b-instruct")
    assert code == 2
    assert err.count("\n") == 1 and "cannot reach 127.0.0.1" in err


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "hub" / "Qwen" / "X-GGUF" / "resolve" / "main"
    root.mkdir(parents=True)
    (root / "x.gguf").write_bytes(b"GGUF" + bytes(range(256)) * 100)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: object, **kw: object) -> None:
            super().__init__(*a, directory=str(tmp_path / "hub"), **kw)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_fetch_downloads_and_checks_sha(server: str, tmp_path: Path) -> None:
    body = b"GGUF" + bytes(range(256)) * 100
    good = CatalogFile(**{**ENTRY.__dict__, "sha256": hashlib.sha256(body).hexdigest()})
    dest = tmp_path / "models"
    path = fetch(good, dest_dir=dest, base_url=server)
    assert path == dest / "x.gguf" and path.read_bytes() == body
    assert fetch(good, dest_dir=dest, base_url=server) == path  # reused


def test_fetch_rejects_wrong_sha_and_keeps_no_partial(server: str, tmp_path: Path) -> None:
    bad = CatalogFile(**{**ENTRY.__dict__, "sha256": "0" * 64})
    dest = tmp_path / "models"
    with pytest.raises(UserError, match="the catalog expects 0000"):
        fetch(bad, dest_dir=dest, base_url=server)
    assert list(dest.iterdir()) == []


def test_fetch_http_error_is_one_line(server: str, tmp_path: Path) -> None:
    missing = CatalogFile(**{**ENTRY.__dict__, "file": "nope.gguf"})
    with pytest.raises(UserError, match="answered HTTP 404"):
        fetch(missing, dest_dir=tmp_path, base_url=server)
