"""Command-line overrides and sweeps (bench.config.overrides): applied before validation,
named in errors, recorded in run.json and resolved.json, refused on a different resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.config.loader import ConfigErrors, load_config
from bench.config.overrides import Overrides, int_list
from bench.errors import UserError
from bench.runner.plan import build_plan

CONFIG = """
name: ov
repetitions: 3
warmup: 1
models:
  - name: Qwen2.5-1.5B-Instruct
    artifacts: {cpu: {gguf: "synth:qwen2.5-1.5b-instruct:q4_k_m"}, sim: {}}
backends:
  - {name: cpu, type: llama_cpp, options: {n_batch: 512}}
  - {name: sim, type: mock, options: {profile: pi5-cpu, jitter: 0}}
workloads:
  - {name: w, kind: throughput, prompt_tokens: 100, gen_tokens: 50}
  - {name: c, kind: completion, prompts: ["Hi"], gen_tokens: 8}
"""

SIM = """
name: sim
clock: virtual
repetitions: 3
warmup: 1
models: [{name: Qwen2-1.5B-Instruct}]
backends:
  - {name: npu, type: mock, options: {profile: hailo10h, jitter: 0}}
workloads:
  - {name: w, kind: throughput, prompt_tokens: 100, gen_tokens: 50}
"""


def test_threads_expand_every_backend_that_takes_threads(write_config):
    cfg = load_config(write_config(CONFIG), overrides=Overrides(threads=(1, 2)))
    assert [b.name for b in cfg.run.backends] == ["cpu-t1", "cpu-t2", "sim"]
    assert [cfg.backend_options[n].threads for n in ("cpu-t1", "cpu-t2")] == [1, 2]
    assert cfg.backend_options["cpu-t2"].n_batch == 512  # the other options kept
    # the model's artifact follows its backend
    assert {b for (_, b) in cfg.artifacts} == {"cpu-t1", "cpu-t2", "sim"}


def test_lengths_and_depth_expand_throughput_workloads_only(write_config):
    ov = Overrides(prompt_tokens=(64, 128), gen_tokens=(16,), depth=(0, 256), repetitions=2)
    cfg = load_config(write_config(CONFIG), overrides=ov)
    names = [w.name for w in cfg.run.workloads]
    assert names == ["pp64-tg16-d0", "pp64-tg16-d256", "pp128-tg16-d0", "pp128-tg16-d256", "c"]
    w = cfg.run.workloads[1]
    assert (w.prompt_tokens, w.gen_tokens, w.depth) == (64, 16, 256)
    assert cfg.run.repetitions == 2
    cases, skipped = build_plan(cfg)
    # the mock cannot take depth: skipped with its reason, llama.cpp takes every case
    assert {s.case_id for s in skipped} == {"Qwen2.5-1.5B-Instruct/sim/pp64-tg16-d256",
                                            "Qwen2.5-1.5B-Instruct/sim/pp128-tg16-d256"}
    assert all("takes no depth" in s.reason for s in skipped)
    assert len(cases) == 5 + 3


def test_set_any_field_by_name_or_index(write_config):
    ov = Overrides(sets=("backends.cpu.options.n_ctx=1024", "workloads.1.gen_tokens=4",
                         "models.Qwen2.5-1.5B-Instruct.params_b=1.5", "cooldown_s=0.5"))
    cfg = load_config(write_config(CONFIG), overrides=ov)
    assert cfg.backend_options["cpu"].n_ctx == 1024
    assert cfg.run.workloads[1].gen_tokens == 4
    assert cfg.run.models[0].params_b == 1.5  # a name with dots in it
    assert cfg.run.cooldown_s == 0.5


@pytest.mark.parametrize(("ov", "expected"), [
    (Overrides(sets=("workloads.w.gen_tokens=0",)),
     "--set workloads.w.gen_tokens=0 (command line): workloads[0].gen_tokens: expected a "
     "positive integer"),
    (Overrides(sets=("backends.cpu.options.thread=2",)),
     "--set backends.cpu.options.thread=2 (command line): backends[0].options.thread: "),
    (Overrides(prompt_tokens=(4000,), gen_tokens=(200,)),
     "-n 200 (command line): workloads[0].gen_tokens: prompt_tokens + gen_tokens = 4200 does "
     "not fit"),
])
def test_a_bad_override_names_the_option(write_config, ov, expected):
    with pytest.raises(ConfigErrors) as err:
        load_config(write_config(CONFIG), overrides=ov)
    assert err.value.lines[0].startswith(expected), err.value.lines


@pytest.mark.parametrize(("ov", "expected"), [
    (Overrides(sets=("workloads.nope.gen_tokens=3",)), "no item named 'nope' in workloads"),
    (Overrides(sets=("repetitions",)), "expected KEY.PATH=VALUE"),
    (Overrides(sets=("name.x=1",)), "name is a value, not a mapping"),
    (Overrides(threads=(2,)), None),
])
def test_set_path_mistakes_are_one_line(write_config, ov, expected):
    path = write_config(SIM)
    with pytest.raises(UserError) as err:
        load_config(path, overrides=ov)
    assert expected is None or expected in str(err.value)
    if expected is None:
        assert "no backend of this config takes threads" in str(err.value)


def test_int_lists():
    assert int_list("1, 2,4,2", "--threads") == (1, 2, 4)
    with pytest.raises(UserError, match="got 'x'"):
        int_list("1,x", "--threads")
    with pytest.raises(UserError, match="at least 1"):
        int_list("0", "-p")
    assert int_list("0,512", "-d", low=0) == (0, 512)


def test_run_records_overrides_and_resume_refuses_others(write_config, tmp_path, cli):
    cfg = write_config(SIM)
    out = tmp_path / "out"
    code, _, err = cli("run", cfg, "--output", out, "--quiet", "-r", "2", "-p", "32,64",
                       "-n", "8", "--set", "backends.npu.options.jitter=0.0")
    assert code == 0, err
    run_dir = next(out.iterdir())
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["overrides"]["repetitions"] == 2 and meta["overrides"]["prompt_tokens"] == [32, 64]
    assert meta["planned"] == ["Qwen2-1.5B-Instruct/npu/pp32-tg8",
                               "Qwen2-1.5B-Instruct/npu/pp64-tg8"]
    resolved = json.loads((run_dir / "resolved.json").read_text())
    assert resolved["repetitions"] == 2 and resolved["overrides"] == meta["overrides"]
    records = [json.loads(x) for x in (run_dir / "cases.jsonl").read_text().splitlines()]
    assert [len(r["reps"]) for r in records] == [2, 2]
    # the n column of the table says 2
    md = (run_dir / "report.md").read_text()
    first = md.split("\n## ")[0]  # the llama-bench table
    rows = [[c.strip() for c in x.split("|")] for x in first.splitlines() if "| tg8 " in x]
    assert len(rows) == 2 and all("2" in row for row in rows), rows

    code, _, err = cli("run", "--resume", run_dir, "-r", "3")
    assert code == 2 and "other command-line overrides" in err
    code, _, err = cli("run", "--resume", run_dir)  # its own overrides: nothing to do
    assert code == 0 and "2 case(s) done, 0 to run" in err, err


def test_resume_applies_the_runs_own_overrides(write_config, tmp_path, cli):
    """A resumed run must see the same expanded plan (else its fingerprint differs)."""
    from bench.runner.session import resume_run, start_run
    from tests.test_interrupt_keeps_reps import CtrlCAt

    cfg = write_config(SIM)
    ov = Overrides(repetitions=2, gen_tokens=(8, 16))
    res = start_run(cfg, output_dir=tmp_path / "o", overrides=ov,
                    progress=CtrlCAt("Qwen2-1.5B-Instruct/npu/pp100-tg16", "rep 1/2"))
    assert res.exit_code == 130
    done = resume_run(res.run_dir.path, quiet=True)
    assert done.exit_code == 0 and done.outcome.ok == 1
    ids = [json.loads(x)["case_id"] for x in
           (Path(res.run_dir.path) / "cases.jsonl").read_text().splitlines()]
    assert ids == ["Qwen2-1.5B-Instruct/npu/pp100-tg8", "Qwen2-1.5B-Instruct/npu/pp100-tg16"]
