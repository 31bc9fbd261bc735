"""`pibench schema`: the JSON Schema of a cases.jsonl line, generated from the typed record and
shipped in the package; every line a fresh mock run writes validates against it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

jsonschema = pytest.importorskip("jsonschema", reason="the dev extra: pip install -e '.[dev]'")

from bench.results.case_schema import SCHEMA_FILE, generate, text  # noqa: E402
from bench.runner.progress import PlainProgress  # noqa: E402
from bench.runner.session import start_run  # noqa: E402

# every workload kind the mock backend runs (throughput, chat, completion; it takes no
# depth), a model whose generation fails at a token, one whose load fails; the run is
# interrupted (Ctrl-C) in its last case, which keeps its finished repetitions
CONFIG = """
name: schema-all
clock: virtual
repetitions: 3
warmup: 1
models: [{name: m1}, {name: m2}]
backends:
  - {name: loadfail, type: mock, options: {profile: %(profile)s, fail: {at: load, models: [m2]}}}
  - {name: tokfail, type: mock,
     options: {profile: %(profile)s, fail: {at: token, token: 3, models: [m1]}}}
  - {name: sim, type: mock, options: {profile: %(profile)s}}
workloads:
  - {name: tp, kind: throughput, prompt_tokens: 16, gen_tokens: 8}
  - {name: chat, kind: chat, prompts: ["say hello", "two words"], gen_tokens: 8}
  - {name: compl, kind: completion, prompts: ["Once upon a time"], gen_tokens: 8}
"""

MIXED = """
name: schema-mixed
repetitions: 2
warmup: 1
models: [{name: m1}]
backends:
  - {name: sim, type: mock, options: {profile: %s}}
workloads:
  - {name: w1, prompt_tokens: 10, gen_tokens: 20}
mixed:
  source: {kind: generated, width: 160, height: 120, fps: 20}
  vision_alone_s: 0.5
  settle_s: 0.2
  placements:
    - {name: vis-mock, detector: {type: mock, profile: yolov8s-npu}, backend: sim}
    - {name: vis-crash, backend: sim,
       detector: {type: mock, profile: yolov8s-npu, fault: {kind: segfault, after_frames: 3}}}
"""


class CtrlCAt(PlainProgress):
    """Raises KeyboardInterrupt (what Ctrl-C raises) when repetition ``label`` of the case
    ``case_id`` starts (as tests/test_interrupt_keeps_reps.py)."""

    def __init__(self, case_id: str, label: str) -> None:
        super().__init__()
        self.at, self.label, self.current = case_id, label, ""

    def case(self, index: int, case_id: str, note: str = "") -> None:
        self.current = case_id

    def rep(self, label: str) -> None:
        if self.current == self.at and label == self.label:
            raise KeyboardInterrupt


def _validator() -> Any:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _lines(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in
            (run_dir / "cases.jsonl").read_text(encoding="utf-8").splitlines()]


def _errors(validator: Any, line: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(line)'}: {e.message}"
            for e in validator.iter_errors(line)]


def test_the_shipped_schema_is_the_generated_one() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == text(), (
        "bench/results/cases.schema.json is not the schema of bench/results/record.py: "
        "python -m bench.results.case_schema --write")
    schema = generate()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False  # CaseRecord is a closed part
    assert {"case_id", "status", "reps", "summary", "error"} <= set(schema["required"])


def test_pibench_schema_prints_it(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("schema")
    assert code == 0 and err == ""
    assert json.loads(out) == generate()


def test_every_line_of_a_fresh_mock_run_validates(tmp_path: Path, fast_profile: Path) -> None:
    cfg = tmp_path / "all.yaml"
    cfg.write_text(CONFIG % {"profile": fast_profile})
    res = start_run(cfg, output_dir=tmp_path / "out", quiet=True,
                    progress=CtrlCAt("m2/sim/compl", "rep 2/3"))
    assert res.exit_code == 130  # interrupted
    lines = _lines(res.run_dir.path)
    validator = _validator()
    for line in lines:
        assert _errors(validator, line) == [], line["case_id"]
    by_id = {line["case_id"]: line for line in lines}
    # the run wrote what the test means to cover: each kind, each way of ending
    assert {line["workload"]["kind"] for line in lines} == {"throughput", "chat", "completion"}
    assert by_id["m2/sim/compl"]["status"] == "interrupted"
    assert by_id["m1/tokfail/tp"]["status"] == "failed"
    assert by_id["m1/tokfail/tp"]["error"]["phase"] in ("warmup", "rep")
    assert by_id["m2/loadfail/tp"]["status"] == "failed"
    assert by_id["m2/loadfail/tp"]["error"]["phase"] == "load"
    assert "capabilities" not in by_id["m2/loadfail/tp"]["backend"]  # written only when set
    assert by_id["m1/sim/chat"]["status"] == "ok" and by_id["m1/sim/chat"]["reps"][0]["prompt"]

    # the schema is not vacuous: what the record forbids, it rejects
    bad = dict(by_id["m1/sim/tp"], status="done", surprise=1)
    messages = " ".join(_errors(validator, bad))
    assert "'done' is not one of" in messages and "'surprise' was unexpected" in messages
    rep = by_id["m1/sim/tp"]["reps"][0]
    assert _errors(validator, dict(by_id["m1/sim/tp"], reps=[dict(rep, rep="1")]))


@pytest.mark.timeout(180)
def test_every_line_of_a_mixed_mock_run_validates(tmp_path: Path, fast_profile: Path) -> None:
    pytest.importorskip("numpy")
    pytest.importorskip("cv2")
    cfg = tmp_path / "mixed.yaml"
    cfg.write_text(MIXED % fast_profile)
    res = start_run(cfg, output_dir=tmp_path / "out", quiet=True)
    lines = _lines(res.run_dir.path)
    validator = _validator()
    for line in lines:
        assert _errors(validator, line) == [], line["case_id"]
    assert sorted((line["case_id"], line["status"]) for line in lines) == [
        ("m1/sim/w1", "ok"), ("m1/sim/w1@vis-crash", "failed"), ("m1/sim/w1@vis-mock", "ok")]

