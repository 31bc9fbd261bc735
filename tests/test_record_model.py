"""The typed case record (bench.results.record): what it accepts, what it writes back."""

from __future__ import annotations

import json
import typing

import pytest
from pydantic import ValidationError

from bench.results.record import CaseRecord, version_problem
from bench.results.schema import SCHEMA_VERSION
from bench.results.store import encode_record
from tests.test_record_golden import GOLDEN


def _lines() -> list[bytes]:
    """The golden lines with plausible values where the golden test blanked them."""
    return [line.replace(b'"peak_rss_mb":"*"', b'"peak_rss_mb":41.5').replace(
        b'"host_load":"*"', b'"host_load":{"window_s":0.2,"cores":4,"other_cpu_pct":1.5,'
        b'"steal_pct":null,"busy":false,"server":null}')
        for line in GOLDEN.read_bytes().splitlines(keepends=True)]


def _golden() -> list[dict[str, typing.Any]]:
    return [json.loads(line) for line in _lines()]


def test_the_model_writes_every_golden_line_back_byte_for_byte() -> None:
    for line in _lines():
        record = CaseRecord.read(json.loads(line))
        assert encode_record(record.to_line_dict()).encode() == line


def test_presence_is_kept_a_failed_case_has_no_capabilities() -> None:
    failed = next(r for r in _golden() if r["error"] and r["error"]["phase"] == "load")
    back = CaseRecord.read(failed).to_line_dict()
    assert list(back["backend"]) == ["name", "type"]
    ok = next(r for r in _golden() if r["status"] == "ok" and r["workload"]["kind"] == "chat")
    rep = CaseRecord.read(ok).reps[0]
    assert rep.prompt is not None and "token_n" not in rep.model_fields_set


def test_an_int_stays_an_int_and_a_float_a_float() -> None:
    rec = _golden()[0]
    rec["load_s"], rec["summary"]["gen_tps"]["min"] = 7, 7.0
    back = CaseRecord.read(rec).to_line_dict()
    assert type(back["load_s"]) is int and type(back["summary"]["gen_tps"]["min"]) is float


def test_unknown_top_level_key_and_wrong_version_are_refused() -> None:
    rec = _golden()[0]
    with pytest.raises(ValidationError, match="schema"):
        CaseRecord.read({**rec, "schema": 2})
    with pytest.raises(ValidationError, match="surprise"):
        CaseRecord.read({**rec, "surprise": 1})


def test_the_model_version_is_the_schema_version() -> None:
    (literal,) = typing.get_args(CaseRecord.model_fields["schema_"].annotation)
    assert literal == SCHEMA_VERSION
    assert version_problem({"schema": SCHEMA_VERSION}) is None
    assert version_problem({"schema": True}) is not None  # True == 1 in Python, not here
    why = version_problem({"schema": 99})
    assert why is not None and "99" in why and "\n" not in why


def test_a_value_the_model_refuses_is_written_not_lost(write_config, tmp_path, monkeypatch,
                                                       capsys) -> None:
    """A backend whose describe() gives a key of the record's own with another type: the case
    is still written as measured, with one warning line naming the field."""
    from bench.backends.mock.backend import MockBackend
    from bench.runner.session import Filters, start_run
    from tests.conftest import SIM_CONFIG

    real = MockBackend.describe
    monkeypatch.setattr(MockBackend, "describe",
                        lambda self: {**real(self), "capabilities": "odd"})
    result = start_run(write_config(SIM_CONFIG), Filters(models=["Qwen*"], backends=["cpu"],
                                                               workloads=["chat"]),
                       output_dir=tmp_path, quiet=True)
    (rec,) = list(result.run_dir.cases())
    assert rec["status"] == "ok" and rec["backend"]["capabilities"] == "odd"
    assert rec["summary"]["gen_tps"]["n"] == 3
    (line,) = [x for x in capsys.readouterr().err.splitlines() if "record field" in x]
    assert "backend.capabilities" in line and "written as measured" in line
