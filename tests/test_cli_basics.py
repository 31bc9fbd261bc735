"""The CLI stays light and every shipped config validates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_pibench

HEAVY = ["llama_cpp", "hailo_platform", "numpy", "httpx", "cv2", "gguf", "rich", "psutil",
         "bench.backends.mock.backend", "bench.meters.pmic"]


def test_help_imports_no_backend_library():
    code = ("import sys; from bench.cli.main import build_parser; build_parser(); "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"


def test_help_and_version(cli):
    with pytest.raises(SystemExit) as exc:
        cli("--help")
    assert exc.value.code == 0
    code, out, _ = cli("backends")
    assert code == 0 and "mock" in out and "llama_cpp" in out
    # what each takes comes from its declared flags
    lines = out.splitlines()
    vlm = lines[next(i for i, line in enumerate(lines) if line.startswith("llama_cpp_vlm")) + 1]
    assert "takes: throughput, chat, images " in vlm


def test_no_command_prints_help_exit_2(cli):
    code, out, _ = cli()
    assert code == 2 and "run" in out


def test_run_without_config_is_a_user_error():
    res = run_pibench("run")
    assert res.returncode == 2 and "needs a CONFIG" in res.stderr


def test_report_on_a_non_run_folder(tmp_path):
    res = run_pibench("report", str(tmp_path))
    assert res.returncode == 2
    assert "not a pibench run folder" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("config", sorted((ROOT / "configs").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_every_shipped_config_validates(config: Path):
    res = run_pibench("validate", str(config))
    assert res.returncode == 0, res.stderr
    if config.name == "models.yaml":  # the model catalog is checked as what it is
        assert "ok: the model catalog, " in res.stdout, res.stdout


def test_validate_checks_a_catalog_as_a_catalog(tmp_path):
    bad = tmp_path / "models.yaml"
    bad.write_text("version: 1\nmodels:\n  - name: m\n    files:\n      - {quant: Q4_0}\n")
    res = run_pibench("validate", str(bad))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip() == (f"{bad}:5: models[0].files[0]: missing required field "
                                  "'repo' (model catalog)")
