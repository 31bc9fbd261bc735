"""The result schema, versioned. One JSON line per finished case in ``cases.jsonl``.

The record itself, field by field, is ``bench.results.record.CaseRecord`` (typed models);
the types here are the in-memory measurements the runner builds it from.

Format history (bump SCHEMA_VERSION on any change a reader must know about; the history
with what each version added is in docs/results.md):
  1 (pibench 0.1.0): first version.

Clock: every time in a record is in seconds on the run's monotonic clock, stored relative to
the repetition's ``t_request`` (token times) or to the case's start (power samples).

Metric definitions (harness clock, per repetition):
  ttft_s       time from handing the request to the runtime to the first token event.
  prompt_tps   prompt_tokens / ttft_s. The first token's sampling is inside TTFT, as for
               every client-side measurement; backends with internal timings also give
               internal_prompt_tps (llama.cpp perf counters, the llama-bench way).
  gen_tps      (gen_tokens - tokens of the first event) / (t_last - t_first): the first
               token is EXCLUDED, as llama-bench and most peers do, because it belongs to
               prompt processing. Needs at least 2 tokens; else null.
  e2e_s        t_last - t_request.
  internal_*   the runtime's own counters, when the backend has internal_timings.
  image_encode_ms, image_preprocess_ms   vision-language backends that can time them apart
               (llama_cpp_vlm): the vision tower's encoding of the images, and their
               preprocessing with the prompt's tokenizing; both inside ttft_s. Per rep in
               ``internal``, summarised when present.
Summaries (``summary.<metric>``) are over the measured repetitions (warm-ups excluded):
{mean, median, stddev (sample, n-1; null for n < 2), min, max, n, unit, source}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from bench.backends.base import InternalTimings
    from bench.common import JsonObject

SCHEMA_VERSION = 1

UNITS = {
    "ttft_s": "s",
    "prompt_tps": "tokens/s",
    "gen_tps": "tokens/s",
    "e2e_s": "s",
    "internal_prompt_tps": "tokens/s",
    "internal_gen_tps": "tokens/s",
    "image_encode_ms": "ms",
    "image_preprocess_ms": "ms",
    "gen_tokens": "tokens",
    "prompt_tokens": "tokens",
    "peak_rss_mb": "MB",
}


class Summary(TypedDict):
    mean: float | None
    median: float | None
    stddev: float | None  # sample standard deviation; None when n < 2
    min: float | None
    max: float | None
    n: int  # number of values summarised
    unit: str
    source: str  # "harness clock", "llama.cpp perf counters", "server: eval_duration", ...


class RepRecord(TypedDict, total=False):
    rep: int  # 0-based measured repetition
    prompt_tokens: int | None
    prompt_tokens_method: str
    gen_tokens: int
    gen_tokens_method: str
    stop_reason: str  # "length" | "eos" | "error"
    token_t: list[float]  # token event times, s after t_request (raw samples)
    token_n: list[int]  # tokens per event, only present when some event carried more than 1
    ttft_s: float | None
    prompt_tps: float | None
    gen_tps: float | None
    e2e_s: float | None
    internal: InternalTimings | None  # the runtime's own timings, as reported
    internal_prompt_tps: float | None
    internal_gen_tps: float | None
    prompt_cached_tokens: int  # only when the runtime says; > 0: prompt speeds are null
    prompt: str  # the user prompt (chat and completion workloads; first 500 characters)
    text: str | None  # generated text (chat and completion workloads; first 2000 characters)
    round: int  # the round it was measured in, from 1 (runs with rounds > 1)
    thermal: JsonObject  # temperature and clock around it (bench.runner.thermal)
