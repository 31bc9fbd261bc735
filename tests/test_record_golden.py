"""Golden test of the case record: a virtual-clock run on the simulated device writes the same
``cases.jsonl`` as the one in tests/data/golden_cases.jsonl (made by the code before the record
became a typed model), byte for byte once the wall-clock fields are set aside.

What varies between two runs is blanked: the wall-clock times (``started``, ``finished``), the
pibench process's peak memory, and the host's CPU load (read from /proc, other processes').
Everything else (keys, their order, numbers and their spelling) must be identical.

Regenerate (only when the format changes on purpose, with a schema history entry):
``PIBENCH_WRITE_GOLDEN=1 .venv/bin/python -m pytest tests/test_record_golden.py``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from bench.runner.session import start_run
from tests.conftest import SIM_CONFIG

GOLDEN = Path(__file__).parent / "data" / "golden_cases.jsonl"

CONFIG = SIM_CONFIG.replace("repetitions: 3", "repetitions: 3\nidle_s: 1").replace(
    "{profile: hailo10h, jitter: 0}", "{profile: hailo10h, jitter: 0.05, seed: 7}") + """\
  - {name: tiny, kind: throughput, prompt_tokens: 8, gen_tokens: 1}
meters:
  - {type: mock, rate_hz: 5}
"""
BROKEN = """\
  - name: broken
    type: mock
    options: {profile: pi5-cpu, jitter: 0, fail: {at: load, models: [Llama-3.2-3B-Instruct]}}
  - name: flaky
    type: mock
    options: {profile: pi5-cpu, jitter: 0, fail: {at: token, token: 3, rep: 3}}
"""
CONFIG = CONFIG.replace("workloads:\n", BROKEN + "workloads:\n", 1)

_BLANK = [
    (re.compile(rb'"(started|finished)":"[^"]*"'), rb'"\1":"*"'),
    (re.compile(rb'"peak_rss_mb":(null|[-0-9.e]+)'), rb'"peak_rss_mb":"*"'),
    (re.compile(rb'"host_load":(null|\{[^{}]*(\{[^{}]*\})?[^{}]*\})'), rb'"host_load":"*"'),
]


def _normal(line: bytes) -> bytes:
    """The line with its run-to-run varying values blanked (see the module)."""
    for pattern, blank in _BLANK:
        line, n = pattern.subn(blank, line)
        assert n, (pattern.pattern, line[:200])
    return line


def test_virtual_clock_run_writes_the_golden_cases(tmp_path, write_config):
    result = start_run(write_config(CONFIG), output_dir=tmp_path / "out", quiet=True)
    lines = (result.run_dir.path / "cases.jsonl").read_bytes().splitlines(keepends=True)
    got = b"".join(_normal(line) for line in lines)
    if os.environ.get("PIBENCH_WRITE_GOLDEN"):
        GOLDEN.write_bytes(got)
    statuses = [json.loads(line)["status"] for line in lines]
    assert "ok" in statuses and "failed" in statuses  # both builders are exercised
    assert got == GOLDEN.read_bytes()
