"""The live display (bench.runner.progress): a bar with elapsed time and ETA on a terminal,
one plain line per event without one, only warnings and errors with --quiet (issue 14)."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.runner.progress import eta_s
from tests.conftest import ROOT

SIM4 = """
name: sim4
clock: virtual
repetitions: 2
warmup: 1
models: [{name: Qwen2-1.5B-Instruct}, {name: Llama-3.2-3B-Instruct}]
backends:
  - {name: npu, type: mock, options: {profile: hailo10h, jitter: 0}}
workloads:
  - {name: a, kind: throughput, prompt_tokens: 16, gen_tokens: 8}
  - {name: b, kind: throughput, prompt_tokens: 16, gen_tokens: 8}
"""


def test_eta_is_the_average_pace_so_far():
    assert eta_s(10.0, 0, 8) is None  # nothing done: unknown, never a guess
    assert eta_s(10.0, 2, 8) == pytest.approx(30.0)
    assert eta_s(40.0, 8, 8) == 0.0


def test_without_a_terminal_each_event_is_one_line_printed_once(write_config, tmp_path, cli):
    code, _, err = cli("run", write_config(SIM4), "--output", tmp_path)
    assert code == 0, err
    lines = err.splitlines()
    headers = [x for x in lines if x.startswith("[")]
    assert headers == ["[1/4] Qwen2-1.5B-Instruct/npu/a", "[2/4] Qwen2-1.5B-Instruct/npu/b",
                       "[3/4] Llama-3.2-3B-Instruct/npu/a", "[4/4] Llama-3.2-3B-Instruct/npu/b"]
    first = lines[lines.index(headers[0]) + 1: lines.index(headers[1])]
    assert [x.strip() for x in first[:4]] == ["loading", "warm-up 1/1", "rep 1/2", "rep 2/2"]
    assert first[4].startswith("  ✓ Qwen2-1.5B-Instruct/npu/a  ok")
    assert "tg 8.18 t/s (median, n=2, harness clock)" in first[4]
    # nothing printed twice: in each case's block every line is new
    starts = [lines.index(h) for h in headers] + [len(lines)]
    for a, b in itertools.pairwise(starts):
        block = lines[a:b]
        assert len(block) == len(set(block)), block


def test_quiet_prints_only_the_results_path(write_config, tmp_path, cli):
    code, out, err = cli("run", write_config(SIM4), "--output", tmp_path / "out", "--quiet")
    assert code == 0
    assert err == ""
    assert [x for x in out.splitlines() if x.strip()] == [
        f"results: {next((tmp_path / 'out').iterdir())}  (report: report.md, cases.jsonl)"]


def test_quiet_still_says_what_failed(write_config, tmp_path, cli):
    cfg = write_config(SIM4.replace("jitter: 0}", "jitter: 0, fail: {at: load}}"))
    code, out, err = cli("run", cfg, "--output", tmp_path, "--quiet")
    assert code == 1 and "results: " in out
    # one error line per failed case, and the final count
    assert err.count("error: ") == 4 and "simulated failure" in err, err


REAL4 = """
name: live
repetitions: 3
warmup: 0
models: [{name: m1}, {name: m2}]
backends:
  - {name: sim, type: mock, options: {profile: %s}}
workloads:
  - {name: w1, prompt_tokens: 10, gen_tokens: 40}
  - {name: w2, prompt_tokens: 10, gen_tokens: 40}
"""


@pytest.mark.skipif(shutil.which("tmux") is None,
                    reason="tmux is not installed (scripts/install-test-deps.sh installs it)")
def test_a_real_clock_run_in_a_terminal_shows_a_bar_elapsed_and_eta(tmp_path, fast_profile):
    """4 cases on the real clock, in a tmux pane (a real terminal, 160 columns): within 10 s
    the screen shows the bar, the elapsed time and an ETA with a value."""
    slow = fast_profile.read_text().replace("gen_tps: 100.0", "gen_tps: 20.0")
    fast_profile.write_text(slow)  # 3 reps x 40 tokens at 20 t/s: ~2 s a rep, ~25 s in all
    cfg = tmp_path / "live.yaml"
    cfg.write_text(REAL4 % fast_profile)
    session = f"pibench-test-{os.getpid()}"
    cmd = (f"cd {ROOT} && {sys.executable} -m bench run {cfg} --output {tmp_path / 'out'}; "
           "sleep 30")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "40", cmd],
                   check=True, env=env)
    try:
        deadline = time.monotonic() + 10
        seen = ""
        while time.monotonic() < deadline:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                    capture_output=True, text=True).stdout
            if "━" in screen and "elapsed 0:00:" in screen and "ETA 0:00:" in screen:
                seen = screen
                break
            time.sleep(0.25)
        assert seen, f"no bar with elapsed and ETA within 10 s; screen:\n{screen}"
        bar = next(x for x in seen.splitlines() if "ETA" in x)
        assert "generations" in bar and "/12" in bar  # 4 cases x 3 repetitions, no warm-up
        assert any("[" in x and "/4]" in x and "rep " in x for x in seen.splitlines())
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert Path(tmp_path / "out").is_dir()


def test_the_terminal_summary_fits_the_width(write_config, tmp_path, cli):
    import io

    from rich.console import Console

    from bench.cli.run import terminal_summary
    from bench.results.store import RunDir

    out = tmp_path / "out"
    code, _, _ = cli("run", write_config(SIM4), "--output", out, "--quiet")
    assert code == 0
    records = RunDir.open(next(out.iterdir())).cases()
    for width in (80, 160):
        buf = io.StringIO()
        terminal_summary(records, Console(file=buf, width=width))
        lines = buf.getvalue().splitlines()
        assert max(len(x) for x in lines) <= width
        text = buf.getvalue()
    assert "median over the measured" in text and "harness clock" in text  # no wrap at 160
    # the same figure as report.md's row (jitter 0: min = max, the median alone)
    row = next(x for x in text.splitlines() if "Qwen2-1.5B" in x and "tg8 [a]" in x)
    md = (next(out.iterdir()) / "report.md").read_text()
    md_row = next(x for x in md.splitlines() if "Qwen2-1.5B" in x and "tg8 [a]" in x)
    assert " 8.18 " in row and " 8.18 |" in md_row
