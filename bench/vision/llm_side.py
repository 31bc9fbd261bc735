"""The LLM side of a mixed run: what ``run_mixed`` needs from it, and a ready-made case that
drives any ``Backend`` through its generate() contract."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.backends.base import Backend, GenerationRequest, GenerationStats, TokenEvent
from bench.clock import Clock


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
    per_run: list[dict[str, Any]] = field(default_factory=list)
    """Raw figures per repetition: ttft_s, gen_tokens, gen_s, prompt_tokens, methods."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _one(backend: Backend, request: GenerationRequest) -> tuple[list[TokenEvent], GenerationStats]:
    gen = backend.generate(request)
    events: list[TokenEvent] = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return events, stop.value


def llm_case_from_backend(
    backend: Backend, request: GenerationRequest, *, repetitions: int = 3, clock: Clock,
) -> Callable[[], LLMSideResult]:
    """A ``llm_case`` for ``run_mixed``: ``repetitions`` generations of ``request`` on an
    already loaded backend (``reset()`` between them), timed on the backend's events."""

    def case() -> LLMSideResult:
        result = LLMSideResult(None, None, None, 0, simulated=backend.capabilities.simulated)
        result.t_start = clock.now()
        ttft, gen_tps, prompt_tps = [], [], []
        try:
            for rep in range(repetitions):
                backend.reset()
                req = dataclasses.replace(request, variant=rep)
                events, stats = _one(backend, req)
                if not events:
                    raise RuntimeError("the backend returned no token")
                first = events[0].t - stats.t_request
                tokens = sum(e.n for e in events)
                decode_s = events[-1].t - events[0].t
                row: dict[str, Any] = {
                    "ttft_s": first, "gen_tokens": stats.gen_tokens,
                    "gen_tokens_method": stats.gen_tokens_method,
                    "prompt_tokens": stats.prompt_tokens, "gen_s": decode_s,
                }
                ttft.append(first)
                if tokens > events[0].n and decode_s > 0:
                    row["gen_tps"] = (tokens - events[0].n) / decode_s
                    gen_tps.append(row["gen_tps"])
                if stats.prompt_tokens and first > 0:
                    row["prompt_tps"] = stats.prompt_tokens / first
                    prompt_tps.append(row["prompt_tps"])
                result.per_run.append(row)
                result.n += 1
        except Exception as exc:
            result.ok = False
            result.error = f"{type(exc).__name__}: {exc}"
            result.error_t = clock.now()
        result.t_end = clock.now()
        result.ttft_median = statistics.median(ttft) if ttft else None
        result.gen_tps_median = statistics.median(gen_tps) if gen_tps else None
        result.prompt_tps_median = statistics.median(prompt_tps) if prompt_tps else None
        return result

    return case
