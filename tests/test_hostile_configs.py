"""Hostile and careless configs: each gives one line and exit 2 through the CLI's entry
function, never a traceback, and never leaves a run folder behind (issue 12).

Every config is run with ``pibench run`` (one line on stderr, no folder in --output) and
checked with ``pibench validate`` (every line names the file; exit 2, or 0 with a note when
only a model file is missing, since model files may exist only on the machine that runs it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

BASE = """\
name: h
clock: virtual
repetitions: 2
warmup: 0
models:
  - {name: Qwen2-1.5B-Instruct}
backends:
  - {name: b, type: mock, options: {profile: pi5-cpu, jitter: 0}}
workloads:
  - {name: w, prompt_tokens: 8, gen_tokens: 4}
"""

CHAT = BASE.replace("{name: w, prompt_tokens: 8, gen_tokens: 4}",
                    "{name: w, kind: chat, gen_tokens: 4, prompts: PROMPTS}")
LLAMA = """\
name: h
models:
  - name: m
    artifacts:
      cpu: {gguf: GGUF}
backends:
  - {name: cpu, type: llama_cpp}
workloads:
  - {name: w, prompt_tokens: 8, gen_tokens: 4}
"""

VLM = """\
name: h
models:
  - name: m
    artifacts:
      cpu: {gguf: "synth:qwen2-vl-2b-instruct:q4_k_m"}
backends:
  - {name: cpu, type: llama_cpp_vlm}
workloads:
  - {name: w, prompt_tokens: 8, gen_tokens: 4, images: [IMAGE]}
"""


def _nested(n: int) -> str:
    return "[" * n + "]" * n


def _bomb() -> str:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n" + BASE


def _with(key: str, value: str) -> str:
    """BASE with ``key: value`` at the top level (replacing the key's line if BASE has one)."""
    lines = [line for line in BASE.splitlines() if not line.startswith(f"{key}:")]
    return "\n".join([lines[0], f"{key}: {value}", *lines[1:]]) + "\n"


def _mock(opts: str) -> str:
    return BASE.replace("{profile: pi5-cpu, jitter: 0}", "{" + opts + "}")


def _wl(fields: str) -> str:
    return BASE.replace("{name: w, prompt_tokens: 8, gen_tokens: 4}", "{name: w, " + fields + "}")


GOOD_PROFILE = """\
name: p
device: d
source: test
power: {idle_w: 1.0, busy_w: 2.0, covers: test}
models:
  Qwen2-1.5B-Instruct: {gen_tps: 10.0, ttft_s: 0.1, load_s: 0.1}
"""

# (id, config text, files to write beside it {name: bytes|str}, fragment of the message,
#  exit code of `validate`)
CASES: list[tuple[str, str, dict[str, bytes | str], str, int]] = [
    # -- YAML structure -----------------------------------------------------------------
    ("alias-bomb", _bomb(), {}, "alias bomb", 2),
    ("alias-cycle", "x: &a [1, *a]\n" + BASE, {}, "cycle", 2),
    ("alias-cycle-map", "x: &a {k: *a}\n" + BASE, {}, "cycle", 2),
    ("merge-loop", "x: &a\n  <<: *a\n  k: 1\n" + BASE, {}, "cycle", 2),
    ("nested-5000-lists", "x: " + _nested(5000) + "\n" + BASE, {}, "nested deeper", 2),
    ("nested-5000-maps", "x: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n" + BASE, {},
     "nested deeper", 2),
    ("duplicate-top-key", BASE + "name: again\n", {}, "duplicate key 'name'", 2),
    ("duplicate-flow-key", BASE.replace("{name: b, type: mock,", "{name: b, name: c, type: mock,"),
     {}, "duplicate key 'name'", 2),
    ("duplicate-workload-key", _wl("prompt_tokens: 8, gen_tokens: 4, gen_tokens: 5"), {},
     "duplicate key 'gen_tokens'", 2),
    ("tab-indent", BASE.replace("  - {name: b", "\t- {name: b"), {}, "invalid YAML", 2),
    ("unclosed-quote", BASE.replace("name: h", 'name: "h'), {}, "invalid YAML", 2),
    ("binary-file", "\x00\x01\x02garbage", {}, "binary", 2),
    ("empty-file", "", {}, "expected a mapping", 2),
    ("top-level-list", "- a\n- b\n", {}, "expected a mapping", 2),
    ("top-level-scalar", "hello\n", {}, "expected a mapping", 2),
    ("python-tag", BASE + "x: !!python/object/apply:os.system ['true']\n", {},
     "invalid YAML", 2),
    ("bad-timestamp", BASE.replace("name: h", "name: h\ndescription: 2001-13-45"), {},
     "invalid YAML", 2),
    ("huge-int-digits", _with("repetitions", "1" * 500), {}, "too large", 2),
    ("two-documents", BASE + "---\n" + BASE, {}, "invalid YAML", 2),
    ("nul-in-output-dir", _with("output_dir", '"out\\0dir"'), {}, "NUL byte", 2),
    ("nul-in-name", BASE.replace("name: h", 'name: "h\\0x"'), {}, "NUL byte", 2),
    # -- numbers ------------------------------------------------------------------------
    ("repetitions-nan", _with("repetitions", ".nan"), {}, "not a finite number", 2),
    ("repetitions-inf", _with("repetitions", ".inf"), {}, "not a finite number", 2),
    ("cooldown-inf", _with("cooldown_s", ".inf"), {}, "not a finite number", 2),
    ("idle-inf", _with("idle_s", ".inf"), {}, "not a finite number", 2),
    ("idle-minus-inf", _with("idle_s", "-.inf"), {}, "not a finite number", 2),
    ("cooldown-nan", _with("cooldown_s", ".NaN"), {}, "not a finite number", 2),
    ("temperature-nan", _wl("prompt_tokens: 8, gen_tokens: 4, sampling: {temperature: .nan}"),
     {}, "not a finite number", 2),
    ("top-p-inf", _wl("prompt_tokens: 8, gen_tokens: 4, sampling: {top_p: .inf}"), {},
     "not a finite number", 2),
    ("params-nan", BASE.replace("{name: Qwen2-1.5B-Instruct}",
                                "{name: Qwen2-1.5B-Instruct, params_b: .nan}"), {},
     "not a finite number", 2),
    ("jitter-nan", _mock("profile: pi5-cpu, jitter: .nan"), {}, "not a finite number", 2),
    ("timeout-inf", _mock("profile: pi5-cpu, read_timeout_s: .inf"), {},
     "not a finite number", 2),
    ("timeout-inf-text", _mock('profile: pi5-cpu, read_timeout_s: "inf"'), {},
     "finite number", 2),
    ("cooldown-overflow", _with("cooldown_s", "1.0e+400"), {}, "not a finite number", 2),
    ("repetitions-1e3", _with("repetitions", "1e3"), {}, "YAML 1.1 reads 1e3 as text", 2),
    ("gen-tokens-1e3", _wl("prompt_tokens: 8, gen_tokens: 1e3"), {},
     "YAML 1.1 reads 1e3 as text", 2),
    ("repetitions-10e21", _with("repetitions", "1000000000000000000000"), {}, "at most 10000", 2),
    ("gen-tokens-10e11", _wl("prompt_tokens: 8, gen_tokens: 100000000000"), {},
     "at most 1000000", 2),
    ("prompt-tokens-10e11", _wl("prompt_tokens: 100000000000, gen_tokens: 4"), {},
     "at most 1000000", 2),
    ("warmup-10e9", _with("warmup", "1000000000"), {}, "at most 1000", 2),
    ("seed-2e40", _wl("prompt_tokens: 8, gen_tokens: 4, sampling: {seed: 1099511627776}"), {},
     "at most 4294967295", 2),
    ("cooldown-year", _with("cooldown_s", "31536000.0"), {}, "at most 86400", 2),
    ("negative-repetitions", _with("repetitions", "-3"), {}, "positive integer", 2),
    ("bool-repetitions", _with("repetitions", "true"), {}, "positive integer", 2),
    ("context-too-small", LLAMA.replace("{name: cpu, type: llama_cpp}",
                                        "{name: cpu, type: llama_cpp, options: {n_ctx: 64}}")
     .replace("prompt_tokens: 8, gen_tokens: 4", "prompt_tokens: 60, gen_tokens: 10"),
     {}, "does not fit the context", 2),
    ("n-ctx-huge", LLAMA.replace("{name: cpu, type: llama_cpp}",
                                 "{name: cpu, type: llama_cpp, options: {n_ctx: 1000000000000}}"),
     {}, "n_ctx", 2),
    # -- names --------------------------------------------------------------------------
    ("name-240", BASE.replace("name: h", "name: " + "n" * 240), {}, "at most 100 characters", 2),
    ("model-name-240", BASE.replace("{name: Qwen2-1.5B-Instruct}", "{name: " + "m" * 240 + "}"),
     {}, "at most 100 characters", 2),
    ("name-non-ascii", BASE.replace("name: h", "name: modèle"), {}, "ASCII letters", 2),
    ("name-slash", BASE.replace("name: h", "name: a/b"), {}, "ASCII letters", 2),
    # -- files the config names ---------------------------------------------------------
    ("prompts-missing", CHAT.replace("PROMPTS", "nope.txt"), {}, "not found", 2),
    ("prompts-empty", CHAT.replace("PROMPTS", "p.txt"), {"p.txt": ""}, "no prompts", 2),
    ("prompts-blank-lines", CHAT.replace("PROMPTS", "p.txt"), {"p.txt": "\n  \n\n"},
     "no prompts", 2),
    ("prompts-binary", CHAT.replace("PROMPTS", "p.txt"), {"p.txt": b"\x00\xff\x10abc"},
     "binary", 2),
    ("prompts-latin1", CHAT.replace("PROMPTS", "p.txt"), {"p.txt": "caf\xe9\n".encode("latin-1")},
     "not UTF-8", 2),
    ("prompts-yaml-mapping", CHAT.replace("PROMPTS", "p.yaml"), {"p.yaml": "a: 1\n"},
     "YAML list of non-empty strings", 2),
    ("prompts-yaml-numbers", CHAT.replace("PROMPTS", "p.yaml"), {"p.yaml": "- 1\n- 2\n"},
     "YAML list of non-empty strings", 2),
    ("prompts-yaml-bomb", CHAT.replace("PROMPTS", "p.yaml"),
     {"p.yaml": "".join(f"- {line.split(': ', 1)[1]}\n" for line in _bomb().splitlines()[:9])},
     "alias bomb", 2),
    ("prompts-yaml-invalid", CHAT.replace("PROMPTS", "p.yaml"), {"p.yaml": "- [unclosed\n"},
     "invalid YAML", 2),
    ("prompts-empty-list", CHAT.replace("PROMPTS", "[]"), {}, "empty list of prompts", 2),
    ("prompts-blank-item", CHAT.replace("PROMPTS", '["ok", "  "]'), {}, "prompt 2 is empty", 2),
    ("prompts-builtin-unknown", CHAT.replace("PROMPTS", "builtin:nope"), {},
     "unknown prompt set", 2),
    ("prompts-directory", CHAT.replace("PROMPTS", "pdir"), {"pdir/": ""}, "not found", 2),
    ("profile-missing-file", _mock("profile: nope.yaml"), {}, "mock profile", 2),
    ("profile-unknown-name", _mock("profile: nope"), {}, "mock profile 'nope' not found", 2),
    ("profile-traversal", _mock("profile: ../../etc/passwd"), {}, "not found", 2),
    ("profile-invalid-yaml", _mock("profile: prof.yaml"), {"prof.yaml": "name: [\n"},
     "invalid YAML", 2),
    ("profile-nan", _mock("profile: prof.yaml"),
     {"prof.yaml": GOOD_PROFILE.replace("gen_tps: 10.0", "gen_tps: .nan")},
     "not a finite number", 2),
    ("profile-duplicate-key", _mock("profile: prof.yaml"),
     {"prof.yaml": GOOD_PROFILE + "name: again\n"}, "duplicate key", 2),
    ("profile-binary", _mock("profile: prof.yaml"), {"prof.yaml": b"\x00\x00\x00"}, "binary", 2),
    ("synth-unknown-preset", LLAMA.replace("GGUF", "synth:nope-model:q4_k_m"), {},
     "unknown model preset", 2),
    ("synth-unknown-quant", LLAMA.replace("GGUF", "synth:qwen2.5-0.5b-instruct:q9_z"), {},
     "unsupported quantization", 2),
    ("gguf-missing", LLAMA.replace("GGUF", "nope.gguf"), {}, "GGUF model file not found", 0),
    ("gguf-directory", LLAMA.replace("GGUF", "gdir"), {"gdir/": ""}, "is not a file", 0),
    ("image-too-small", _wl("prompt_tokens: 8, gen_tokens: 4, images: [generated:1x1]"), {},
     "generated:WIDTHxHEIGHT", 2),
    ("image-missing", VLM.replace("IMAGE", "nope.png"), {}, "image not found", 2),
    ("image-directory", VLM.replace("IMAGE", "imgdir"), {"imgdir/": ""}, "image is not a file", 2),
    ("meter-unknown", BASE + "meters:\n  - {type: nope}\n", {}, "unknown meter", 2),
]


def _materialize(tmp_path: Path, text: str, files: dict[str, bytes | str]) -> Path:
    for name, content in files.items():
        if name.endswith("/"):
            (tmp_path / name).mkdir()
            continue
        data = content.encode() if isinstance(content, str) else content
        (tmp_path / name).write_bytes(data)
    text = text.replace("gguf: nope.gguf", f"gguf: {tmp_path}/nope.gguf")
    text = text.replace("gguf: gdir", f"gguf: {tmp_path}/gdir")
    text = text.replace("profile: prof.yaml", f"profile: {tmp_path}/prof.yaml")
    text = text.replace("profile: nope.yaml", f"profile: {tmp_path}/nope.yaml")
    cfg = tmp_path / "hostile.yaml"
    cfg.write_bytes(text.encode("utf-8", "surrogateescape"))
    return cfg


@pytest.mark.parametrize(("text", "files", "fragment", "validate_code"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_config_one_line_exit_2_no_folder(tmp_path, cli, monkeypatch, text, files,
                                                  fragment, validate_code):
    monkeypatch.chdir(tmp_path)
    cfg = _materialize(tmp_path, text, files)
    out = tmp_path / "out"
    code, stdout, err = cli("run", cfg, "--output", out, "--quiet")
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("pibench: error: "), lines[0]
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in err
    assert not out.exists() or not any(out.iterdir()), list(out.iterdir())

    code, stdout, err = cli("validate", cfg)
    assert code == validate_code, (stdout, err)
    if validate_code:
        assert err.strip(), "validate printed nothing"
        for line in err.strip().splitlines():
            assert line.startswith(str(cfg)) or line.startswith("pibench: error: "), line
    else:
        assert "note:" in stdout and fragment in stdout, stdout


def test_at_least_sixty_hostile_configs():
    assert len(CASES) >= 60
    assert len({c[0] for c in CASES}) == len(CASES)


def test_validate_lists_every_file_problem_ordered_by_line(tmp_path, cli):
    text = """\
name: h
clock: virtual
models:
  - {name: Qwen2-1.5B-Instruct}
backends:
  - {name: b, type: mock, options: {profile: PROF}}
workloads:
  - {name: w1, kind: chat, gen_tokens: 4, prompts: missing.txt}
  - {name: w2, kind: chat, gen_tokens: 4, prompts: []}
  - {name: w3, kind: chat, gen_tokens: 4, prompts: empty.txt}
""".replace("PROF", f"{tmp_path}/noprofile.yaml")
    (tmp_path / "empty.txt").write_text("")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    code, _, err = cli("validate", cfg)
    lines = err.strip().splitlines()
    assert code == 2
    assert [int(line.split(":")[1]) for line in lines] == [6, 8, 9, 10], lines
    assert "mock profile" in lines[0] and "missing.txt" in lines[1]
    code, _, err = cli("run", cfg, "--output", tmp_path / "out", "--quiet")
    # `pibench run` prints every problem too, one line each, ordered by line (issue 14)
    run_lines = err.strip().splitlines()
    assert code == 2 and [int(x.split(":")[3]) for x in run_lines] == [6, 8, 9, 10], run_lines
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop the capabilities that let "
                    "root read any file (a plain user cannot read mode-000 files anyway)")
def test_unreadable_files_refused_before_the_run_folder(tmp_path):
    """Files without read permission: root reads them anyway, so the run drops the
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH capabilities (setpriv) and is refused like a user."""
    import shutil
    import subprocess
    import sys

    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    prompts = tmp_path / "p.txt"
    prompts.write_text("hello\n")
    prompts.chmod(0o000)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    gguf.chmod(0o000)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(LLAMA.replace("GGUF", str(gguf)).replace(
        "{name: w, prompt_tokens: 8, gen_tokens: 4}",
        f"{{name: w, kind: chat, gen_tokens: 4, prompts: {prompts}}}"))
    cfg.chmod(0o644)
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        ["setpriv", "--bounding-set", "-dac_override,-dac_read_search",
         "--inh-caps", "-dac_override,-dac_read_search", sys.executable, "-m",
         "bench", "run", str(cfg), "--output", str(tmp_path / "out"), "--quiet"],
        capture_output=True, text=True, timeout=120, cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    # the model file and the prompt file, one line each (issue 14: every problem at once)
    assert len(lines) == 2 and all("Permission denied" in x for x in lines), lines
    assert not (tmp_path / "out").exists()
