"""llama.cpp's own llama-server (built by scripts/build_llama_bench.sh from the llama.cpp source
llama-cpp-python vendors) beside the in-process llama_cpp backend, on the real Gemma 3 270M,
one config, run by `pibench run` as a user would.

What must hold: both prompts are 256 tokens by the runtime's own count; the server's CPU time
is reported per case and is the workload, not "other processes" (no busy-host label from it);
pp and tg of the two agree within TOLERANCE; and a process burning a core beside the server
still gets the case labelled busy host.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.conftest import run_pibench

GEMMA = Path.home() / ".cache" / "pibench" / "models" / "gemma3-270m-q4_k_m.gguf"
TOLERANCE = 0.30
"""pp and tg of the server within ±30 % of the in-process backend's (the same kernels: the
issue measured 7 % and 6 % apart; the margin covers a CI host's noise)."""
PP, TG, REPS = 256, 64, 3
pytestmark = [pytest.mark.llama, pytest.mark.gemma, pytest.mark.slow]


def _binary() -> Path | None:
    env = os.environ.get("PIBENCH_LLAMA_SERVER")
    if env:
        return Path(env)
    try:
        import llama_cpp
    except ImportError:
        return None
    cache = Path(os.environ.get("PIBENCH_CACHE", Path.home() / ".cache" / "pibench"))
    return cache / "llama-bench" / llama_cpp.__version__ / "build" / "bin" / "llama-server"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = _binary()
    if binary is None or not binary.is_file():
        pytest.skip(f"llama-server not built ({binary}): run "
                    "`bash scripts/build_llama_bench.sh .venv/bin/python llama-server`")
    if not GEMMA.is_file():
        pytest.skip(f"{GEMMA} missing: run `pibench models install gemma3-270m`")
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(binary), "-m", str(GEMMA), "-t", "2", "-c", "4096", "-np", "1",
             "--alias", "gemma3-270m", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail("llama-server exited: " + log_path.read_text()[-2000:])
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama-server not ready in 120 s: " + log_path.read_text()[-2000:])
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(textwrap.dedent(f"""
        name: server-vs-inprocess
        output_dir: {tmp_path / "results"}
        repetitions: {REPS}
        warmup: 1
        models:
          - name: gemma3-270m
            params_b: 0.27
            artifacts:
              cpu: {{gguf: "{GEMMA}"}}
              server: {{model: gemma3-270m}}
        backends:
          - {{name: cpu, type: llama_cpp, options: {{threads: 2, n_ctx: 4096}}}}
          - name: server
            type: openai
            options: {{base_url: "{url}", runs_on: cpu, tokenize: llama-server,
                       force_length: true}}
        workloads:
          - {{name: pp{PP}-tg{TG}, kind: throughput, prompt_tokens: {PP}, gen_tokens: {TG}}}
        """))
    return path


def _run(tmp_path: Path, url: str, *args: str) -> dict[str, dict[str, Any]]:
    proc = run_pibench("run", str(_config(tmp_path, url)), "--quiet", *args, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir,) = (tmp_path / "results").iterdir()
    lines = (run_dir / "cases.jsonl").read_text().splitlines()
    return {r["backend"]["name"]: r for r in map(json.loads, lines)}


def _median(record: dict[str, Any], key: str) -> float:
    s = record["summary"][key]
    assert s["n"] == REPS, (key, s)
    return float(s["median"])


@pytest.mark.timeout(900)
def test_server_and_in_process_measured_alike(server: str, tmp_path: Path) -> None:
    cases = _run(tmp_path, server)
    cpu, srv = cases["cpu"], cases["server"]
    assert cpu["status"] == srv["status"] == "ok", (cpu.get("error"), srv.get("error"))
    # the prompt asked for, by each runtime's own count (perf counters / server usage)
    for r in (cpu, srv):
        assert [rep["prompt_tokens"] for rep in r["reps"]] == [PP] * REPS, r["reps"]
        assert [rep["gen_tokens"] for rep in r["reps"]] == [TG] * REPS
        assert not any(lab.startswith("prompt ") for lab in r["labels"]), r["labels"]
    assert all(rep["prompt_tokens_method"] == "server usage.prompt_tokens"
               for rep in srv["reps"])
    assert all(rep["internal"]["prompt_tokens"] + rep["internal"]["cached_tokens"] == PP
               for rep in srv["reps"])  # llama-server's timings agree: prompt_n + cache_n
    # the whole prompt processed every time (cache_prompt: false), so a prompt speed exists
    assert [rep["prompt_cached_tokens"] for rep in srv["reps"]] == [0] * REPS
    assert all(rep["internal_prompt_tps"] for rep in srv["reps"])
    # the server's processes found by its port, its CPU time reported as the workload
    load = srv["host_load"]
    s = load["server"]
    assert s["seen"] and s["found_by"] == f"listening on port {server.rsplit(':', 1)[1]}"
    assert s["names"] == ["llama-server"] and s["rss_mb"] > 50
    # -t 2: the server did the work of the case. On a quiet host it keeps more than half a core
    # busy; other processes on a shared CI host can take most of it, so the bound is low but
    # not zero (a server left out of the reading shows 0)
    assert s["cpu_cores"] >= 0.1, s
    assert cpu["host_load"]["server"] is None  # in process: no server
    # left out of "other processes": the server case sees no more others than the in-process
    # case next to it (counted as other, the server would add its whole cpu_pct)
    assert load["other_cpu_pct"] <= cpu["host_load"]["other_cpu_pct"] + s["cpu_pct"] / 2, (
        load, cpu["host_load"])
    if not cpu["host_load"]["busy"]:  # a quiet machine (CI): no busy-host label either
        assert "busy host" not in srv["labels"], load
    # the same kernels on the same prompt: the same speed, within the tolerance
    for key in ("internal_prompt_tps", "internal_gen_tps"):
        a, b = _median(cpu, key), _median(srv, key)
        assert abs(b / a - 1) <= TOLERANCE, (key, a, b)


SPIN = "import time\nt = time.monotonic() + {s}\nwhile time.monotonic() < t: pass\n"


@pytest.mark.timeout(600)
def test_a_process_burning_a_core_beside_the_server_is_a_busy_host(server: str,
                                                                    tmp_path: Path) -> None:
    # one core burnt by a process that is neither pibench's nor the server's (a detached
    # process, as another user's job would be), for longer than the run
    script = tmp_path / "spin.py"
    script.write_text(SPIN.format(s=1800))  # stopped below
    line = f"'{sys.executable}' '{script}' </dev/null >/dev/null 2>&1 & echo $!"
    pid = int(subprocess.run(["sh", "-c", line], check=True, capture_output=True,
                             text=True).stdout.strip())
    try:
        cases = _run(tmp_path, server, "--backends", "server")
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).terminate()
    srv = cases["server"]
    assert srv["status"] == "ok", srv.get("error")
    # the same prompts as the run before on the same server: none restored from its
    # host-memory prompt cache
    assert [rep["prompt_cached_tokens"] for rep in srv["reps"]] == [0] * REPS
    load = srv["host_load"]
    assert "busy host" in srv["labels"], load
    assert load["server"]["seen"] and load["server"]["cpu_pct"] > 0
    assert pid not in load["server"]["pids"]
