"""A new workload kind makes mypy name every place that must handle it.

Every branch on a workload kind is an exhaustive ``match`` ending in ``assert_never``
(bench.common). This test adds a kind to ``WorkloadKind`` (bench/common.py) in a copy of the
package and runs mypy on the copy: each match that does not handle it is an error, so the list
of errors is the list of places to change. (By hand: add the kind to ``WorkloadKind`` and run mypy.)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_new_kind_is_an_error_at_every_match(tmp_path):
    pytest.importorskip("mypy")
    shutil.copytree(ROOT / "bench", tmp_path / "bench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    types = tmp_path / "bench" / "common.py"
    text = types.read_text(encoding="utf-8")
    old = 'WorkloadKind = Literal["throughput", "chat", "completion"]'
    assert old in text
    types.write_text(text.replace(old, old[:-1] + ', "embedding"]'), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--python-version", "3.10", "--ignore-missing-imports",
         "--check-untyped-defs", "--cache-dir", str(tmp_path / ".mypy_cache"), "-p", "bench"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    places = sorted({m.group(1) for m in re.finditer(
        r"^(bench/\S+\.py):\d+: error: Argument 1 to \"assert_never\"", proc.stdout, re.M)})
    assert places == [
        "bench/backends/base.py",  # Capabilities.refusal
        "bench/backends/hailo/backend.py",
        "bench/backends/hailo_vlm/backend.py",
        "bench/backends/llama_cpp/backend.py",
        "bench/backends/llama_cpp_vlm/backend.py",
        "bench/backends/mock/backend.py",
        "bench/backends/ollama/backend.py",
        "bench/backends/openai/backend.py",
        "bench/runner/requests.py",
    ], proc.stdout
