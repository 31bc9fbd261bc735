"""The one place a case record is built: a case that ran (ok or failed mid-way), a mixed case,
and a case that never ran (its backend or model did not load, a mixed warm-up failed)."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from bench.backends.base import Backend, ModelInfo
from bench.common import json_number
from bench.errors import PibenchError
from bench.results.drift import drift
from bench.results.drift import label as drift_label
from bench.results.metrics import case_summary
from bench.results.record import CaseRecord, ErrorRecord
from bench.results.schema import SCHEMA_VERSION, RepRecord
from bench.results.store import utc_now
from bench.runner import memory
from bench.runner.hostload import HostLoadSummary
from bench.runner.plan import Case
from bench.stats import summarize


def one_line(exc: BaseException) -> str:
    """An exception as one line: its first line, with its class unless pibench's own."""
    text = str(exc).strip().splitlines()
    msg = text[0] if text else type(exc).__name__
    if not isinstance(exc, PibenchError):
        msg = f"{type(exc).__name__}: {msg}"
    return msg


def mixed_is_simulated(result: dict[str, Any]) -> bool:
    """run_mixed's "simulated" entry is {"vision": bool, "llm": bool}: either side counts."""
    return any((result.get("simulated") or {}).values())


def labels_for(backend: Backend, info: ModelInfo | None) -> list[str]:
    labels = []
    if backend.capabilities.simulated or (info is not None and info.weights == "simulated"):
        labels.append("simulated")
    if info is not None and info.weights == "synthetic":
        labels.append("synthetic weights: speed only")
    return labels


def prompt_label(asked: int | None, reps: list[RepRecord]) -> str | None:
    """"prompt N tokens" when the prompt the backend's runtime counted differs from the
    workload's length (a server that adds a BOS or a template); None when it matches or no
    count is known. A spread over the repetitions shows as "prompt N-M tokens"."""
    counts = sorted({int(c) for c in (r.get("prompt_tokens") for r in reps)
                     if isinstance(c, int)})
    if asked is None or not counts or counts == [asked]:
        return None
    real = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    return f"prompt {real} tokens"


def cache_label(reps: list[RepRecord]) -> str | None:
    """"prompt cached in K/N reps" when the runtime reused part of the prompt from its cache
    in K of the N repetitions (their prompt speeds are null); None when none did."""
    hit = sum(1 for r in reps if (r.get("prompt_cached_tokens") or 0) > 0)
    return f"prompt cached in {hit}/{len(reps)} reps" if hit else None


def not_cooled_label(reps: list[RepRecord]) -> str | None:
    """"not cooled in K/N reps" when the wait for ``health.cool_below_c`` ran out before K of
    the N repetitions (they started warmer or slower than asked); None when all were ready."""
    late = sum(1 for r in reps if isinstance(th := r.get("thermal"), dict)
               and isinstance(c := th.get("cooled"), dict) and c.get("reached") is False)
    return f"not cooled in {late}/{len(reps)} reps" if late else None


@dataclass
class Measured:
    """What a case that ran gives the record (the backend loaded; reps may be few or none)."""

    backend: Backend
    info: ModelInfo | None
    load_s: float | None
    warmup: int
    reps: list[RepRecord] = field(default_factory=list)
    power: list[dict[str, Any]] = field(default_factory=list)
    health: dict[str, Any] | None = None
    host_load: HostLoadSummary | None = None
    mixed: dict[str, Any] | None = None
    thermal: dict[str, Any] | None = None
    """bench.runner.thermal.case_thermal; None: nothing read the board."""
    rounds: list[dict[str, Any]] | None = None
    """One RoundRecord per visit (runs with rounds; bench.runner.rounds)."""


def error_record(error: BaseException | None, phase: str, rep: int | None,
                 elapsed_s: float | None, kind: str | None = None,
                 message: str | None = None) -> ErrorRecord:
    """The error of a failed case: from an exception, or given (a mixed side's failure)."""
    return ErrorRecord.model_validate({
        "type": kind if kind is not None else type(error).__name__,
        "message": message if message is not None else one_line(error or Exception()),
        "phase": phase, "rep": rep, "elapsed_s": elapsed_s})


def build_record(case: Case, case_id: str, started: str, measured: Measured | None,
                 error: ErrorRecord | None, simulated_backend: bool = False,
                 warn: Callable[[str], None] | None = None,
                 interrupted: str | None = None) -> CaseRecord:
    """The case's record. ``measured`` is None for a case that never ran (then
    ``simulated_backend`` says whether the backend that failed is the simulated device).
    ``interrupted`` (a label, e.g. "interrupted: 2 of 5 reps") marks a case stopped by Ctrl-C
    or SIGTERM after some repetitions: status "interrupted", the finished ones kept; resume
    measures it again in full. A record the model refuses (a backend's ``describe()`` or a
    meter giving a value of another type) is still written as built, with one ``warn`` line:
    never a lost case."""
    m = case.model
    model: dict[str, Any] = {"name": m.name, "family": m.family, "params_b": m.params_b,
                             "artifact": case.artifact.model_dump(mode="json"), "info": None}
    backend: dict[str, Any] = {"name": case.backend.name, "type": case.backend.type}
    body: dict[str, Any]
    if measured is None:
        body = {"labels": ["simulated"] if simulated_backend else [], "load_s": None,
                "warmup": 0, "reps": [], "summary": {}, "peak_rss_mb": None, "power": [],
                "health": None, "host_load": None, "roofline": None, "mixed": None}
    else:
        b, info, reps = measured.backend, measured.info, measured.reps
        model["info"] = dataclasses.asdict(info) if info is not None else None
        try:
            described = b.describe()
        except Exception as exc:
            described = {"device": "unknown", "describe_error": one_line(exc)}
        backend.update({"capabilities": dataclasses.asdict(b.capabilities),
                        "runs_on": b.runs_on, **described})
        body = {"labels": _labels(case, measured), "load_s": _round(measured.load_s, 4),
                "warmup": measured.warmup, "reps": reps,
                "summary": case_summary(reps, _internal_source(reps)),
                "peak_rss_mb": memory.peak_rss_mb(), "power": measured.power,
                "health": measured.health, "host_load": measured.host_load,
                "roofline": roofline(b, info, reps, described), "mixed": measured.mixed}
        found = drift(reps) if measured.mixed is None else None
        if found is not None:
            body["drift"] = found
            text = drift_label(found)
            if text:
                body["labels"].append(text)
        if measured.thermal is not None:
            body["thermal"] = measured.thermal
        if measured.rounds is not None:
            body["rounds"] = measured.rounds
    status = "ok" if error is None else "interrupted" if interrupted else "failed"
    if interrupted:
        body["labels"].append(interrupted)
    record = {"schema": SCHEMA_VERSION, "case_id": case_id, "status": status,
              "labels": body.pop("labels"), "model": model, "backend": backend,
              "workload": case.workload.model_dump(mode="json"), "started": started,
              "finished": utc_now(), **_core(body), "error": error, **_added(body)}
    try:
        return CaseRecord.model_validate(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        if warn is not None:
            warn(f"warning: case {case_id}: record field {where}: {first['msg']}; "
                 "written as measured")
        fields = {("schema_" if k == "schema" else k): v for k, v in record.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydantic's serializer notes the odd value
            return _Unchecked.model_construct(**fields)


class _Unchecked(CaseRecord):
    """A record kept as built although the model refused a value (see build_record)."""

    def to_line_dict(self) -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return super().to_line_dict()


ADDED = ("drift", "thermal", "rounds")
"""Keys added to schema 1 after the error (written only when set; see docs/results.md)."""


def _core(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ADDED}


def _added(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in ADDED if k in body}


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)


def _internal_source(reps: list[RepRecord]) -> str | None:
    for r in reps:
        internal = r.get("internal")
        if internal:
            return str(internal.get("source", "backend internal timings"))
    return None


def _labels(case: Case, measured: Measured) -> list[str]:
    labels = labels_for(measured.backend, measured.info)
    health = measured.health
    if health and health.get("throttled"):
        labels.append("throttled")
    elif health and health.get("throttle_history") == "unknown":
        labels.append("throttle history unknown")
    if any(p.get("simulated") for p in measured.power) and "simulated" not in labels:
        labels.append("simulated power")
    host_load = measured.host_load
    if host_load and not measured.backend.capabilities.simulated:
        if host_load["busy"]:
            labels.append("busy host")
        elif host_load["other_cpu_pct"] is None:  # too short a window to tell
            labels.append("host load n/a")
    if case.workload.kind == "throughput":
        label = prompt_label(case.workload.prompt_tokens, measured.reps)
        if label:
            labels.append(label)
    cached = cache_label(measured.reps)
    if cached:
        labels.append(cached)
    warm = not_cooled_label(measured.reps)
    if warm:
        labels.append(warm)
    result = measured.mixed
    if result is not None:
        if mixed_is_simulated(result) and "simulated" not in labels:
            labels.append("simulated")
        if "simulated" not in labels and any(
                f.get("simulated") for figs in (result.get("power") or {}).values()
                for f in figs):
            labels.append("simulated power")
    return labels


def roofline(backend: Backend, info: ModelInfo | None, reps: list[RepRecord],
             described: dict[str, Any]) -> dict[str, Any] | None:
    """Fraction of the memory-bandwidth bound that generation reached (CPU backends)."""
    if not backend.capabilities.host_cpu or info is None or not reps:
        return None
    per_token = json_number(info.extra.get("bytes_per_token"))
    if not per_token:
        return None
    from bench.roofline import get_bandwidth, roofline_fraction

    threads = described.get("threads")
    bw = get_bandwidth(threads if isinstance(threads, int) else None)
    speeds = [r.get("gen_tps") for r in reps]
    fractions: list[float | None] = [
        roofline_fraction(s, per_token, bw.bound_gbps) for s in speeds if s]
    return {
        "bytes_per_token": per_token,
        "bandwidth_gbps": round(bw.bound_gbps, 3),
        "bandwidth": {"read_gbps": bw.read_gbps, "copy_gbps": bw.copy_gbps,
                      "threads": bw.threads, "method": bw.method,
                      "measured_at": bw.measured_at},
        "bound_tps": round(bw.bound_gbps * 1e9 / per_token, 3),
        "fraction": summarize(fractions, "fraction of bound",
                              "gen_tps x bytes_per_token / measured read bandwidth"),
        "assumptions": "weights read once per token (KV cache and activations left out); "
                       "bandwidth measured here by a streaming read (bench.roofline)",
    }
