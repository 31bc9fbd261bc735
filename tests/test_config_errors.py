"""Malformed configs: each gives ONE line naming file, line and field, exit 2, no traceback."""

from __future__ import annotations

import pytest

from tests.conftest import run_pibench

GOOD_HEAD = """\
name: t
clock: virtual
models:
  - {name: Qwen2-1.5B-Instruct}
backends:
  - {name: npu, type: mock, options: {profile: hailo10h}}
"""

CASES = [
    # (config text, expected line number, expected fragment)
    (GOOD_HEAD + "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n"
     "  - name: w2\n    prompt_tokens: 8\n    gen_tokens: many\n",
     11, 'workloads[1].gen_tokens: expected a positive integer, got "many"'),
    (GOOD_HEAD + "workloads:\n  - {name: w, prompt_tokens: 0, gen_tokens: 4}\n",
     8, "workloads[0].prompt_tokens: expected a positive integer, got 0"),
    (GOOD_HEAD + "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4, gen_tokns: 5}\n",
     8, "workloads[0].gen_tokns: unknown key: did you mean 'gen_tokens'?"),
    (GOOD_HEAD + "workloads:\n  - {name: w, kind: chatty, prompts: [a], gen_tokens: 4}\n",
     8, "workloads[0].kind: expected 'throughput', 'chat' or 'completion', got \"chatty\""),
    (GOOD_HEAD + "workloads:\n  - {name: w, kind: throughput, gen_tokens: 4}\n",
     8, "workloads[0]: a throughput workload needs prompt_tokens"),
    ("name: t\nmodels:\n  - {name: m}\nbackends:\n  - {name: b, type: lama_cpp}\n"
     "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n",
     5, "backends[0].type: unknown backend 'lama_cpp': did you mean 'llama_cpp'?"),
    (GOOD_HEAD.replace("{profile: hailo10h}", "{profile: hailo10h, jiter: 0}")
     + "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n",
     6, "backends[0].options.jiter: unknown key: did you mean 'jitter'?"),
    (GOOD_HEAD + "repetitions: -3\nworkloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n",
     7, "repetitions: expected a positive integer, got -3"),
    ("name: t\nmodels: []\nbackends:\n  - {name: b, type: mock}\n"
     "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n",
     2, "models: expected at least 1 item"),
    ("name: t\nmodels:\n  - {name: m}\nbackends:\n  - {name: b, type: mock}\n",
     1, "(top level): missing required field 'workloads'"),
    ("name: t\nmodels:\n  - {name: m\nbackends: [\n", 4, "invalid YAML"),
    (GOOD_HEAD + "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n"
     "  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n",
     7, "workloads: the name 'w' is used twice"),
    (GOOD_HEAD + "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n"
     "meters:\n  - {type: pmic}\n",
     10, "meters[0].type: unknown meter 'pmic': did you mean 'pi5-pmic'?"),
    (GOOD_HEAD + "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n"
     "meters:\n  - {type: pi5-pmic, transport: mailbx}\n",
     10, "meters[0].transport: expected 'auto', 'mailbox' or 'vcgencmd', got \"mailbx\""),
    ("name: t\nclock: virtual\nmodels:\n  - {name: m, artifacts: {cpu: {gguf: x.gguf}}}\n"
     "backends:\n  - {name: cpu, type: llama_cpp}\n"
     "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n",
     6, "backends[0].type: clock: virtual needs every backend to be simulated (mock)"),
    ("name: t\nmodels:\n  - name: m\n    artifacts: {gpu: {gguf: x}}\n"
     "backends:\n  - {name: cpu, type: mock}\n"
     "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n",
     4, "models[0].artifacts.gpu: no backend named 'gpu'"),
    ("name: has space\nmodels:\n  - {name: m}\nbackends:\n  - {name: b, type: mock}\n"
     "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n",
     1, 'name: expected a name of ASCII letters'),
    ("- just\n- a list\n", 1, "expected a mapping"),
    # a workload no backend of the config can take: images on a text-only mock
    (GOOD_HEAD + "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n"
     "  - name: look\n    prompt_tokens: 8\n    gen_tokens: 4\n"
     "    images: [generated:64x64]\n",
     12, "workloads[1].images: no backend in this config can take it (mock takes no images"),
]


@pytest.mark.parametrize(("text", "line", "fragment"), CASES)
def test_bad_config_one_line_exit_2(tmp_path, text, line, fragment):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    proc = run_pibench("validate", str(path))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines, "no error printed"
    assert lines[0].startswith(f"{path}:{line}: "), lines[0]
    assert fragment in lines[0], lines[0]


def test_run_with_bad_config_gives_one_line(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(CASES[0][0])
    proc = run_pibench("run", str(path), "--output", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists(), "no run folder for a config that does not load"


def test_missing_config_file(cli, tmp_path):
    code, _, err = cli("validate", tmp_path / "nope.yaml")
    assert code == 2
    assert "config file not found" in err


def test_validate_lists_every_error(cli, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(GOOD_HEAD + "repetitions: 0\nwarmup: -1\n"
                    "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n")
    code, _, err = cli("validate", path)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert "repetitions" in lines[0] and "warmup" in lines[1]


def test_missing_model_file_is_a_user_error_before_any_load(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("name: t\nmodels:\n  - name: m\n    artifacts:\n"
                    f"      cpu: {{gguf: {tmp_path}/nope.gguf}}\n"
                    "backends:\n  - {name: cpu, type: llama_cpp}\n"
                    "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n")
    proc = run_pibench("run", str(path), "--output", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().endswith(f"GGUF model file not found: {tmp_path}/nope.gguf")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_validate_notes_a_missing_model_file_and_strict_refuses_it(cli, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("name: t\nmodels:\n  - name: m\n    artifacts:\n"
                    f"      cpu: {{gguf: {tmp_path}/nope.gguf}}\n"
                    "backends:\n  - {name: cpu, type: llama_cpp}\n"
                    "workloads:\n  - {name: w, prompt_tokens: 8, gen_tokens: 4}\n")
    code, out, err = cli("validate", path)
    assert code == 0, err
    assert "note:" in out and "nope.gguf" in out and "needed on the machine" in out
    code, out, err = cli("validate", "--strict", path)
    assert code == 2 and "ok:" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "nope.gguf" in lines[0] and lines[0].startswith(f"{path}:5"), lines
