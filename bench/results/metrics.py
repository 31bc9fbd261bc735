"""Per-repetition figures from timed token events; definitions in bench.results.schema."""

from __future__ import annotations

from bench.backends.base import GenerationStats, InternalTimings, TokenEvent
from bench.results.schema import UNITS, RepRecord, Summary
from bench.stats import summarize


def _r(x: float | None, nd: int = 6) -> float | None:
    return None if x is None else round(x, nd)


def rep_record(rep: int, stats: GenerationStats, events: list[TokenEvent],
               keep_text: bool) -> RepRecord:
    t0 = stats.t_request
    rec = RepRecord(
        rep=rep,
        prompt_tokens=stats.prompt_tokens,
        prompt_tokens_method=stats.prompt_tokens_method,
        gen_tokens=stats.gen_tokens,
        gen_tokens_method=stats.gen_tokens_method,
        stop_reason=stats.stop_reason,
        token_t=[round(e.t - t0, 6) for e in events],
    )
    if any(e.n != 1 for e in events):
        rec["token_n"] = [e.n for e in events]
    ttft = events[0].t - t0 if events else None
    rec["ttft_s"] = _r(ttft)
    rec["prompt_tps"] = (
        _r(stats.prompt_tokens / ttft, 4) if ttft and ttft > 0 and stats.prompt_tokens else None
    )
    gen_tps = None
    if len(events) >= 2:
        span = events[-1].t - events[0].t
        after_first = stats.gen_tokens - events[0].n
        if span > 0 and after_first > 0:
            gen_tps = after_first / span
    rec["gen_tps"] = _r(gen_tps, 4)
    rec["e2e_s"] = _r(events[-1].t - t0) if events else None
    internal = stats.internal
    rec["internal"] = internal
    internal = internal or InternalTimings()
    rec["internal_prompt_tps"] = _rate(internal.get("prompt_tokens"), internal.get("prompt_ms"))
    rec["internal_gen_tps"] = _rate(internal.get("gen_tokens"), internal.get("gen_ms"))
    cached = stats.prompt_cached_tokens
    if cached is not None:
        rec["prompt_cached_tokens"] = cached
        if cached > 0:  # part of the prompt came from a cache: no prompt speed to derive
            rec["prompt_tps"] = None
            rec["internal_prompt_tps"] = None
    rec["text"] = stats.text[:2000] if keep_text and stats.text else None
    return rec


def _rate(n: int | None, t: int | float | None) -> float | None:
    """Tokens per second from a runtime's own count and milliseconds, when both are given."""
    if not n or not t or t <= 0:
        return None
    return round(n / (t / 1000.0), 4)


HARNESS = "harness clock"


def _values(reps: list[RepRecord], key: str) -> list[float | None]:
    out: list[float | None] = []
    for r in reps:
        v = r.get(key)
        out.append(float(v) if isinstance(v, (int, float)) else None)
    return out


def case_summary(reps: list[RepRecord], internal_source: str | None) -> dict[str, Summary]:
    out: dict[str, Summary] = {}
    for key in ("ttft_s", "prompt_tps", "gen_tps", "e2e_s"):
        out[key] = summarize(_values(reps, key), UNITS[key], HARNESS)
    for key in ("gen_tokens", "prompt_tokens"):
        out[key] = summarize(_values(reps, key), UNITS[key], "backend count")
    if internal_source:
        for key in ("internal_prompt_tps", "internal_gen_tps"):
            out[key] = summarize(_values(reps, key), UNITS[key], internal_source)
    for key in ("image_encode_ms", "image_preprocess_ms"):  # vision-language backends
        values = [_number((r.get("internal") or InternalTimings()).get(key)) for r in reps]
        if any(v is not None for v in values):
            out[key] = summarize(values, UNITS[key], HARNESS)
    return out


def _number(v: object) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
