"""The Hailo model zoo table per HailoRT version, `pibench models hefs`, and the HEF part of
scripts/fetch-pi-models.sh (with a fake curl and hailortcli): which models exist in which
version, and every HEF checked against its published sha256."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.models import hailo_zoo

ROOT = Path(__file__).resolve().parents[1]


def test_tables_say_which_models_exist_per_version() -> None:
    assert hailo_zoo.versions() == ["5.1.0", "5.1.1"]
    v511 = {h.name: h for h in hailo_zoo.table("5.1.1")}
    v510 = {h.name for h in hailo_zoo.table("5.1.0")}
    assert "Llama-3.2-3B-Instruct" in v511 and "Llama-3.2-3B-Instruct" not in v510
    assert v511["Llama-3.2-3B-Instruct"].url.endswith("/v5.1.1/blob/Llama-3_2-3B-Instruct.hef")
    # published by the 5.1.1 hailo-ollama manifest (hef_h10h); the VLM has none
    assert v511["Qwen2-1.5B-Instruct"].sha256 == (
        "ab056548c60945cdf4fb30ca43fc7aeed2b9ffc751ad8d4c201dc4c4ab31e86a")
    assert v511["Qwen2-VL-2B-Instruct"].sha256 is None
    assert hailo_zoo.zoo_version("5.1.1-1") == "5.1.1" and hailo_zoo.zoo_version("5.2.0") is None


def test_check_file_names_a_mismatch(tmp_path: Path) -> None:
    hef = hailo_zoo.table("5.1.1")[0]
    path = tmp_path / hef.file
    path.write_bytes(b"not the real HEF")
    ok, line = hailo_zoo.check_file(hef, path)
    assert ok is False and "does not match" in line and hef.sha256 in line


def test_models_hefs_lists_the_version_asked(cli: Any, tmp_path: Path) -> None:
    code, out, _ = cli("models", "hefs", "--zoo", "5.1.0", "--dir", str(tmp_path))
    assert code == 0 and "Hailo model zoo GenAI 5.1.0" in out and "Llama" not in out
    code, _, err = cli("models", "hefs", "--zoo", "9.9.9")
    assert code == 2 and "no model table" in err


def _script_env(tmp_path: Path, table: dict[str, object], hailort: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "hailortcli").write_text(f"#!/bin/sh\necho 'HailoRT-CLI version {hailort}'\n")
    # a curl that "downloads" the URL's last part as the file's content
    (bin_dir / "curl").write_text('#!/bin/sh\nfor a; do last="$a"; done\n'
                                  'while [ "$1" != "-o" ]; do shift; done\n'
                                  'printf "%s" "${last##*/}" > "$2"\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    table_path = tmp_path / "zoo.json"
    table_path.write_text(json.dumps({"versions": table}))
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "PIBENCH_HEF_DIR": str(tmp_path / "hef"), "PIBENCH_HAILO_ZOO_TABLE": str(table_path)}


def _entry(name: str, sha: str | None) -> dict[str, object]:
    return {"name": name, "file": f"{name}.hef", "url": f"https://x/v5.1.1/blob/{name}.hef",
            "kind": "llm", "model_size_published": "1 GB", "hailo_ollama": None,
            "sha256": sha, "sha256_source": "test"}


@pytest.mark.skipif(not shutil.which("bash") or not shutil.which("sha256sum"),
                    reason="needs bash and coreutils")
def test_fetch_script_checks_every_hef(tmp_path: Path) -> None:
    good = hashlib.sha256(b"A.hef").hexdigest()
    env = _script_env(tmp_path, {"5.1.1": [_entry("A", good), _entry("B", "0" * 64),
                                           _entry("C", None)]}, "5.1.1")
    r = subprocess.run(["bash", str(ROOT / "scripts/fetch-pi-models.sh"), "--hef-only"],
                       env=env, capture_output=True, text=True, timeout=60)
    hef = tmp_path / "hef"
    assert r.returncode == 1, r.stderr
    assert (hef / "A.hef").is_file() and f"sha256 {good} ok" in r.stdout
    assert not (hef / "B.hef").exists() and (hef / "B.hef.sha256-mismatch").is_file()
    assert "MISMATCH" in r.stderr and "0" * 64 in r.stderr
    assert "no published hash: unchecked" in r.stdout


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_fetch_script_refuses_a_version_without_a_table(tmp_path: Path) -> None:
    env = _script_env(tmp_path, {"5.1.1": [_entry("A", None)]}, "5.2.0")
    r = subprocess.run(["bash", str(ROOT / "scripts/fetch-pi-models.sh"), "--hef-only"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no model table for 5.2.0" in r.stderr
    assert not (tmp_path / "hef").exists()
