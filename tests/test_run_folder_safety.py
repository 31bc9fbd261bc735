"""Run folders under stress (issue 12): two processes, full disks, write errors, planted
symlinks, records JSON cannot hold, changed inputs, damaged run.json, a deleted config."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bench.results import safe_io
from bench.results.lock import RESERVE, RunBusy, RunLock
from tests.test_resume import _killed_run, _lines, _setup, _start

SIM = """\
name: safe
clock: virtual
repetitions: 2
warmup: 0
models: [{name: Qwen2-1.5B-Instruct}, {name: Llama-3.2-3B-Instruct}]
backends:
  - {name: cpu, type: mock, options: {profile: pi5-cpu, jitter: 0}}
workloads:
  - {name: w1, prompt_tokens: 8, gen_tokens: 4}
  - {name: w2, prompt_tokens: 8, gen_tokens: 4}
  - {name: w3, kind: chat, gen_tokens: 4, prompts: prompts.txt}
"""
PLANNED = 6


@pytest.fixture
def sim(tmp_path: Path) -> Path:
    (tmp_path / "prompts.txt").write_text("first prompt\nsecond prompt\n")
    cfg = tmp_path / "sim.yaml"
    cfg.write_text(SIM)
    return cfg


def _ids(run_dir: Path) -> list[str]:
    return [r["case_id"] for r in _lines(run_dir)]


def _meta(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())


def _only_run(out: Path) -> Path:
    runs = [p for p in out.iterdir()]
    assert len(runs) == 1, runs
    return runs[0]


def _fail_nth_append(n: int, err: int = errno.ENOSPC):
    """A safe_io fault: the n-th write to cases.jsonl fails with ``err``."""
    count = [0]

    def fault(path: Path) -> None:
        if path.name == "cases.jsonl" and path.exists():  # an append, not the creation
            count[0] += 1
            if count[0] == n:
                raise OSError(err, os.strerror(err))

    return fault


def _errors(stderr: str) -> list[str]:
    """The error lines (the plain progress display also writes to stderr)."""
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if line.startswith("pibench: error")]


def _no_temp_files(folder: Path) -> None:
    left = [p.name for p in folder.rglob("*") if p.name.endswith((".tmp", ".new", ".part"))]
    assert not left, left


# -- the lock -------------------------------------------------------------------------------

def test_lock_is_exclusive_and_names_the_holder(tmp_path):
    lock = RunLock.acquire(tmp_path)
    with pytest.raises(RunBusy, match=f"in use by pibench process {os.getpid()} "):
        RunLock.acquire(tmp_path)
    lock.release()
    RunLock.acquire(tmp_path).release()  # free again


def test_resume_while_the_run_goes_on_is_refused_and_nothing_runs_twice(tmp_path, cli,
                                                                        fast_profile):
    cfg, out = _setup(tmp_path, fast_profile), tmp_path / "out"
    proc = _start(cfg, out)
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("*/cases.jsonl")) and time.monotonic() < deadline:
            time.sleep(0.01)
        run_dir = next(out.glob("*/cases.jsonl")).parent
        code, _, err = cli("run", "--resume", run_dir, "--quiet")
        if proc.poll() is None or code == 2:
            assert code == 2, err
            assert err.strip().splitlines() == [
                f"pibench: error: {run_dir}: in use by pibench process {proc.pid} (a run or "
                "resume of this folder); wait for it to end or stop it, then resume"]
    finally:
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    ids = _ids(run_dir)
    assert len(ids) == len(set(ids)) == 6, ids


def test_two_resumes_at_once_run_no_case_twice(tmp_path, fast_profile):
    from tests.conftest import ROOT

    _, run_dir = _killed_run(tmp_path, fast_profile, 1)
    import sys

    procs = [subprocess.Popen([sys.executable, "-m", "bench", "run", "--resume", str(run_dir),
                               "--quiet"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    ids = _ids(run_dir)
    assert len(ids) == len(set(ids)) == 6, (ids, results)
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, err in results:
        if code == 2:
            assert "in use by pibench process" in err and "Traceback" not in err
            assert len(err.strip().splitlines()) == 1


def test_kill_9_releases_the_lock(tmp_path, fast_profile, cli):
    _, run_dir = _killed_run(tmp_path, fast_profile, 1)
    code, _, err = cli("run", "--resume", run_dir, "--quiet")
    assert code == 0, err
    assert len(set(_ids(run_dir))) == len(_ids(run_dir)) == 6


# -- write errors and full disks ------------------------------------------------------------

@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EIO, errno.EDQUOT])
def test_write_error_mid_run_is_one_line_and_resumable(sim, tmp_path, cli, monkeypatch, err):
    out = tmp_path / "out"
    monkeypatch.setattr(safe_io, "FAULTS", [_fail_nth_append(3, err)])
    code, _, stderr = cli("run", sim, "--output", out, "--quiet")
    run_dir = _only_run(out)
    lines = _errors(stderr)
    assert code == 2 and len(lines) == 1, stderr
    assert os.strerror(err) in lines[0] and str(run_dir) in lines[0], lines[0]
    assert "--resume" in lines[0]
    assert len(_ids(run_dir)) == 2  # the third case was measured, not written: it runs again
    meta = _meta(run_dir)
    assert meta["status"] == "interrupted" and os.strerror(err) in meta["error"]
    _no_temp_files(run_dir)

    monkeypatch.setattr(safe_io, "FAULTS", [])
    code, _, stderr = cli("run", "--resume", run_dir, "--quiet")
    assert code == 0, stderr
    ids = _ids(run_dir)
    assert len(ids) == len(set(ids)) == PLANNED
    assert _meta(run_dir)["status"] == "finished" and _meta(run_dir)["error"] is None


def test_write_error_while_creating_the_folder_leaves_nothing(sim, tmp_path, cli, monkeypatch):
    out = tmp_path / "out"

    def fault(path: Path) -> None:
        if path.name == "environment.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(safe_io, "FAULTS", [fault])
    code, _, stderr = cli("run", sim, "--output", out, "--quiet")
    assert code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert f"cannot create a run folder in {out}: No space left on device" in stderr
    assert list(out.iterdir()) == []  # no stub folder, no hidden staging folder


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 2 MiB tmpfs (root only): a real full disk."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; test_write_error_mid_run_* injects ENOSPC")
    disk = tmp_path / "disk"
    disk.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield disk
    finally:
        # a lazy unmount when a child still holds a file there: never leave the mount behind
        if subprocess.run(["umount", str(disk)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(disk)], check=False, capture_output=True)


def _fill(disk: Path, leave: int) -> Path:
    """A filler file that leaves about ``leave`` bytes free on ``disk``."""
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize
    filler = disk / "filler"
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave))
    return filler


def test_full_disk_mid_run_then_resume_when_space_is_back(sim, tmp_path, cli, small_disk):
    # the size of a complete run, measured on the normal disk
    code, _, err = cli("run", sim, "--output", tmp_path / "ref", "--quiet")
    assert code == 0, err
    ref = _only_run(tmp_path / "ref")
    cases_size = (ref / "cases.jsonl").stat().st_size
    # room for the folder (4 KiB pages, one more for a run.json being replaced), the lock's
    # reserve and about half of the cases
    folder = sum(-(-p.stat().st_size // 4096) * 4096 for p in ref.iterdir()
                 if not p.name.startswith(("cases.", "report.")))
    filler = _fill(small_disk, RESERVE + folder + 2 * 4096 + cases_size // 2)
    out = small_disk / "out"
    code, _, err = cli("run", sim, "--output", out, "--quiet")
    lines = _errors(err)
    assert code == 2 and len(lines) == 1, err
    assert "No space left on device" in lines[0], lines[0]
    run_dir = _only_run(out)
    assert str(run_dir) in lines[0]
    before = _ids(run_dir)
    assert 0 < len(before) < PLANNED
    meta = _meta(run_dir)
    assert meta["status"] == "interrupted" and "No space left" in meta["error"]
    _no_temp_files(small_disk)

    filler.unlink()  # space is back
    code, _, err = cli("run", "--resume", run_dir, "--quiet")
    assert code == 0, err
    ids = _ids(run_dir)
    assert len(ids) == len(set(ids)) == PLANNED and ids[: len(before)] == before
    assert _meta(run_dir)["status"] == "finished"
    assert (run_dir / "report.md").is_file() and not (run_dir / "report-2.md").exists()
    _no_temp_files(small_disk)


def test_full_disk_before_the_run_leaves_no_folder(sim, cli, small_disk):
    _fill(small_disk, 8 * 1024)
    out = small_disk / "out"
    code, _, err = cli("run", sim, "--output", out, "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "No space left on device" in err
    assert not out.exists() or list(out.iterdir()) == []


# -- symlinks -------------------------------------------------------------------------------

def test_planted_symlinks_are_never_written_through(sim, tmp_path, cli, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out"
    monkeypatch.setattr(safe_io, "FAULTS", [_fail_nth_append(2)])
    assert cli("run", sim, "--output", out, "--quiet")[0] == 2
    monkeypatch.setattr(safe_io, "FAULTS", [])
    run_dir = _only_run(out)
    for name in ("report.md", "report.csv", "report.json", "environment-2.json"):
        (run_dir / name).symlink_to(victim)
    with open(run_dir / "cases.jsonl", "a") as f:
        f.write('{"case_id": "torn')  # a torn line: resume moves it to cases.jsonl.torn
    (run_dir / "cases.jsonl.torn").symlink_to(victim)
    code, _, err = cli("run", "--resume", run_dir, "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "cases.jsonl.torn" in err and "symbolic link" in err
    (run_dir / "cases.jsonl.torn").unlink()

    code, _, err = cli("run", "--resume", run_dir, "--quiet")
    assert code == 0, err
    assert victim.read_text() == "precious\n"
    for name in ("report.md", "report.csv", "report.json"):
        assert not (run_dir / name).is_symlink()  # replaced by the file, the link's target kept
    assert (run_dir / "environment-3.json").is_file()  # the planted name is left alone

    report_out = tmp_path / "rep"
    report_out.mkdir()
    (report_out / "report.md").symlink_to(victim)
    code, _, err = cli("report", run_dir, "--out", report_out)
    assert code == 0, err
    assert victim.read_text() == "precious\n" and (report_out / "report-2.md").is_file()


def test_a_symlinked_cases_file_or_lock_is_refused(sim, tmp_path, cli, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out"
    monkeypatch.setattr(safe_io, "FAULTS", [_fail_nth_append(2)])
    assert cli("run", sim, "--output", out, "--quiet")[0] == 2
    monkeypatch.setattr(safe_io, "FAULTS", [])
    run_dir = _only_run(out)
    (run_dir / "run.lock").unlink()
    (run_dir / "run.lock").symlink_to(victim)
    code, _, err = cli("run", "--resume", run_dir, "--quiet")
    assert code == 2 and "run.lock" in err and "symbolic link" in err, err
    (run_dir / "run.lock").unlink()
    cases = run_dir / "cases.jsonl"
    cases.rename(tmp_path / "real-cases.jsonl")
    cases.symlink_to(victim)
    code, _, err = cli("run", "--resume", run_dir, "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert victim.read_text() == "precious\n"


# -- records JSON cannot hold ---------------------------------------------------------------

def test_a_record_with_nan_is_kept_not_lost(sim, tmp_path, cli, monkeypatch):
    from bench.results.record import CaseRecord

    original = CaseRecord.to_line_dict

    def record(self):
        rec = original(self)
        rec["load_s"] = float("nan")
        rec["summary"]["odd"] = {"value": float("inf"), "obj": object()}
        return rec

    monkeypatch.setattr(CaseRecord, "to_line_dict", record)
    code, _, err = cli("run", sim, "--output", tmp_path / "out", "--quiet")
    assert code == 0, err
    run_dir = _only_run(tmp_path / "out")
    recs = _lines(run_dir)
    assert len(recs) == PLANNED and _meta(run_dir)["status"] == "finished"
    assert recs[0]["load_s"] is None and recs[0]["summary"]["odd"]["value"] is None
    assert "load_s: nan -> null" in recs[0]["sanitized"]
    assert recs[0]["summary"]["gen_tps"]["n"] == 2  # the measured figures are all there


# -- inputs changed, damaged run.json, deleted config ----------------------------------------

def _interrupted(sim: Path, tmp_path: Path, cli, monkeypatch) -> Path:
    monkeypatch.setattr(safe_io, "FAULTS", [_fail_nth_append(2)])
    assert cli("run", sim, "--output", tmp_path / "out", "--quiet")[0] == 2
    monkeypatch.setattr(safe_io, "FAULTS", [])
    return _only_run(tmp_path / "out")


def test_resume_refuses_a_changed_prompt_file_and_names_it(sim, tmp_path, cli, monkeypatch):
    run_dir = _interrupted(sim, tmp_path, cli, monkeypatch)
    (tmp_path / "prompts.txt").write_text("an edited prompt\n")
    code, _, err = cli("run", "--resume", run_dir, "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"prompt file of workload 'w3' {tmp_path / 'prompts.txt'} changed" in err
    (tmp_path / "prompts.txt").write_text("first prompt\nsecond prompt\n")
    assert cli("run", "--resume", run_dir, "--quiet")[0] == 0


def test_resume_refuses_a_changed_mock_profile(tmp_path, cli, monkeypatch, fast_profile):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(SIM.replace("profile: pi5-cpu", f"profile: {fast_profile}").replace(
        "Qwen2-1.5B-Instruct", "m1").replace("Llama-3.2-3B-Instruct", "m2"))
    (tmp_path / "prompts.txt").write_text("p\n")
    run_dir = _interrupted(cfg, tmp_path, cli, monkeypatch)
    fast_profile.write_text(fast_profile.read_text().replace("gen_tps: 100.0", "gen_tps: 99.0"))
    code, _, err = cli("run", "--resume", run_dir, "--quiet")
    assert code == 2 and "mock profile of backend 'cpu'" in err and "changed" in err, err


def test_resume_refuses_a_different_model_file_at_the_same_path(tmp_path, cli, monkeypatch):
    from bench.runner.inputs import changed_inputs

    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF one")
    stored = {str(model): {"what": "gguf of model 'm'", "sha256": "0" * 64}}
    now = {str(model): {"what": "gguf of model 'm'", "sha256": "1" * 64}}
    assert changed_inputs(stored, now) == [f"gguf of model 'm' {model} changed"]
    assert changed_inputs(stored, {}) == [f"gguf of model 'm' {model} is gone"]


@pytest.mark.parametrize(("content", "fragment"), [
    ("{}", "damaged (no 'fingerprint')"),
    ("[]", "not an object)"),
    ('{"fingerprint": "x"}', "damaged (no 'config_file')"),
    ('{"fingerprint": 3, "config_file": "c"}', "damaged (no 'fingerprint')"),
    ("", "unreadable"),
    ("{", "unreadable"),
])
def test_damaged_run_json_is_one_line_on_resume(sim, tmp_path, cli, monkeypatch, content,
                                                fragment):
    run_dir = _interrupted(sim, tmp_path, cli, monkeypatch)
    (run_dir / "run.json").write_text(content)
    code, _, err = cli("run", "--resume", run_dir, "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert fragment in err and "Traceback" not in err


def test_resume_uses_the_folders_config_when_the_original_is_gone(sim, tmp_path, cli,
                                                                  monkeypatch, capsys):
    run_dir = _interrupted(sim, tmp_path, cli, monkeypatch)
    sim.unlink()
    code, _, err = cli("run", "--resume", run_dir)
    assert code == 0, err
    assert len(set(_ids(run_dir))) == len(_ids(run_dir)) == PLANNED


# -- reports --------------------------------------------------------------------------------

def test_report_is_whole_after_resume(sim, tmp_path, cli, monkeypatch):
    """Ctrl-C after two cases writes a partial report; the resume replaces it whole."""
    count = [0]

    def ctrl_c(path: Path) -> None:
        if path.name == "cases.jsonl" and path.exists():
            count[0] += 1
            if count[0] == 3:
                raise KeyboardInterrupt

    monkeypatch.setattr(safe_io, "FAULTS", [ctrl_c])
    code, _, _ = cli("run", sim, "--output", tmp_path / "out", "--quiet")
    assert code == 130
    monkeypatch.setattr(safe_io, "FAULTS", [])
    run_dir = _only_run(tmp_path / "out")
    assert len(json.loads((run_dir / "report.json").read_text())["rows"]) == 2
    assert cli("run", "--resume", run_dir, "--quiet")[0] == 0
    assert not (run_dir / "report-2.md").exists() and not (run_dir / "report-2.json").exists()
    rows = json.loads((run_dir / "report.json").read_text())["rows"]
    assert sorted(r["case_id"] for r in rows) == sorted(_ids(run_dir)) and len(rows) == PLANNED
    report = (run_dir / "report.md").read_text()
    assert all(r["case_id"].split("/")[0] in report for r in rows)


def test_kill_while_the_report_is_written_leaves_the_old_one(tmp_path, monkeypatch):
    from bench.report.export import write_report

    (tmp_path / "report.md").write_text("old report\n")

    def boom(path: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(safe_io, "_write_all", lambda fd, data: boom(Path()))
    with pytest.raises(KeyboardInterrupt):
        write_report([], tmp_path, "t", replace=True)
    assert (tmp_path / "report.md").read_text() == "old report\n"
    _no_temp_files(tmp_path)


def test_sigterm_during_a_run_keeps_run_json_valid(tmp_path, fast_profile):
    cfg, out = _setup(tmp_path, fast_profile), tmp_path / "out"
    proc = _start(cfg, out)
    deadline = time.monotonic() + 60
    while not list(out.glob("*/cases.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    run_dir = next(out.glob("*/cases.jsonl")).parent
    assert _meta(run_dir)["status"] in ("interrupted", "finished")
    _no_temp_files(out)


def test_start_run_releases_the_lock_unless_asked_to_keep_it(sim, tmp_path):
    from bench.runner.session import resume_run, start_run

    result = start_run(sim, output_dir=tmp_path / "out", quiet=True)
    assert result.run_dir.lock is None
    RunLock.acquire(result.run_dir.path).release()  # free
    kept = start_run(sim, output_dir=tmp_path / "out2", quiet=True, keep_lock=True)
    with pytest.raises(RunBusy):
        resume_run(kept.run_dir.path, quiet=True)
    kept.run_dir.release()
    assert resume_run(kept.run_dir.path, quiet=True).outcome.ok == 0  # nothing left to run


def test_resume_from_another_folder_of_a_run_started_with_relative_paths(sim, tmp_path, cli,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(safe_io, "FAULTS", [_fail_nth_append(2)])
    assert cli("run", "sim.yaml", "--output", "out", "--quiet")[0] == 2
    monkeypatch.setattr(safe_io, "FAULTS", [])
    run_dir = _only_run(tmp_path / "out")
    assert str(tmp_path / "prompts.txt") in _meta(run_dir)["inputs"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = cli("run", "--resume", run_dir, "--quiet")
    assert code == 0, err
    assert len(set(_ids(run_dir))) == len(_ids(run_dir)) == PLANNED


@pytest.mark.timeout(60)
def test_a_fifo_planted_for_cases_or_lock_is_refused_without_hanging(sim, tmp_path, cli,
                                                                     monkeypatch):
    run_dir = _interrupted(sim, tmp_path, cli, monkeypatch)
    for name in ("run.lock", "cases.jsonl"):
        target = run_dir / name
        target.rename(tmp_path / f"saved-{name}")
        os.mkfifo(target)
        code, _, err = cli("run", "--resume", run_dir, "--quiet")
        assert code == 2 and f"cannot write {name} in {run_dir}: not a regular file" in err, err
        target.unlink()
        (tmp_path / f"saved-{name}").rename(target)
    assert cli("run", "--resume", run_dir, "--quiet")[0] == 0
