"""The shape of a case record as the readers use it (report, compare, plot), checked before use.

A line of ``cases.jsonl`` is input like any other: a foreign or damaged file may hold valid JSON
of any shape. ``problem(record)`` names the first thing a reader could not use ("summary.gen_tps
.n: expected a whole number, got 'x'"), or returns None. Two checks:

- every number anywhere in the record is finite and within ±1e18 (JSON allows 1e999, NaN and
  4,000-digit integers; no measured figure comes near 1e18), and nothing is nested deeper than
  MAX_DEPTH levels (the readers compare settings recursively);
- the fields the readers index have the type they index them as (``SPEC`` below, from
  ``bench.results.schema``; keys not listed may hold anything).
"""

from __future__ import annotations

import math
from typing import Any

MAX_DEPTH = 48
MAX_MAGNITUDE = 1e18


class Req:
    """A field that must be present and not null."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec


NUM, INT, TEXT, SCALAR = "number", "whole number", "text", "scalar"
"""Leaf specs (each also allows null): a number, an integer, a string, any non-container."""

_SUMMARY = {"mean": NUM, "median": NUM, "stddev": NUM, "min": NUM, "max": NUM, "n": INT,
            "unit": TEXT, "source": TEXT}
_PHASE = {"mean_w": NUM, "mean_w_stdev": NUM, "peak_w": NUM, "n_windows_measured": INT}
_REP = {"rep": INT, "text": SCALAR, "prompt": SCALAR, "ttft_s": NUM, "gen_tps": NUM,
        "prompt_tps": NUM, "e2e_s": NUM, "gen_tokens": NUM, "prompt_tokens": NUM,
        "internal_prompt_tps": NUM, "internal_gen_tps": NUM,
        "internal": {"image_tokens": SCALAR, "image_encode_ms": NUM,
                     "image_preprocess_ms": NUM},
        "token_t": [Req(NUM)], "token_n": [Req(INT)]}
_FPS = {"value": NUM, "n": INT, "per_second": [Req(NUM)], "method": SCALAR}
_VISION_SIDE = {"fps": _FPS, "latency_p99": {"value": NUM}}
_LLM_SIDE = {"gen_tps_median": NUM, "n": INT, "per_run": [Req(_REP)]}
_MIXED = {
    "placement": SCALAR, "vision_device": SCALAR, "llm_device": SCALAR,
    "simulated": {"vision": SCALAR, "llm": SCALAR},
    "vision": {"alone": _VISION_SIDE, "mixed": _VISION_SIDE},
    "llm": {"alone": _LLM_SIDE, "mixed": _LLM_SIDE},
    "interference": {"vision_fps": {"value": NUM}, "llm_gen_tps": {"value": NUM}},
    "failures": [Req({"side": Req(TEXT), "kind": Req(TEXT), "phase": Req(TEXT),
                      "t_in_phase_s": NUM, "message": SCALAR})],
    "power": {"mixed": [Req({"value": NUM, "n": INT, "simulated": SCALAR, "source": SCALAR})]},
}
SPEC: dict[str, Any] = {
    "schema": Req(INT),
    "case_id": Req(TEXT),
    "status": Req(TEXT),
    "labels": [Req(TEXT)],
    "model": Req({"name": Req(TEXT), "params_b": NUM, "artifact": {},
                  "info": {"file_bytes": NUM, "params": NUM, "weights": SCALAR,
                           "quant": SCALAR, "sha256": SCALAR, "extra": {}}}),
    "backend": Req({"name": Req(TEXT), "device": SCALAR, "threads": SCALAR}),
    "workload": Req({"name": Req(TEXT), "kind": SCALAR, "gen_tokens": SCALAR,
                     "prompt_tokens": SCALAR, "images": []}),
    "load_s": NUM, "peak_rss_mb": NUM, "warmup": INT,
    "reps": [Req(_REP)],
    "summary": {"*": Req(_SUMMARY)},
    "power": [Req({"generation": _PHASE, "prompt": _PHASE, "idle": _PHASE, "request": _PHASE,
                   "j_per_token": NUM, "tokens_per_j": NUM, "source": SCALAR,
                   "simulated": SCALAR, "covers": SCALAR, "rate_hz_target": NUM,
                   "rep_t_request_s": [Req(NUM)], "samples": [Req([NUM])]})],
    "host_load": {"other_cpu_pct": NUM},
    "error": {"message": SCALAR},
    "mixed": _MIXED,
}
"""Field -> spec. A dict: an object (or null) whose listed keys are checked ("*": every key;
{}: any object); a one-element list: an array (or null) of that spec ([]: any array); Req:
present and not null."""


def _kind(v: Any) -> str:
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, list):
        return "an array"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _leaf(v: Any, spec: str) -> bool:
    if spec == NUM:
        return isinstance(v, int | float) and not isinstance(v, bool)
    if spec == INT:
        return isinstance(v, int) and not isinstance(v, bool)
    if spec == TEXT:
        return isinstance(v, str)
    return not isinstance(v, dict | list)  # SCALAR


def _where(path: list[str | int]) -> str:
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


def _check(v: Any, spec: Any, path: list[str | int]) -> str | None:
    """The first field of ``v`` that does not fit ``spec``; ``path`` is the key path so far
    (a shared stack, turned into text only for a problem: records are checked by thousands)."""
    if type(spec) is Req:
        if v is None:
            return f"{_where(path)}: missing"
        spec = spec.spec
    if v is None:
        return None
    if type(spec) is str:
        return None if _leaf(v, spec) else f"{_where(path)}: expected {spec}, got {_kind(v)}"
    if type(spec) is list:
        if type(v) is not list:
            return f"{_where(path)}: expected an array, got {_kind(v)}"
        if not spec:  # an array of anything
            return None
        item = spec[0]
        for i, x in enumerate(v):
            path.append(i)
            p = _check(x, item, path)
            path.pop()
            if p is not None:
                return p
        return None
    if type(v) is not dict:
        return f"{_where(path)}: expected an object, got {_kind(v)}"
    for key, sub in spec.items():
        for k in (v if key == "*" else (key,)):
            path.append(k)
            p = _check(v.get(k), sub, path)
            path.pop()
            if p is not None:
                return p
    return None


def _walk(v: Any, depth: int, path: list[str | int]) -> str | None:
    t = type(v)
    if t is dict or t is list:
        if depth >= MAX_DEPTH:
            return f"{_where(path)}: nested deeper than {MAX_DEPTH} levels"
        for k, x in (v.items() if t is dict else enumerate(v)):
            tx = type(x)
            if tx is float or tx is int:  # the common case, inline
                if not -MAX_MAGNITUDE <= x <= MAX_MAGNITUDE:
                    path.append(k)
                    return _walk(x, depth + 1, path)
            elif tx is dict or tx is list:
                path.append(k)
                p = _walk(x, depth + 1, path)
                path.pop()
                if p is not None:
                    return p
        return None
    if t is float and not math.isfinite(v):
        return f"{_where(path)}: {v} is not a number pibench writes"
    if (t is float or t is int) and not -MAX_MAGNITUDE <= v <= MAX_MAGNITUDE:
        return f"{_where(path)}: a number out of range (beyond ±{MAX_MAGNITUDE:.0e})"
    return None


def numbers_and_depth(data: Any) -> str | None:
    """Every number finite and within ±MAX_MAGNITUDE, nesting within MAX_DEPTH."""
    return _walk(data, 0, [])


def problem(record: Any) -> str | None:
    """What in ``record`` the readers could not use (one short phrase), or None."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not a case record (an object)"
    return numbers_and_depth(record) or _check(record, SPEC, [])
