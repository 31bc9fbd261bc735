"""One pre-flight shared by `pibench run` and `pibench validate --online`: every server a
config names answers a real HTTP request (issue 14). `run` with a stopped server exits 2
before making a run folder; `validate --online` lists it at its file:line among the config's
other problems, in one pass."""

from __future__ import annotations

import socket

from bench.config.loader import load_config
from bench.runner.plan import build_plan
from bench.runner.servers import check_servers
from tests.fakes.servers import FakeServer

CONFIG = """
name: srv
repetitions: 1
warmup: 0
models:
  - {name: m, artifacts: {srv: {model: "qwen2.5:1.5b"}, oai: {model: "x"}}}
backends:
  - name: srv
    type: ollama
    options: {base_url: "%s"}
  - name: oai
    type: openai
    options: {base_url: "%s"}
workloads:
  - {name: w, kind: throughput, prompt_tokens: 8, gen_tokens: 4}
"""

WITH_BAD_PROMPTS = CONFIG + """\
  - {name: c, kind: chat, gen_tokens: 4, prompts: missing.txt}
"""


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


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


def test_servers_that_answer_pass_and_get_the_probe_request(write_config):
    with FakeServer("ollama") as ollama, FakeServer("llama-server") as llama:
        cfg = load_config(write_config(CONFIG % (ollama.url, llama.url)))
        cases, _ = build_plan(cfg)
        assert check_servers(cfg, cases) == []
        assert ollama.paths() == ["/api/version"]
        assert llama.paths() == ["/v1/models"]


def test_a_port_that_accepts_but_never_answers_is_a_problem(write_config, monkeypatch):
    """The TCP pre-flight of before let this through: a socket that listens, no server."""
    monkeypatch.setattr("bench.runner.servers.TIMEOUT_S", 0.5)
    with socket.socket() as s, FakeServer("openai") as oai:
        s.bind(("127.0.0.1", 0))
        s.listen()
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        cfg = load_config(write_config(CONFIG % (url, oai.url)))
        cases, _ = build_plan(cfg)
        problems = check_servers(cfg, cases)
    assert [p.line for p in problems] == [9]
    assert f"no answer at {url} to GET /api/version within 0.5 s" in problems[0].text


def test_a_server_of_another_kind_is_named(write_config):
    """An ollama backend pointed at an OpenAI-compatible server: it answers, but 404."""
    with FakeServer("openai") as oai:
        cfg = load_config(write_config(CONFIG % (oai.url, oai.url)))
        cases, _ = build_plan(cfg)
        problems = check_servers(cfg, cases)
    assert len(problems) == 1 and problems[0].line == 9
    assert "answered GET /api/version with 404: not this kind of server" in problems[0].text


def test_validate_online_lists_servers_among_other_problems_in_one_pass(write_config, cli):
    with FakeServer("openai") as oai:
        cfg = write_config(WITH_BAD_PROMPTS % (_free_port(), oai.url))
        code, out, err = cli("validate", "--online", cfg)
    assert code == 2 and "ok" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith(f"{cfg}:9: backends[0].options.base_url: backend 'srv': "
                               "no server answers at http://127.0.0.1:")
    assert lines[1].startswith(f"{cfg}:15: workloads[1].prompts: ") and "missing.txt" in lines[1]


def test_validate_without_online_does_not_touch_the_network(write_config, cli):
    cfg = write_config(CONFIG % (_free_port(), _free_port()))
    code, out, err = cli("validate", cfg)
    assert code == 0 and f"{cfg}: ok" in out and err == ""
    code, _, err = cli("validate", "--online", cfg)
    assert code == 2 and len(err.strip().splitlines()) == 2
