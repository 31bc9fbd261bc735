"""The LLM side of a mixed run: the figures ``run_mixed`` needs from it. The runner builds
the case that fills them (bench.runner.mixed.llm_case)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from bench.common import JsonObject
from bench.results.schema import RepRecord


@dataclass
class LLMSideResult:
    """Figures of one LLM case (several repetitions). None: not measured."""

    gen_tps_median: float | None
    """Generated tokens per second after the first token, median over repetitions."""
    prompt_tps_median: float | None
    """Prompt tokens / time to first token, median."""
    ttft_median: float | None
    """Time to first token, seconds, median."""
    n: int
    """Repetitions that finished."""
    ok: bool = True
    error: str | None = None
    error_t: float | None = None
    """Clock time of the failure."""
    simulated: bool = False
    t_start: float | None = None
    t_end: float | None = None
    """Clock times the case started and ended (the window the vision figures are cut to)."""
    per_run: list[RepRecord] = field(default_factory=list)
    """Raw figures per repetition: ttft_s, gen_tokens, gen_s, prompt_tokens, methods."""

    def to_dict(self) -> JsonObject:
        out: JsonObject = asdict(self)
        return out
