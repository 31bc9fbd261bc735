"""A whole run: pre-flight checks, the run folder, the runner, the final status.

Used by ``pibench run`` (new run and ``--resume``) and by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.clock import Clock, RealClock, VirtualClock
from bench.config.loader import ResolvedConfig, load_config
from bench.errors import UserError
from bench.results import environment
from bench.results.store import RunDir, utc_now
from bench.runner.instruments import Instruments
from bench.runner.mixed import MixedCase, build_mixed_plan
from bench.runner.plan import Case, Skipped, build_plan, skipped_lines
from bench.runner.progress import Progress, make_progress
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
    """User mistakes that can be seen before any model is loaded: exit 2 at once."""
    seen: set[int] = set()
    for case in cases:
        check = getattr(case.artifact, "preflight", None)
        if check is not None and id(case.artifact) not in seen:
            seen.add(id(case.artifact))
            try:
                check()
            except UserError as exc:
                raise UserError(f"{cfg.path}: model {case.model.name!r}, backend "
                                f"{case.backend.name!r}: {exc}") from None


_FILE_FIELDS = ("gguf", "mmproj", "hef", "path", "model_path")


def model_files(cfg: ResolvedConfig, cases: list[Case]) -> list[dict[str, Any]]:
    """Size and sha256 of every model file the cases name directly (a ``synth:`` or
    ``pypi:`` spec is made at load; its file's facts are in the case record)."""
    from bench.models.files import sha256_file

    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for case in cases:
        for key in _FILE_FIELDS:
            value = getattr(case.artifact, key, None)
            if not isinstance(value, str) or ":" in value.split("/")[0]:
                continue
            path = Path(value).expanduser()
            if str(path) in seen or not path.is_file():
                continue
            seen.add(str(path))
            out.append({"model": case.model.name, "field": key, "path": str(path),
                        "bytes": path.stat().st_size, "sha256": sha256_file(path)})
    return out


def _environment(cfg: ResolvedConfig, cases: list[Case]) -> dict[str, Any]:
    env = environment.collect()
    env["model_files"] = model_files(cfg, cases)
    return env


def execute(cfg: ResolvedConfig, run_dir: RunDir, cases: list[Case], clock: Clock,
            progress: Progress, metering: Instruments,
            mixed: list[MixedCase] | None = None) -> Outcome:
    for w in metering.warnings:
        progress.message(f"warning: {w}")
    runner = Runner(cfg, run_dir, clock, progress, metering)
    try:
        with sigterm_as_interrupt():
            outcome = runner.run(cases, mixed)
    finally:
        metering.close()
    status = "interrupted" if outcome.interrupted else "finished"
    run_dir.update_meta(status=status, finished=utc_now(),
                        cases_ok=len([c for c in run_dir.cases() if c["status"] == "ok"]),
                        cases_failed=len([c for c in run_dir.cases() if c["status"] != "ok"]))
    return outcome


def start_run(config_path: str | Path, filters: Filters | None = None,
              output_dir: str | Path | None = None, quiet: bool = False,
              progress: Progress | None = None) -> RunResult:
    filters = filters or Filters()
    cfg = load_config(config_path)
    cases, skipped = build_plan(cfg, filters.models, filters.backends, filters.workloads)
    preflight(cfg, cases)
    mixed = build_mixed_plan(cfg, cases)
    clock = make_clock(cfg)
    metering = Instruments.build(cfg, clock)  # a meter that cannot be read: exit 2 now
    progress = progress or make_progress(quiet)
    for line in skipped_lines(skipped):
        progress.message(line)
    out = Path(output_dir) if output_dir is not None else Path(cfg.run.output_dir)
    run_dir = RunDir.create(out, cfg.run.name, cfg.path, cfg.to_dict(), cfg.fingerprint())
    run_dir.update_meta(filters=filters.as_dict(),
                        planned=[c.case_id for c in cases] + [m.case_id for m in mixed],
                        skipped=[{"case_id": s.case_id, "reason": s.reason} for s in skipped])
    run_dir.write_environment(_environment(cfg, cases))
    outcome = execute(cfg, run_dir, cases, clock, progress, metering, mixed)
    return RunResult(run_dir, outcome, skipped, metering.warnings)


def resume_run(path: str | Path, config_path: str | Path | None = None, quiet: bool = False,
               progress: Progress | None = None) -> RunResult:
    run_dir = RunDir.open(Path(path))
    meta = run_dir.meta()
    cfg_file = Path(config_path) if config_path else Path(meta["config_file"])
    cfg = load_config(cfg_file)
    if cfg.fingerprint() != meta["fingerprint"]:
        raise UserError(f"{cfg_file}: the config changed since {run_dir.path} was started; "
                        "resume only with the same config (or start a new run)")
    f = meta.get("filters") or {}
    filters = Filters(f.get("models"), f.get("backends"), f.get("workloads"))
    cases, skipped = build_plan(cfg, filters.models, filters.backends, filters.workloads)
    torn = run_dir.repair()
    done = run_dir.done_ids()
    todo = [c for c in cases if c.case_id not in done]
    todo_mixed = [m for m in build_mixed_plan(cfg, cases) if m.case_id not in done]
    progress = progress or make_progress(quiet)
    if torn:
        progress.message(f"note: moved a torn last line ({torn} bytes) to cases.jsonl.torn")
    progress.message(f"resuming {run_dir.path}: {len(done)} case(s) done, "
                     f"{len(todo) + len(todo_mixed)} to run")
    run_dir.update_meta(status="running",
                        resumed=[*meta.get("resumed", []), utc_now()])
    if not todo and not todo_mixed:
        run_dir.update_meta(status="finished", finished=utc_now())
        return RunResult(run_dir, Outcome(), skipped, [])
    preflight(cfg, todo)
    clock = make_clock(cfg)
    metering = Instruments.build(cfg, clock)
    run_dir.write_environment(_environment(cfg, todo))
    outcome = execute(cfg, run_dir, todo, clock, progress, metering, todo_mixed)
    return RunResult(run_dir, outcome, skipped, metering.warnings)
