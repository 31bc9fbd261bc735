"""kill -9 in the middle of a run, then --resume: no lost and no duplicated case."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_pibench

CONFIG = """
name: resume
repetitions: 2
warmup: 0
models: [{name: m1}, {name: m2}]
backends:
  - {name: sim, type: mock, options: {profile: %s}}
workloads:
  - {name: w1, prompt_tokens: 10, gen_tokens: 40}
  - {name: w2, prompt_tokens: 10, gen_tokens: 40}
  - {name: w3, prompt_tokens: 10, gen_tokens: 40}
"""


def _setup(tmp_path: Path, profile: Path) -> Path:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG % profile)
    return cfg


def _start(cfg: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bench", "run", str(cfg), "--output",
                             str(out), "--quiet"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_lines(out: Path, n: int, proc: subprocess.Popen[str]) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for cases in out.glob("*/cases.jsonl"):
            if cases.read_text().count("\n") >= n:
                return cases.parent
        if proc.poll() is not None:
            pytest.fail(f"run ended early: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.02)
    pytest.fail("no case finished in time")


def _killed_run(tmp_path: Path, profile: Path, after: int) -> tuple[Path, Path]:
    """Start a run, kill -9 it once ``after`` cases are on disk: (config, run folder)."""
    cfg, out = _setup(tmp_path, profile), tmp_path / "out"
    proc = _start(cfg, out)
    run_dir = _wait_for_lines(out, after, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    return cfg, run_dir


def _lines(run_dir: Path) -> list[dict]:
    text = (run_dir / "cases.jsonl").read_text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_kill_9_then_resume(tmp_path, fast_profile):
    _, run_dir = _killed_run(tmp_path, fast_profile, 2)
    before = _lines(run_dir)
    assert 2 <= len(before) < 6
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"

    done = run_pibench("run", "--resume", str(run_dir), "--quiet")
    assert done.returncode == 0, done.stderr
    after = _lines(run_dir)
    ids = [r["case_id"] for r in after]
    assert len(ids) == len(set(ids)) == 6, ids
    assert after[: len(before)] == before  # finished cases untouched
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "finished" and len(meta["resumed"]) == 1
    assert (run_dir / "environment-2.json").exists()

    again = run_pibench("run", "--resume", str(run_dir), "--quiet")
    assert again.returncode == 0
    assert len(_lines(run_dir)) == 6


def test_torn_last_line_is_moved_aside(tmp_path, fast_profile):
    _, run_dir = _killed_run(tmp_path, fast_profile, 1)
    with open(run_dir / "cases.jsonl", "a") as f:
        f.write('{"case_id": "m1/sim/w3", "status": "o')  # a write cut by the kill
    done = run_pibench("run", "--resume", str(run_dir), "--quiet")
    assert done.returncode == 0, done.stderr
    ids = [r["case_id"] for r in _lines(run_dir)]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 6
    assert "status" in (run_dir / "cases.jsonl.torn").read_text()


def test_resume_refuses_a_changed_config(tmp_path, fast_profile):
    cfg, run_dir = _killed_run(tmp_path, fast_profile, 1)
    cfg.write_text(cfg.read_text().replace("repetitions: 2", "repetitions: 3"))
    res = run_pibench("run", "--resume", str(run_dir))
    assert res.returncode == 2
    assert "config changed" in res.stderr and "Traceback" not in res.stderr


def test_ctrl_c_saves_finished_cases_and_exits_130(tmp_path, fast_profile):
    cfg, out = _setup(tmp_path, fast_profile), tmp_path / "out"
    proc = _start(cfg, out)
    run_dir = _wait_for_lines(out, 1, proc)
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=20)
    assert code == 130
    lines = _lines(run_dir)
    assert 1 <= len(lines) < 6
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert "--resume" in (proc.stderr.read() if proc.stderr else "")
