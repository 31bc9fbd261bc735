"""Mixed cases: a vision workload runs while the LLM case runs (config section ``mixed:``).

For each placement (a detector, and the backend that is the LLM side), each model that has
an artifact for that backend and each LLM workload of the section: load the model, warm up,
then bench.vision.mixed.run_mixed measures vision alone, the LLM alone, and both together.
The LLM side is timed by the runner's own code (bench.runner.runner / metrics), so its
figures are defined exactly like those of ordinary cases. Where the LLM runs is what the
backend declares (``Backend.runs_on``), never read from its description.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bench.backends.base import Backend, GenerationStats, TokenEvent
from bench.clock import Clock
from bench.config.loader import ResolvedConfig
from bench.results.metrics import case_summary, rep_record
from bench.runner.plan import Case

if TYPE_CHECKING:
    from bench.meters.base import PowerMeter
    from bench.vision.config import MixedOptions, Placement
    from bench.vision.llm_side import LLMSideResult


class GenerateAndMeasure(Protocol):
    """One generation of ``case`` on ``backend``, timed by the runner's own loop (the same
    code as ordinary cases): its stats and token events. ``call`` counts the case's
    generations (it varies the prompt), ``index`` is the repetition, ``phase`` names it in
    errors; a failure raises bench.runner.runner.CaseFailure."""

    def __call__(self, backend: Backend, case: Case, call: int, index: int,
                 phase: str) -> tuple[GenerationStats, list[TokenEvent]]: ...


@dataclass(frozen=True)
class MixedRun:
    """What a mixed case needs from the run: the generate-and-measure function, the clock,
    the repetition counts, the ``mixed:`` options, the run's meters and its progress hooks."""

    generate: GenerateAndMeasure
    clock: Clock
    repetitions: int
    warmup: int
    options: MixedOptions
    meters: Sequence[PowerMeter] = ()
    status: Callable[[str], None] = lambda text: None
    """Progress: what the case is doing now (e.g. "warm-up 1/2")."""
    on_phase: Callable[[str, str | None], None] | None = None
    """Progress: a mixed phase begins (its name; "done" at the end) with the vision figures
    of the phase that ended (bench.vision.mixed.run_mixed)."""


@dataclass(frozen=True)
class MixedCase:
    case: Case
    placement: Placement

    @property
    def case_id(self) -> str:
        return f"{self.case.case_id}@{self.placement.name}"


def mixed_options(cfg: ResolvedConfig) -> MixedOptions | None:
    """The validated ``mixed:`` section (bench.vision.config.MixedOptions), or None."""
    from bench.vision.config import MixedOptions

    return cfg.mixed if isinstance(cfg.mixed, MixedOptions) else None


def build_mixed_plan(cfg: ResolvedConfig, cases: list[Case]) -> list[MixedCase]:
    """Mixed cases for the LLM cases of the plan that a placement names (filters apply)."""
    mixed = mixed_options(cfg)
    if mixed is None:
        return []
    wanted = mixed.workloads
    out = []
    for p in mixed.placements:
        for case in cases:
            if case.backend.name != p.backend:
                continue
            if wanted is None and case.workload.kind != "throughput":
                continue
            if wanted is not None and case.workload.name not in wanted:
                continue
            out.append(MixedCase(case, p))
    return out


def llm_case(run: MixedRun, backend: Backend, case: Case, first_call: int
             ) -> Callable[[], LLMSideResult]:
    """A callable for run_mixed: the run's repetitions of the case's workload, measured with
    the runner's own generate loop."""
    from bench.vision.llm_side import LLMSideResult

    calls = [first_call]

    def measure() -> LLMSideResult:
        result = LLMSideResult(None, None, None, 0, simulated=backend.capabilities.simulated,
                               t_start=run.clock.now())
        records = []
        try:
            for r in range(run.repetitions):
                stats, events = run.generate(backend, case, calls[0], r, "mixed")
                calls[0] += 1
                records.append(rep_record(r, stats, events, keep_text=False))
                result.n += 1
        except Exception as exc:
            cause = getattr(exc, "error", exc)
            result.ok = False
            result.error = f"{type(cause).__name__}: {cause}"
            result.error_t = run.clock.now()
        result.t_end = run.clock.now()
        summary = case_summary(records, None)  # the same figures as an ordinary case's
        result.gen_tps_median = summary["gen_tps"]["median"]
        result.prompt_tps_median = summary["prompt_tps"]["median"]
        result.ttft_median = summary["ttft_s"]["median"]
        result.per_run = [x.copy() for x in records]
        return result

    return measure


def run_mixed_case(run: MixedRun, mc: MixedCase, backend: Backend) -> dict[str, Any]:
    """Warm up, then the three phases of run_mixed; returns the ``mixed`` record entry."""
    from bench.vision.mixed import run_mixed

    opts = run.options
    for w in range(run.warmup):
        run.status(f"warm-up {w + 1}/{run.warmup}")
        run.generate(backend, mc.case, w, w, "warmup")
    return run_mixed(
        opts.vision_for(mc.placement),
        llm_case(run, backend, mc.case, run.warmup),
        clock=run.clock, placement=mc.placement.name,
        llm_device=backend.runs_on,  # declared by the backend, "unknown" if it cannot know
        vision_alone_s=opts.vision_alone_s, settle_s=opts.settle_s, meters=list(run.meters),
        llm_co_tenant=backend.set_co_tenant, on_phase=run.on_phase,
    )
