"""HostLoad: CPU time used by *other* processes while a case is measured."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bench.report.markdown import legend
from bench.runner.hostload import BUSY_PCT, MIN_WINDOW_S, HostLoad

SPIN = "import time\nt = time.monotonic() + {s}\nwhile time.monotonic() < t: pass\n"


def _detached_spinners(n: int, seconds: float, folder: Path) -> float:
    """n busy loops that are NOT our descendants (their shell parent exits at once);
    returns the monotonic time by which they are done."""
    script = folder / "spin.py"
    script.write_text(SPIN.format(s=seconds))
    line = " ".join(f"'{sys.executable}' '{script}' &" for _ in range(n))
    subprocess.run(["sh", "-c", line + " exit 0"], check=True)
    return time.monotonic() + seconds + 0.5


def test_other_processes_are_counted(tmp_path: Path) -> None:
    cores = psutil.cpu_count() or 1
    n = min(cores, 4)
    done = _detached_spinners(n, 2.0, tmp_path)
    time.sleep(0.3)  # let them start
    with HostLoad() as load:
        time.sleep(1.5)
    s = load.summary()
    time.sleep(max(0.0, done - time.monotonic()))  # leave a quiet machine to the next test
    assert s is not None and s["cores"] == cores and s["window_s"] >= 1.5
    # n spinning cores out of `cores`: at least half of that must show
    assert s["other_cpu_pct"] >= 50 * n / cores, s
    assert s["busy"] is True and s["other_cpu_pct"] >= BUSY_PCT


def test_our_own_children_are_not_noise() -> None:
    cores = psutil.cpu_count() or 1
    # the same window without the child first: whatever else runs on this machine (another
    # job of a shared CI host) shows in both, so only the difference is the child's
    with HostLoad() as base:
        time.sleep(1.5)
    child = subprocess.Popen([sys.executable, "-c", SPIN.format(s=1.6)])
    try:
        with HostLoad() as load:
            time.sleep(1.5)
    finally:
        child.wait()
    b, s = base.summary(), load.summary()
    assert b is not None and s is not None
    # counted as other, the child would add a whole core: 100 / cores % of the machine;
    # ours, it adds nothing (half a core of margin for the background changing)
    assert s["other_cpu_pct"] - b["other_cpu_pct"] < 50 / cores, (b, s)


def test_a_window_too_short_gives_null_figures_with_the_reason() -> None:
    with HostLoad() as load:
        time.sleep(0.05)
    s = load.summary()
    assert s is not None and s["window_s"] < MIN_WINDOW_S
    assert (s["other_cpu_pct"], s["steal_pct"], s["busy"], s["server"]) == (None, None, None, None)
    assert s["reason"] is not None and "under 1 s" in s["reason"] and "10 ms ticks" in s["reason"]


def test_a_short_real_case_reads_host_load_na_in_every_table(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.report.markdown import render
    from bench.report.servers import server_table
    from bench.runner.session import start_run

    monkeypatch.syspath_prepend(str(Path(__file__).parent / "fakes"))
    import servers  # tests/fakes/servers.py: a fake Ollama (its sources cited there)

    with servers.FakeServer("ollama", script=servers.Script(tokens=[" Paris", "."])) as srv:
        cfg = tmp_path / "short.yaml"  # JSON is YAML
        cfg.write_text(json.dumps({
            "name": "short", "repetitions": 2, "warmup": 0,
            "models": [{"name": "base", "artifacts": {"srv": {"model": "qwen2.5:1.5b"}}}],
            "backends": [{"name": "srv", "type": "ollama", "options": {"base_url": srv.url}}],
            "workloads": [{"name": "tg2", "kind": "throughput", "prompt_tokens": 4,
                           "gen_tokens": 2}]}))
        result = start_run(cfg, output_dir=tmp_path / "out", quiet=True)
    assert result.exit_code == 0
    (rec,) = list(result.run_dir.cases())
    load = rec["host_load"]
    assert load["window_s"] < MIN_WINDOW_S, load  # two 2-token answers from a local fake
    assert load["other_cpu_pct"] is None and load["busy"] is None
    assert load["reason"].startswith("the measured repetitions lasted ")
    assert "host load n/a" in rec["labels"] and "busy host" not in rec["labels"]
    text = render([rec], "t")
    bench_rows = [line for line in text.splitlines() if line.startswith("| base ")]
    assert bench_rows and all("host load n/a" in line for line in bench_rows), text
    assert "- host load n/a: the measured repetitions lasted under 1 s" in text
    # the servers table (the one with an "other %" column) reads n/a, not a blank
    table = server_table([rec]).splitlines()
    col = [c.strip() for c in table[0].strip("|").split("|")].index("other %")
    assert [c.strip() for c in table[2].strip("|").split("|")][col] == "n/a", table


def test_busy_host_is_explained_in_the_legend() -> None:
    rec = {"labels": ["busy host"], "status": "ok",
           "host_load": {"other_cpu_pct": 37.5, "busy": True}}
    text = legend([rec])
    assert "busy host: other processes used CPU time" in text and "up to 38 %" in text
