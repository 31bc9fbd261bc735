"""Shared test helpers: write configs, run the CLI in process or as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def write_config(tmp_path: Path):
    def write(text: str, name: str = "cfg.yaml") -> Path:
        p = tmp_path / name
        p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return p

    return write


@pytest.fixture
def cli(capsys):
    """Run ``pibench ARGS`` in process; returns (exit code, stdout, stderr)."""
    from bench.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def run_pibench(*args: str, cwd: Path | None = None, timeout: float = 120,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run pibench as a real process (for exit codes, signals, tracebacks)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=timeout, env=full_env)


FAST_PROFILE = """
name: fast
device: fast simulated device
source: test profile
jitter: 0
power: {idle_w: 1.0, busy_w: 2.0, covers: test}
models:
  m1: {gen_tps: 100.0, prompt_tps: 1000.0, ttft_s: 0.01, load_s: 0.01}
  m2: {gen_tps: 100.0, prompt_tps: 1000.0, ttft_s: 0.01, load_s: 0.01}
"""


@pytest.fixture
def fast_profile(tmp_path: Path) -> Path:
    """A mock profile fast enough for real-time runs in tests (models m1, m2)."""
    p = tmp_path / "fast.yaml"
    p.write_text(FAST_PROFILE)
    return p


SIM_CONFIG = """
name: sim
clock: virtual
repetitions: 3
warmup: 1
models:
  - {name: Qwen2-1.5B-Instruct, params_b: 1.54}
  - {name: Llama-3.2-3B-Instruct, params_b: 3.21}
backends:
  - {name: cpu, type: mock, options: {profile: pi5-cpu, jitter: 0}}
  - {name: npu, type: mock, options: {profile: hailo10h, jitter: 0}}
workloads:
  - {name: pp100-tg50, kind: throughput, prompt_tokens: 100, gen_tokens: 50}
  - {name: chat, kind: chat, prompts: ["say hello to the world", "two words"], gen_tokens: 20}
"""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under PIBENCH_REQUIRE_MODELS (set by scripts/test.sh after it made the models), a test
    that needs llama.cpp or a model must run: its skip is turned into a failure."""
    outcome = yield
    report = outcome.get_result()
    if (report.skipped and os.environ.get("PIBENCH_REQUIRE_MODELS")
            and (item.get_closest_marker("llama") or item.get_closest_marker("gemma"))):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped although scripts/test.sh made the models: {reason}"


COMPLETION_PROMPTS = ["The capital of France is", "Once upon a time"]
COMPLETION_WORKLOADS = ('workloads: [{name: cont, kind: completion, gen_tokens: 8, prompts: '
                        '["The capital of France is", "Once upon a time"]}]')
"""One completion workload (two raw prompts) as a single YAML line, for backend tests."""


def completion_reps(result: Any) -> list[dict[str, Any]]:
    """The repetitions of the one case of a finished COMPLETION_WORKLOADS run, after checking
    the run went through and took raw prompts (two repetitions: one per prompt)."""
    assert result.exit_code == 0
    (rec,) = list(result.run_dir.cases())
    assert rec["status"] == "ok" and rec["backend"]["capabilities"]["completion"] is True
    reps: list[dict[str, Any]] = rec["reps"]
    assert [r["prompt"] for r in reps] == COMPLETION_PROMPTS
    return reps


def hailo_modules() -> list[str]:
    """The hailo_platform modules imported now (the fake's, in tests)."""
    return [m for m in sys.modules if m == "hailo_platform" or m.startswith("hailo_platform.")]


@contextmanager
def hailo_fake(monkeypatch: pytest.MonkeyPatch, version: str | None = None) -> Iterator[Any]:
    """tests/fakes/hailo_platform imported afresh on a virtual clock (HailoRT ``version``
    when given), and removed again after: the fake must not leak into other tests."""
    from bench.clock import VirtualClock

    monkeypatch.syspath_prepend(str(Path(__file__).parent / "fakes"))
    for name in hailo_modules():
        monkeypatch.delitem(sys.modules, name)
    from hailo_platform import _fake

    state = _fake.reset()
    if version is not None:
        _fake.set_version(version)
    state.clock = VirtualClock()
    yield _fake
    _fake.reset()
    for name in hailo_modules():
        del sys.modules[name]
