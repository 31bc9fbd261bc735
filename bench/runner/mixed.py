"""Mixed cases: a vision workload runs while the LLM case runs (config section ``mixed:``).

For each placement (a detector, and the backend that is the LLM side), each model that has
an artifact for that backend and each LLM workload of the section: load the model, warm up,
then bench.vision.mixed.run_mixed measures vision alone, the LLM alone, and both together.
The LLM side is timed by the runner's own code (bench.runner.runner / metrics), so its
figures are defined exactly like those of ordinary cases. Where the LLM runs is what the
backend declares (``Backend.runs_on``), never read from its description.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.backends.base import Backend
from bench.config.loader import ResolvedConfig
from bench.runner.metrics import case_summary, rep_record
from bench.runner.plan import Case


@dataclass(frozen=True)
class MixedCase:
    case: Case
    placement: Any  # bench.vision.config.Placement

    @property
    def case_id(self) -> str:
        return f"{self.case.case_id}@{self.placement.name}"


def build_mixed_plan(cfg: ResolvedConfig, cases: list[Case]) -> list[MixedCase]:
    """Mixed cases for the LLM cases of the plan that a placement names (filters apply)."""
    mixed = cfg.mixed
    if mixed is None:
        return []
    wanted = getattr(mixed, "workloads", None)
    out = []
    for p in mixed.placements:  # type: ignore[attr-defined]
        for case in cases:
            if case.backend.name != p.backend:
                continue
            if wanted is None and case.workload.kind != "throughput":
                continue
            if wanted is not None and case.workload.name not in wanted:
                continue
            out.append(MixedCase(case, p))
    return out


def llm_case(runner: Any, backend: Backend, case: Case, first_call: int) -> Any:
    """A callable for run_mixed: the run's repetitions of the case's workload, measured with
    the runner's own generate loop; returns bench.vision.llm_side.LLMSideResult."""
    from bench.vision.llm_side import LLMSideResult

    calls = [first_call]

    def run() -> LLMSideResult:
        reps = runner.cfg.run.repetitions
        result = LLMSideResult(None, None, None, 0, simulated=backend.capabilities.simulated,
                               t_start=runner.clock.now())
        records = []
        try:
            for r in range(reps):
                stats, events = runner._generate(backend, case, calls[0], r, "mixed")
                calls[0] += 1
                records.append(rep_record(r, stats, events, keep_text=False))
                result.n += 1
        except Exception as exc:
            cause = getattr(exc, "error", exc)
            result.ok = False
            result.error = f"{type(cause).__name__}: {cause}"
            result.error_t = runner.clock.now()
        result.t_end = runner.clock.now()
        summary = case_summary(records, None)  # the same figures as an ordinary case's
        result.gen_tps_median = summary["gen_tps"]["median"]
        result.prompt_tps_median = summary["prompt_tps"]["median"]
        result.ttft_median = summary["ttft_s"]["median"]
        result.per_run = [dict(x) for x in records]
        return result

    return run


def run_mixed_case(runner: Any, mc: MixedCase, backend: Backend) -> dict[str, Any]:
    """Warm up, then the three phases of run_mixed; returns the ``mixed`` record entry."""
    from bench.vision.mixed import run_mixed

    opts = runner.cfg.mixed
    for w in range(runner.cfg.run.warmup):
        runner.progress.rep(f"warm-up {w + 1}/{runner.cfg.run.warmup}")
        runner._generate(backend, mc.case, w, w, "warmup")

    def phase(name: str, figures: str | None) -> None:
        if figures:  # the phase that ended: its vision figures
            runner.progress.figures(figures)
        if name != "start":
            runner._advance()
        if name != "done":
            runner.progress.rep(name)

    meters = runner.metering.meters if runner.metering is not None else []
    return run_mixed(
        opts.vision_for(mc.placement),
        llm_case(runner, backend, mc.case, runner.cfg.run.warmup),
        clock=runner.clock, placement=mc.placement.name,
        llm_device=backend.runs_on,  # declared by the backend, "unknown" if it cannot know
        vision_alone_s=opts.vision_alone_s, settle_s=opts.settle_s, meters=meters,
        llm_co_tenant=backend.set_co_tenant, on_phase=phase,
    )
