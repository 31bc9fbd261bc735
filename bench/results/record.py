"""The case record as typed models: one JSON line of ``cases.jsonl`` (schema version 1).

The runner builds a ``CaseRecord`` in one place (``bench.runner.record``) and writes
``CaseRecord.to_line_dict()``; readers may read a line back with ``CaseRecord.read``. The
field order of each model is the key order of the line: changing it, or a field, is a format
change (see the format history in ``bench.results.schema`` and docs/results.md).

Sections whose content belongs to another part of pibench (the artifact, ModelInfo, a
backend's ``describe()``, power and health figures, the roofline, mixed-mode figures) are kept
open (``dict[str, Any]`` or ``extra="allow"``): their shape is defined and documented where
they are made. Numbers that can be an int or a float are typed ``int | float`` so that a value
is written back exactly as it was measured (pydantic would otherwise turn 5 into 5.0).

Presence matters in schema 1: a failed case's backend section has no ``capabilities`` and
``runs_on``, a repetition has ``token_n`` only when some event carried more than one token and
``prompt`` only for chat and completion workloads. Such fields are written only when set
(``exclude_unset``); every other field is always written, null when unknown.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bench.results.schema import SCHEMA_VERSION

Number = int | float
"""A measured number, written back as it came (int stays int, float stays float)."""


class _Part(BaseModel):
    """A closed part of the record: unknown keys are an error when built by pibench."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Open(BaseModel):
    """A part with a fixed core and open extras (written after the core, in their order)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Summary(_Open):
    """One metric over the measured repetitions (see ``bench.results.schema``)."""

    mean: Number | None
    median: Number | None
    stddev: Number | None = Field(description="sample standard deviation; None when n < 2")
    min: Number | None
    max: Number | None
    n: int
    unit: str
    source: str


class RepRecord(_Open):
    """One measured repetition; times are seconds after the repetition's ``t_request``."""

    rep: int
    prompt_tokens: int | None = None
    prompt_tokens_method: str | None = None
    gen_tokens: int | None = None
    gen_tokens_method: str | None = None
    stop_reason: str | None = None
    token_t: list[Number] | None = None  # raw; null when a reader cut it (bench.results.reader)
    token_n: list[int] | None = None  # only when some event carried more than one token
    ttft_s: Number | None = None
    prompt_tps: Number | None = None
    gen_tps: Number | None = None
    e2e_s: Number | None = None
    internal: dict[str, Any] | None = None
    internal_prompt_tps: Number | None = None
    internal_gen_tps: Number | None = None
    prompt_cached_tokens: int | None = None  # reused from a server's cache; > 0: no pp speed
    text: str | None = None  # generated text (chat and completion; first 2000 characters)
    prompt: str | None = None  # the user prompt (chat and completion; first 500 characters)
    round: int | None = None  # the round it was measured in, from 1 (only with rounds > 1)
    thermal: RepThermal | None = None  # readings around it (only where a probe answered)


class Cooled(_Part):
    """The wait before a repetition until the board was cool (bench.runner.thermal)."""

    target_c: Number
    reached: bool
    waited_s: Number
    temp_c: Number | None
    clock_at_max: bool | None  # null: not known here


class RepThermal(_Part):
    """SoC temperature (C) and ARM clock (MHz) at the start and end of a repetition."""

    temp_start_c: Number | None
    temp_end_c: Number | None
    arm_mhz_start: Number | None
    arm_mhz_end: Number | None
    cooled: Cooled | None = None  # only when health.cool_below_c is set


class ErrorRecord(_Part):
    type: str  # exception class, e.g. "ModelLoadError", or "vision side: crash" (mixed)
    message: str  # one line
    phase: Literal["load", "warmup", "rep", "meter", "mixed"]
    rep: int | None
    elapsed_s: Number | None  # seconds since the case started; null when not timed


class ModelSection(_Part):
    name: str
    family: str | None
    params_b: Number | None
    artifact: dict[str, Any]  # the configured artifact (bench.models.artifact)
    info: dict[str, Any] | None  # the loaded model (bench.backends.base.ModelInfo)


class BackendSection(_Open):
    """The configured backend; for a case that ran, also its capabilities, where it runs and
    what ``describe()`` says (extras, in its order)."""

    name: str
    type: str
    capabilities: dict[str, Any] | None = None  # absent for a case that never ran
    runs_on: str | None = None  # absent for a case that never ran


class HostLoad(_Open):
    """Others' CPU share during the repetitions (bench.runner.hostload)."""

    window_s: Number
    cores: int
    other_cpu_pct: Number | None  # null: window under 1 s, see reason
    steal_pct: Number | None
    busy: bool | None  # null: window under 1 s
    server: dict[str, Any] | None = None
    reason: str | None = None  # why other_cpu_pct is null; absent in records before it


class RoundDrift(_Part):
    means: list[Number]  # each round's mean, in round order
    n: list[int]  # values per round
    change_pct: Number | None  # last round's mean against the first's, % of the mean
    spread_pct: Number | None  # highest round mean minus lowest, % of the mean


class Drift(_Part):
    """A metric's trend over the repetitions in time order (bench.results.drift)."""

    test: str | None  # "Mann-Kendall"; null: fewer than 5 values (then only the rounds)
    n: int
    s: int | None = None
    z: Number | None = None
    p: Number | None = None  # two-sided
    sen_slope_per_rep: Number | None = None
    change_pct: Number | None = None  # Sen slope x (n - 1), % of the median
    drifting: bool
    rounds: RoundDrift | None


class CaseThermal(_Part):
    """The case's thermal state during generation (bench.runner.thermal.case_thermal)."""

    temp_c_mean: Number | None
    temp_c_max: Number | None
    arm_mhz_mean: Number | None
    arm_mhz_min: Number | None
    n_readings: int
    cool_wait_s: Number | None  # total wait before its repetitions; null: no wait asked
    method: str
    source: str | None
    simulated: bool


class RoundRecord(_Part):
    """One visit of a case in a run with rounds: its repetitions are reps[first_rep:...]."""

    round: int  # from 1
    first_rep: int
    n_reps: int
    complete: bool  # false: stopped during the round (resume measures it again)
    started: str
    finished: str
    load_s: Number | None  # the load before this visit; null: the model stayed loaded
    warmup: int
    summary: dict[str, Summary]  # this round's repetitions
    health: dict[str, Any] | None  # bench.meters.health, over this visit
    power: list[dict[str, Any]]  # bench.meters, over this visit (raw samples here)
    host_load: HostLoad | None


class CaseRecord(_Part):
    """One case: what ran, its repetitions, summaries, meters and error (schema version 1)."""

    schema_: Literal[1] = Field(default=1, alias="schema")  # SCHEMA_VERSION
    case_id: str  # "model/backend/workload", unique in a run
    status: Literal["ok", "failed", "interrupted"]  # interrupted: reps kept, resume redoes it
    labels: list[str]  # "simulated", "synthetic weights: speed only", "throttled", ...
    model: ModelSection
    backend: BackendSection
    workload: dict[str, Any]  # the workload as resolved (bench.config.schema)
    started: str  # ISO 8601 UTC
    finished: str
    load_s: Number | None  # model load time, harness clock (shared by a model's cases)
    warmup: int  # warm-ups done (not recorded)
    reps: list[RepRecord]
    summary: dict[str, Summary]  # per metric
    peak_rss_mb: Number | None  # peak resident memory of the pibench process in the case
    power: list[dict[str, Any]]  # one per meter: summary + raw samples (bench.meters)
    health: dict[str, Any] | None  # temperatures, clocks, throttling (bench.meters.health)
    host_load: HostLoad | None
    roofline: dict[str, Any] | None  # bandwidth bound, where known (CPU backends)
    mixed: dict[str, Any] | None  # vision + LLM figures (bench.vision)
    error: ErrorRecord | None
    drift: dict[str, Drift] | None = None  # per metric; absent below 5 reps without rounds
    thermal: CaseThermal | None = None  # absent when nothing read the board
    rounds: list[RoundRecord] | None = None  # absent for a run without rounds
    sanitized: list[str] | None = None  # written by the store when a value was not JSON

    def to_line_dict(self) -> dict[str, Any]:
        """The record as the dict written to ``cases.jsonl`` (key order = field order)."""
        return self.model_dump(by_alias=True, exclude_unset=True)

    @classmethod
    def read(cls, data: dict[str, Any]) -> CaseRecord:
        """A line read back (``bench.results.reader`` already checked its shape and version);
        a reader's cut raw arrays are null."""
        return cls.model_validate(data)


def version_problem(data: dict[str, Any]) -> str | None:
    """Why a record of another schema version cannot be read, in one line; None for ours."""
    version = data.get("schema")
    if version == SCHEMA_VERSION and type(version) is int:
        return None
    return (f"schema version {version!r}, this pibench reads version {SCHEMA_VERSION} "
            "(written by another pibench version: read it with that version)")
