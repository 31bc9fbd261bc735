"""`pibench run` with a stopped server exits 2 before making a run folder (issue 14)."""

from __future__ import annotations

import socket

from bench.config.loader import load_config
from bench.runner.plan import build_plan
from bench.runner.servers import check_servers

CONFIG = """
name: srv
repetitions: 1
warmup: 0
models:
  - {name: m, artifacts: {srv: {model: "qwen2:1.5b"}, oai: {model: "x"}}}
backends:
  - name: srv
    type: ollama
    options: {base_url: "http://127.0.0.1:%d"}
  - name: oai
    type: openai
    options: {base_url: "http://127.0.0.1:%d"}
workloads:
  - {name: w, kind: throughput, prompt_tokens: 8, gen_tokens: 4}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_stopped_servers_exit_2_with_one_line_each_and_no_folder(write_config, tmp_path, cli):
    cfg = write_config(CONFIG % (_free_port(), _free_port()))
    code, _, err = cli("run", cfg, "--output", tmp_path / "out")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in err
    assert lines[0].startswith(f"pibench: error: {cfg}:9: backends[0].options.base_url: "
                               "backend 'srv': no server answers at http://127.0.0.1:")
    assert f"{cfg}:12: backends[1].options.base_url: backend 'oai'" in lines[1]
    assert not (tmp_path / "out").exists()


def test_a_listening_server_passes(write_config):
    with socket.socket() as a, socket.socket() as b:
        for s in (a, b):
            s.bind(("127.0.0.1", 0))
            s.listen()
        cfg = load_config(write_config(CONFIG % (a.getsockname()[1], b.getsockname()[1])))
        cases, _ = build_plan(cfg)
        assert check_servers(cfg, cases) == []
