"""A whole run: pre-flight checks, the run folder, the runner, the final status.

Used by ``pibench run`` (new run and ``--resume``) and by the tests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import simthermal
from bench.clock import Clock, RealClock, VirtualClock
from bench.common import JsonObject
from bench.config.loader import ConfigErrors, ResolvedConfig, load_config
from bench.config.overrides import Overrides
from bench.errors import PibenchError, UserError
from bench.results import environment
from bench.results.safe_io import StorageError
from bench.results.store import RunDir, utc_now
from bench.runner.inputs import changed_inputs, input_hashes, preflight_problems
from bench.runner.instruments import Instruments
from bench.runner.mixed import MixedCase, build_mixed_plan
from bench.runner.plan import (
    Case,
    Skipped,
    build_plan,
    reps_per_round,
    schedule,
    skipped_lines,
)
from bench.runner.progress import Progress, make_progress
from bench.runner.requests import forget_prompt_files
from bench.runner.rounds import CaseState, restore
from bench.runner.runner import Outcome, Runner, sigterm_as_interrupt


@dataclass
class Filters:
    models: list[str] | None = None
    backends: list[str] | None = None
    workloads: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"models": self.models, "backends": self.backends, "workloads": self.workloads}


@dataclass
class RunResult:
    run_dir: RunDir
    outcome: Outcome
    skipped: list[Skipped]
    warnings: list[str]

    @property
    def exit_code(self) -> int:
        if self.outcome.interrupted:
            return 130
        return 1 if self.outcome.failed else 0


def make_clock(cfg: ResolvedConfig) -> Clock:
    return VirtualClock() if cfg.run.clock == "virtual" else RealClock()


def preflight(cfg: ResolvedConfig, cases: list[Case]) -> None:
    """Every file the cases need (the same check as ``pibench validate``) and every server
    they talk to, checked before a run folder exists: all problems at once (``ConfigErrors``,
    exit 2), ordered by line."""
    lines = [p.text for p in preflight_problems(cfg, cases, online=True)]
    if lines:
        raise ConfigErrors(lines)


def model_files(cfg: ResolvedConfig, cases: list[Case]) -> list[dict[str, Any]]:
    """Size and sha256 of every model file the cases name directly (a ``synth:`` or
    ``pypi:`` spec is made at load; its file's facts are in the case record)."""
    from bench.models.files import sha256_file

    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for case in cases:
        for key, value in case.artifact.named_files().items():
            if ":" in value.split("/")[0]:
                continue
            path = Path(value).expanduser()
            if str(path) in seen or not path.is_file():
                continue
            seen.add(str(path))
            out.append({"model": case.model.name, "field": key, "path": str(path),
                        "bytes": path.stat().st_size, "sha256": sha256_file(path)})
    return out


def fingerprint(config_fingerprint: str, inputs: dict[str, dict[str, Any]]) -> str:
    """The run's fingerprint: the resolved config and the content of every input file."""
    text = json.dumps({"config": config_fingerprint,
                       "inputs": {k: v["sha256"] for k, v in sorted(inputs.items())}},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _environment(cfg: ResolvedConfig, cases: list[Case]) -> dict[str, Any]:
    env = environment.collect()
    env["model_files"] = model_files(cfg, cases)
    return env


def _stopped(run_dir: RunDir, error: BaseException) -> None:
    """Record in run.json why the run stopped (a full disk: the lock's reserve is given back
    first so that run.json can still be written); never raises."""
    if run_dir.lock is not None:
        run_dir.lock.free_reserve()
    line = str(error).splitlines()[0] if str(error) else type(error).__name__
    with contextlib.suppress(PibenchError, OSError):
        run_dir.update_meta(status="interrupted", finished=utc_now(), error=line)


def uses_rounds(cfg: ResolvedConfig) -> bool:
    """Whether the run goes by the schedule (bench.runner.rounds) rather than case by case."""
    return cfg.run.rounds > 1 or cfg.run.order != "blocks"


def schedule_meta(cfg: ResolvedConfig, cases: list[Case], seed: int | None) -> dict[str, Any]:
    """run.json's ``schedule``: what a resume needs to visit in the same order, and what a
    reader needs to know the order the cases met the board in."""
    visits = schedule(cases, cfg.run.rounds, cfg.run.order, seed, cfg.run.repetitions)
    return {"rounds": cfg.run.rounds, "order": cfg.run.order, "seed": seed,
            "reload_per_round": cfg.run.reload_per_round,
            "visits": [[v.round, v.case.case_id] for v in visits]}


def execute(cfg: ResolvedConfig, run_dir: RunDir, cases: list[Case], clock: Clock,
            progress: Progress, metering: Instruments,
            mixed: list[MixedCase] | None = None, seed: int | None = None,
            restored: dict[str, CaseState] | None = None) -> Outcome:
    for w in metering.warnings:
        progress.message(f"warning: {w}")
    forget_prompt_files()
    simthermal.reset()  # a new run starts on a cool simulated board
    runner = Runner(cfg, run_dir, clock, progress, metering)
    visits = (schedule(cases, cfg.run.rounds, cfg.run.order, seed, cfg.run.repetitions)
              if uses_rounds(cfg) else None)
    try:
        with sigterm_as_interrupt():
            outcome = runner.run(cases, mixed, visits, restored)
        status = "interrupted" if outcome.interrupted else "finished"
        records = run_dir.cases()
        run_dir.update_meta(status=status, finished=utc_now(),
                            cases_ok=len([c for c in records if c.get("status") == "ok"]),
                            cases_failed=len([c for c in records if c.get("status") == "failed"]),
                            cases_interrupted=len([c for c in records
                                                   if c.get("status") == "interrupted"]))
    except Exception as exc:
        _stopped(run_dir, exc)
        if isinstance(exc, StorageError):
            raise StorageError(f"{exc}; the run stopped: free space (or fix the folder), then "
                               f"`pibench run --resume {run_dir.path}`") from None
        raise
    finally:
        metering.close()
    return outcome


def resolved_dict(cfg: ResolvedConfig) -> dict[str, Any]:
    """resolved.json: the config with every default filled in and the command line's
    overrides applied (listed under ``overrides`` when there are any)."""
    data = cfg.to_dict()
    if not cfg.overrides.empty():
        data["overrides"] = cfg.overrides.as_dict()
    return data


def start_run(config_path: str | Path, filters: Filters | None = None,
              output_dir: str | Path | None = None, quiet: bool = False,
              progress: Progress | None = None, keep_lock: bool = False,
              overrides: Overrides | None = None) -> RunResult:
    """Run a config into a new run folder. ``keep_lock``: the folder stays locked by this
    process when this returns (the caller writes its report, then ``run_dir.release()``).
    ``overrides``: the command line's changes (bench.config.overrides), kept in run.json."""
    filters = filters or Filters()
    cfg = load_config(config_path, overrides=overrides)
    cases, skipped = build_plan(cfg, filters.models, filters.backends, filters.workloads)
    preflight(cfg, cases)
    mixed = build_mixed_plan(cfg, cases)
    clock = make_clock(cfg)
    metering = Instruments.build(cfg, clock)  # a meter that cannot be read: exit 2 now
    try:
        progress = progress or make_progress(quiet)
        for line in skipped_lines(skipped):
            progress.message(line)
        out = Path(output_dir) if output_dir is not None else Path(cfg.run.output_dir)
        inputs = input_hashes(cfg, cases)
        seed = cfg.run.order_seed
        if seed is None and cfg.run.order == "shuffle":
            seed = secrets.randbits(32)
        meta: JsonObject = {"filters": filters.as_dict(),
                "planned": [c.case_id for c in cases] + [m.case_id for m in mixed],
                "skipped": [{"case_id": s.case_id, "reason": s.reason} for s in skipped],
                "config_fingerprint": cfg.fingerprint(), "inputs": inputs,
                "overrides": cfg.overrides.as_dict()}
        if uses_rounds(cfg):
            meta["schedule"] = schedule_meta(cfg, cases, seed)
        run_dir = RunDir.create(out, cfg.run.name, cfg.path, resolved_dict(cfg),
                                fingerprint(cfg.fingerprint(), inputs), meta,
                                _environment(cfg, cases))
    except BaseException:
        metering.close()
        raise
    try:
        outcome = execute(cfg, run_dir, cases, clock, progress, metering, mixed,
                          seed if uses_rounds(cfg) else None)
    except BaseException:
        run_dir.release()
        raise
    if not keep_lock:
        run_dir.release()
    return RunResult(run_dir, outcome, skipped, metering.warnings)


def _resume_meta(run_dir: RunDir) -> dict[str, Any]:
    """run.json of a folder to resume, checked: one line if it is damaged."""
    path = run_dir.path / "run.json"
    meta: Any = run_dir.meta()
    if not isinstance(meta, dict):
        raise UserError(f"{path}: damaged (not a JSON object); this folder cannot be resumed: "
                        "start a new run")
    for key in ("fingerprint", "config_file"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            raise UserError(f"{path}: damaged (no {key!r}); this folder cannot be resumed: "
                            "start a new run")
    return meta


def _describe(ov: Overrides) -> str:
    parts = [f"{k} {v}" for k, v in ov.as_dict().items() if v not in (None, [])]
    return ", ".join(parts) if parts else "none"


def _filters(meta: dict[str, Any]) -> Filters:
    f = meta.get("filters")
    f = f if isinstance(f, dict) else {}

    def names(key: str) -> list[str] | None:
        v = f.get(key)
        return [str(x) for x in v] if isinstance(v, list) else None

    return Filters(names("models"), names("backends"), names("workloads"))


def resume_run(path: str | Path, config_path: str | Path | None = None, quiet: bool = False,
               progress: Progress | None = None, keep_lock: bool = False,
               overrides: Overrides | None = None) -> RunResult:
    """Finish an interrupted run (``keep_lock`` as in ``start_run``). The run's own
    overrides are applied again; ``overrides`` given here must be the same ones."""
    run_dir = RunDir.open(Path(path))
    run_dir.acquire()  # another process on this folder: one line, exit 2
    ok = False
    try:
        result = _resume_locked(run_dir, config_path, quiet, progress, overrides)
        ok = True
        return result
    finally:
        if not (ok and keep_lock):
            run_dir.release()


def _resume_locked(run_dir: RunDir, config_path: str | Path | None, quiet: bool,
                   progress: Progress | None, overrides: Overrides | None) -> RunResult:
    meta = _resume_meta(run_dir)
    own = Overrides.from_dict(meta.get("overrides"))
    if overrides is not None and not overrides.empty() and overrides != own:
        raise UserError(f"cannot resume {run_dir.path} with other command-line overrides than "
                        f"it started with ({_describe(own)}); resume with none (the run's "
                        "own are used) or start a new run")
    notes: list[str] = []
    original = Path(meta["config_file"])
    base_dir: Path | None = None
    if config_path:
        cfg_file = Path(config_path)
    elif original.is_file():
        cfg_file = original
    else:
        cfg_file, base_dir = run_dir.path / "config.yaml", original.parent
        notes.append(f"note: {original} is gone; using the run folder's copy {cfg_file}")
    cfg = load_config(cfg_file, base_dir, overrides=own)
    expected = meta.get("config_fingerprint", meta["fingerprint"])
    if cfg.fingerprint() != expected:
        raise UserError(f"{cfg_file}: the config changed since {run_dir.path} was started; "
                        "resume only with the same config (or start a new run)")
    filters = _filters(meta)
    cases, skipped = build_plan(cfg, filters.models, filters.backends, filters.workloads)
    stored = meta.get("inputs")
    if isinstance(stored, dict):
        changed = changed_inputs(stored, input_hashes(cfg, cases))
        if changed:
            raise UserError(f"cannot resume {run_dir.path}: its inputs changed since it started "
                            f"({'; '.join(changed)}); restore them or start a new run")
    torn = run_dir.repair()
    done = run_dir.done_ids()
    restored: dict[str, CaseState] = {}
    seed: int | None = None
    if uses_rounds(cfg):
        sched = meta.get("schedule")
        seed = sched.get("seed") if isinstance(sched, dict) else None
        if cfg.run.order == "shuffle" and not isinstance(seed, int):
            raise UserError(f"{run_dir.path}/run.json: no schedule seed for order: shuffle; "
                            "this folder cannot be resumed in its order: start a new run")
        for record in run_dir.cases():
            state = (restore(record, reps_per_round(cfg.run.repetitions, cfg.run.rounds))
                     if record["case_id"] not in done else None)
            if state is not None:
                restored[record["case_id"]] = state
        for cid in done:  # a case with a complete record is not visited again
            restored[cid] = CaseState(done=True)
        todo = [c for c in cases if c.case_id not in done]
    else:
        todo = [c for c in cases if c.case_id not in done]
    todo_mixed = [m for m in build_mixed_plan(cfg, cases) if m.case_id not in done]
    progress = progress or make_progress(quiet)
    for note in notes:
        progress.message(note)
    if torn:
        progress.message(f"note: moved a torn last line ({torn} bytes) to cases.jsonl.torn")
    progress.message(f"resuming {run_dir.path}: {len(done)} case(s) done, "
                     f"{len(todo) + len(todo_mixed)} to run")
    resumed = meta.get("resumed")
    resumed = resumed if isinstance(resumed, list) else []
    if not todo and not todo_mixed:
        run_dir.update_meta(status="finished", finished=utc_now(), error=None,
                            resumed=[*resumed, utc_now()])
        return RunResult(run_dir, Outcome(), skipped, [])
    preflight(cfg, todo)
    clock = make_clock(cfg)
    metering = Instruments.build(cfg, clock)
    try:
        run_dir.update_meta(status="running", error=None, resumed=[*resumed, utc_now()])
        run_dir.write_environment(_environment(cfg, todo))
    except BaseException as exc:
        metering.close()
        if isinstance(exc, Exception):
            _stopped(run_dir, exc)
        raise
    if uses_rounds(cfg):  # the whole schedule, in its order; done rounds are passed by
        outcome = execute(cfg, run_dir, cases, clock, progress, metering, todo_mixed, seed,
                          restored)
    else:
        outcome = execute(cfg, run_dir, todo, clock, progress, metering, todo_mixed)
    return RunResult(run_dir, outcome, skipped, metering.warnings)
