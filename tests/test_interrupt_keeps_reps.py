"""Ctrl-C during a case keeps the repetitions it finished; --resume measures the case again
in full and every reader takes the complete record (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.results.reader import replaces
from bench.results.store import RunDir
from bench.runner.progress import PlainProgress
from bench.runner.session import start_run

CONFIG = """
name: ctrlc
clock: virtual
repetitions: 5
warmup: 1
models: [{name: m1}]
backends:
  - {name: sim, type: mock, options: {profile: %s}}
workloads:
  - {name: w1, prompt_tokens: 10, gen_tokens: 20}
  - {name: w2, prompt_tokens: 10, gen_tokens: 20}
"""


class CtrlCAt(PlainProgress):
    """Raises KeyboardInterrupt (what Ctrl-C raises in the main thread) when the runner
    starts the repetition labelled ``label`` of the case ``case_id``."""

    def __init__(self, case_id: str, label: str) -> None:
        super().__init__()
        self.at, self.label, self.current = case_id, label, ""

    def case(self, index: int, case_id: str, note: str = "") -> None:
        self.current = case_id

    def rep(self, label: str) -> None:
        if self.current == self.at and label == self.label:
            raise KeyboardInterrupt


def _lines(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run_dir / "cases.jsonl").read_text().splitlines()]


def test_sigint_after_rep_2_of_5_keeps_2_reps_and_resume_replaces_it(tmp_path, fast_profile,
                                                                     cli):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG % fast_profile)
    res = start_run(cfg, output_dir=tmp_path / "out", progress=CtrlCAt("m1/sim/w2", "rep 3/5"))
    assert res.exit_code == 130 and res.outcome.partial == 1 and res.outcome.ok == 1
    run_dir = res.run_dir.path
    lines = _lines(run_dir)
    assert [(r["case_id"], r["status"]) for r in lines] == [
        ("m1/sim/w1", "ok"), ("m1/sim/w2", "interrupted")]
    partial = lines[1]
    assert len(partial["reps"]) == 2 and partial["summary"]["gen_tps"]["n"] == 2
    assert "interrupted: 2 of 5 reps" in partial["labels"]
    assert partial["error"]["message"].startswith("interrupted during rep 3 of 5")
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "interrupted" and meta["cases_interrupted"] == 1

    code, _, err = cli("run", "--resume", str(run_dir))
    assert code == 0, err
    assert "1 case(s) done, 1 to run" in err  # the partial case is run again, w1 is not
    lines = _lines(run_dir)
    assert [(r["case_id"], r["status"]) for r in lines] == [
        ("m1/sim/w1", "ok"), ("m1/sim/w2", "interrupted"), ("m1/sim/w2", "ok")]
    assert len(lines[2]["reps"]) == 5
    # readers: one record per case, the complete one
    records = RunDir.open(run_dir).cases()
    assert [(r["case_id"], len(r["reps"])) for r in records] == [("m1/sim/w1", 5),
                                                                ("m1/sim/w2", 5)]
    report = json.loads((run_dir / "report.json").read_text())
    assert [(r["case_id"], r["status"], r["gen_tps_n"]) for r in report["rows"]] == [
        ("m1/sim/w1", "ok", 5), ("m1/sim/w2", "ok", 5)]
    md = (run_dir / "report.md").read_text()
    assert "interrupted" not in md
    # the llama-bench table: both cases with their 5 repetitions (n column); both workloads
    # give the test tg20, so it names them
    assert len([x for x in md.splitlines()
                if ("| tg20 [w1] |" in x or "| tg20 [w2] |" in x) and "|   5 |" in x]) == 2
    assert not (run_dir / "report-2.md").exists()
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "finished" and meta["cases_interrupted"] == 0


def test_interrupt_before_any_rep_records_nothing(tmp_path, fast_profile):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(CONFIG % fast_profile)
    res = start_run(cfg, output_dir=tmp_path / "out", progress=CtrlCAt("m1/sim/w1", "rep 1/5"))
    assert res.exit_code == 130 and res.outcome.partial == 0
    assert _lines(res.run_dir.path) == []


def test_effective_takes_the_last_complete_record():
    def rec(cid: str, status: str, n: int) -> dict[str, Any]:
        return {"case_id": cid, "status": status, "n": n}

    def effective(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        chosen: dict[str, dict[str, Any]] = {}
        for r in records:  # as bench.results.reader.read_cases folds the lines
            if r["case_id"] not in chosen or replaces(chosen[r["case_id"]], r):
                chosen[r["case_id"]] = r
        return list(chosen.values())

    got = effective([rec("a", "interrupted", 1), rec("b", "ok", 2), rec("a", "ok", 3),
                     rec("a", "interrupted", 4), rec("c", "interrupted", 5),
                     rec("c", "interrupted", 6)])
    # a: the complete record even when a later partial one follows; c: only partial ones
    assert [(r["case_id"], r["n"]) for r in got] == [("a", 3), ("b", 2), ("c", 6)]


REAL = """
name: sigint
repetitions: 5
warmup: 0
models: [{name: m1}]
backends:
  - {name: sim, type: mock, options: {profile: %s}}
workloads:
  - {name: w1, prompt_tokens: 10, gen_tokens: 40}
"""


def test_a_real_sigint_during_rep_3_keeps_2_reps(tmp_path, fast_profile):
    """The real signal, on the real clock: pibench as a process, SIGINT as soon as it says
    rep 3/5 started (each rep takes ~2 s: 40 tokens at 20 t/s)."""
    import signal
    import subprocess
    import sys

    from tests.conftest import ROOT, run_pibench

    fast_profile.write_text(fast_profile.read_text().replace("gen_tps: 100.0", "gen_tps: 20.0"))
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(REAL % fast_profile)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "bench", "run", str(cfg), "--output",
                             str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.strip() == "rep 3/5":
            proc.send_signal(signal.SIGINT)
            break
    assert proc.wait(timeout=30) == 130
    assert "with the repetitions it finished" in proc.stderr.read()
    run_dir = next(out.iterdir())
    (partial,) = _lines(run_dir)
    assert partial["status"] == "interrupted" and len(partial["reps"]) == 2
    done = run_pibench("run", "--resume", str(run_dir), "--quiet")
    assert done.returncode == 0, done.stderr
    assert [(r["status"], len(r["reps"])) for r in _lines(run_dir)] == [("interrupted", 2),
                                                                        ("ok", 5)]
    assert [len(r["reps"]) for r in RunDir.open(run_dir).cases()] == [5]
    assert "|   5 |" in (run_dir / "report.md").read_text()
