"""Damaged and foreign run folders through `pibench report`, `compare` and `plot` (the CLI entry
function): exit 0 with one warning per unusable line (``cases.jsonl:N: ...``), or exit 2 with
one line; never a traceback (an exception escaping ``main`` fails the test).

Each case starts from a copy of one real run of the mock device (virtual clock, a mock power
meter) and damages one thing of it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.results import reader
from bench.runner.session import start_run
from tests.conftest import SIM_CONFIG

POWER = SIM_CONFIG.replace("repetitions: 3", "repetitions: 3\nidle_s: 1").replace(
    "  - {name: Llama-3.2-3B-Instruct, params_b: 3.21}\n", "") + \
    "meters:\n  - {type: mock, rate_hz: 20}\n"
"""Four cases (one model, two backends, two workloads) with power samples."""


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("good")
    (base / "cfg.yaml").write_text(POWER)
    run = start_run(base / "cfg.yaml", output_dir=base / "runs", quiet=True)
    assert run.exit_code == 0
    return run.run_dir.path


def _lines(run: Path) -> list[bytes]:
    return (run / "cases.jsonl").read_bytes().splitlines(keepends=True)


def _set_line(n: int, data: bytes) -> Callable[[Path], None]:
    """Replace line n (1-based) of cases.jsonl with ``data`` (a newline is added)."""
    def damage(run: Path) -> None:
        lines = _lines(run)
        lines[n - 1] = data + b"\n"
        (run / "cases.jsonl").write_bytes(b"".join(lines))
    return damage


def _edit(n: int, change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    """Change record n (1-based) in place with ``change(record)``."""
    def damage(run: Path) -> None:
        lines = _lines(run)
        record = json.loads(lines[n - 1])
        change(record)
        lines[n - 1] = json.dumps(record).encode() + b"\n"
        (run / "cases.jsonl").write_bytes(b"".join(lines))
    return damage


def _file(name: str, data: bytes | None) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        if data is None:
            (run / name).unlink()
        else:
            (run / name).write_bytes(data)
    return damage


def _nested(depth: int) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for _ in range(depth):
        d = {"x": d}
    return d


def _pop(d: dict[str, Any], key: str) -> None:
    del d[key]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(record: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        d = record
        for p in parents:
            d = d[int(p)] if isinstance(d, list) else d[p]
        d[last] = value
    return change


def _torn(run: Path) -> None:
    data = (run / "cases.jsonl").read_bytes()
    (run / "cases.jsonl").write_bytes(data + data.splitlines()[0][:300])


def _cut_middle(run: Path) -> None:
    lines = _lines(run)
    lines[2] = lines[2][:len(lines[2]) // 2] + b"\n"
    (run / "cases.jsonl").write_bytes(b"".join(lines))


def _duplicated(run: Path) -> None:
    """Every case twice (two processes on one folder), the second copy 2x faster."""
    lines = _lines(run)
    again = []
    for raw in lines:
        r = json.loads(raw)
        if r["summary"].get("gen_tps", {}).get("median") is not None:
            r["summary"]["gen_tps"]["median"] *= 2
        again.append(json.dumps(r).encode() + b"\n")
    (run / "cases.jsonl").write_bytes(b"".join(lines + again))


def _folder_for_cases(run: Path) -> None:
    (run / "cases.jsonl").unlink()
    (run / "cases.jsonl").mkdir()


def _fifo(name: str) -> Callable[[Path], None]:
    """A FIFO planted in place of a file: reading it would block for ever."""
    def damage(run: Path) -> None:
        (run / name).unlink()
        os.mkfifo(run / name)
    return damage


def _all_bad(run: Path) -> None:
    (run / "cases.jsonl").write_bytes(b"{not json}\n" * 40)


OK, REFUSED = 0, 2
# name -> (damage, expected exit code, text expected in stderr)
CASES: dict[str, tuple[Callable[[Path], None], int, str]] = {
    "a JSON array for a record": (_set_line(2, b"[1, 2, 3]"), OK,
                                  "cases.jsonl:2: a JSON list, not a case record"),
    "a JSON string for a record": (_set_line(2, b'"hello"'), OK, "a JSON str, not a case"),
    "model without a name": (_edit(2, lambda r: _pop(r["model"], "name")), OK,
                             "cases.jsonl:2: model.name: missing: skipped"),
    "model a list": (_edit(1, _set("model", [1])), OK, "model: expected an object"),
    "n as text": (_edit(2, _set("summary.gen_tps.n", "3")), OK,
                  "summary.gen_tps.n: expected whole number, got '3'"),
    "reps an object": (_edit(3, _set("reps", {"0": {}})), OK, "reps: expected an array"),
    "labels of numbers": (_edit(3, _set("labels", [1])), OK, "labels[0]: expected text"),
    "power samples text": (_edit(1, _set("power.0.samples", "many")), OK,
                           "power[0].samples: expected an array"),
    "token times of text": (_edit(1, _set("reps.0.token_t", ["a", "b"])), OK,
                            "reps[0].token_t[0]: expected number"),
    "mixed of the wrong shape": (_edit(2, _set("mixed", {"failures": [7]})), OK,
                                 "mixed.failures[0]: expected an object"),
    "100,000 nested brackets": (_set_line(2, b"[" * 100_000 + b"]" * 100_000), OK,
                                "cases.jsonl:2: JSON nested too deeply to read"),
    "200 nested objects": (_edit(2, _set("workload.sampling", _nested(200))), OK,
                           "nested deeper than 48 levels"),
    "1e999": (lambda run: _set_line(2, _lines(run)[1].rstrip(b"\n").replace(
        b'"median":', b'"median":1e999,"x":', 1))(run), OK, "inf is not a number"),
    "NaN": (lambda run: _set_line(3, _lines(run)[2].rstrip(b"\n").replace(
        b'"load_s":', b'"load_s":NaN,"y":', 1))(run), OK, "nan is not a number"),
    "a 5000-digit integer": (lambda run: _set_line(2, _lines(run)[1].rstrip(b"\n").replace(
        b'"warmup":1', b'"warmup":' + b"9" * 5000, 1))(run), OK, "a number too long to read"),
    "10^30 bytes": (_edit(2, _set("model.params_b", 10**30)), OK, "a number out of range"),
    "a line cut in the middle": (_cut_middle, OK, "cases.jsonl:3: not valid JSON"),
    "a torn last line": (_torn, OK, "a torn last line"),
    "not UTF-8": (lambda run: _set_line(2, _lines(run)[1].rstrip(b"\n").replace(
        b"Qwen2", b"Qw\xff\xfe2", 1))(run), OK, "cases.jsonl:2: not UTF-8 text"),
    "an empty line": (_set_line(4, b""), OK, "cases.jsonl:4: an empty line"),
    "schema version 2": (_edit(2, _set("schema", 2)), OK,
                         "cases.jsonl:2: schema version 2, this pibench reads version 1"),
    "no schema version": (_edit(2, lambda r: _pop(r, "schema")), OK, "schema: missing"),
    "duplicated case ids": (_duplicated, OK, "is recorded again at line 5"),
    "every line damaged": (_all_bad, OK, "20 more unusable lines not shown (40 skipped"),
    "run.json of schema 2": (_file("run.json", b'{"schema": 2, "status": "finished"}'),
                             REFUSED, "run.json: schema version 2; this pibench reads"),
    "run.json {}": (_file("run.json", b"{}"), OK, "run.json: no schema version"),
    "run.json []": (_file("run.json", b"[]"), OK, "run.json: not a JSON object: ignored"),
    "run.json binary": (_file("run.json", b"\x00\xff\x13garbage"), OK, "run.json: unreadable"),
    "run.json deeply nested": (_file("run.json", b"[" * 100_000 + b"]" * 100_000), OK,
                               "run.json: unreadable (RecursionError)"),
    "run.json missing": (_file("run.json", None), REFUSED, "not a pibench run folder"),
    "cases.jsonl missing": (_file("cases.jsonl", None), REFUSED, "not a pibench run folder"),
    "cases.jsonl a folder": (_folder_for_cases, REFUSED, "cases.jsonl: cannot read"),
    "cases.jsonl a FIFO": (_fifo("cases.jsonl"), REFUSED,
                           "cases.jsonl: cannot read (not a regular file)"),
    "environment.json a FIFO": (_fifo("environment.json"), OK,
                                "environment.json: unreadable (not a regular file): ignored"),
    "environment.json nested": (_file("environment.json", b"[" * 50_000 + b"]" * 50_000), OK,
                                "environment.json: unreadable"),
    "resolved.json with 1e999": (_file("resolved.json", b'{"cooldown_s": 1e999}'), OK,
                                 "resolved.json: cooldown_s: inf is not a number"),
}


def _check_stderr(err: str, code: int, expected: str) -> None:
    lines = err.splitlines()
    assert "Traceback" not in err
    if code == REFUSED:
        assert len(lines) == 1 and lines[0].startswith("pibench: error: "), err
    else:
        assert lines and all(x.startswith("pibench: warning: ") for x in lines), err
    assert expected in err, err


@pytest.mark.parametrize("name", list(CASES))
def test_damaged_folder(name: str, good: Path, tmp_path: Path, cli) -> None:
    damage, code, expected = CASES[name]
    run = tmp_path / good.name
    shutil.copytree(good, run)
    damage(run)
    side_file = name.startswith(("environment", "resolved"))  # read by compare and plot
    got, out, err = cli("report", run, "--no-write")
    assert got == code, err
    if side_file:
        assert err == ""
    else:
        _check_stderr(err, code, expected)
    if code == OK:
        assert "# pibench report" in out
    other = tmp_path / "other"
    shutil.copytree(good, other)
    got, out, err = cli("compare", other, run)
    assert got == code, err
    _check_stderr(err, code, expected)
    if code == OK:
        assert f"B: {run}" in out
    pytest.importorskip("matplotlib")
    got, out, err = cli("plot", run, "--out", tmp_path / "plots")
    assert got == code, err
    _check_stderr(err, code, expected)  # plot reads the side files too (title, run labels)


def test_duplicates_keep_the_last_record(good: Path, tmp_path: Path, cli) -> None:
    run = tmp_path / good.name
    shutil.copytree(good, run)
    _duplicated(run)
    records = reader.read_cases(run / "cases.jsonl")
    first = [json.loads(x) for x in _lines(good)]
    assert [r["case_id"] for r in records] == [r["case_id"] for r in first]
    for new, old in zip(records, first, strict=True):
        if old["summary"].get("gen_tps", {}).get("median") is not None:
            assert new["summary"]["gen_tps"]["median"] == 2 * old["summary"]["gen_tps"]["median"]
    code, _, err = cli("report", run, "--no-write")
    assert code == 0 and len(err.splitlines()) == 4
    assert err.splitlines()[0] == (
        f"pibench: warning: {run / 'cases.jsonl'}:1: case {first[0]['case_id']!r} is recorded "
        "again at line 5 (two processes on one run folder?); the last record is used: skipped")


def test_raw_arrays_are_left_out_and_read_again(good: Path) -> None:
    whole = [json.loads(x) for x in _lines(good)]
    lite = reader.read_cases(good / "cases.jsonl")
    assert all(rep["token_t"] is None for r in lite for rep in r["reps"])
    assert any(p["samples"] is None for r in lite for p in r["power"])
    for r, w in zip(lite, whole, strict=True):
        again = reader.full_record(r)
        assert again == w
        assert {k: v for k, v in r.items() if k not in ("reps", "power", reader.WHERE)} == \
            {k: v for k, v in w.items() if k not in ("reps", "power")}


def test_a_line_over_the_limit_is_skipped(good: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / good.name
    shutil.copytree(good, run)
    lines = _lines(run)
    monkeypatch.setattr(reader, "MAX_LINE", max(len(x) for x in lines) + 10)
    big = json.loads(lines[1])
    big["model"]["artifact"]["padding"] = "x" * (reader.MAX_LINE * 3)
    lines[1] = json.dumps(big).encode() + b"\n"
    (run / "cases.jsonl").write_bytes(b"".join(lines))
    warnings: list[str] = []
    records = reader.read_cases(run / "cases.jsonl", warn=warnings.append)
    assert len(records) == len(lines) - 1
    assert warnings == [f"{run / 'cases.jsonl'}:2: a line longer than {reader.MAX_LINE:,} "
                        "bytes: skipped"]


def test_resume_reads_strictly(good: Path, tmp_path: Path) -> None:
    from bench.errors import UserError
    from bench.results.store import RunDir

    run = tmp_path / good.name
    shutil.copytree(good, run)
    _edit(2, _set("schema", 2))(run)
    with pytest.raises(UserError, match=r"cases.jsonl:2: schema version 2"):
        RunDir(run).cases()
