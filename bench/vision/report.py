"""The mixed-mode table (Markdown) from ``run_mixed`` results.

One row per placement: vision fps alone / mixed, tokens/s alone / mixed, the interference
ratios, watts during the mixed phase (mean of the samples in the LLM's window, with their
count), failures. "n/a" where nothing was measured; rows with simulated figures say so; an LLM
whose backend did not declare its device reads "unknown".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

NA = "n/a"


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return NA
    return f"{float(value):.{digits}f}"


def _get(d: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _watts(result: dict[str, Any]) -> str:
    figures = _get(result, "power", "mixed") or []
    shown = []
    for f in figures:
        if f.get("value") is not None:
            sim = ", simulated" if f.get("simulated") else ""
            count = f", n={f['n']}" if f.get("n") is not None else ""
            shown.append(f"{_num(f['value'])} W{count} ({f.get('source', '?')}{sim})")
    return "; ".join(shown) if shown else NA


def _failures(result: dict[str, Any]) -> str:
    items = []
    for f in result.get("failures", []):
        when = f.get("t_in_phase_s")
        at = f" at {when:.1f} s" if when is not None else ""
        msg = str(f.get("message", "")).replace("|", "/").replace("\n", " ")
        if len(msg) > 70:
            msg = msg[:67] + "..."
        items.append(f"{f['side']} {f['kind']} ({f['phase']}{at}): {msg}")
    return "; ".join(items) if items else "none"


def render_mixed_table(results: Sequence[dict[str, Any]]) -> str:
    """Markdown table of placements; a note under it says which figures are simulated."""
    head = ("| placement | vision | LLM | fps alone | fps mixed | fps mixed/alone "
            "| p99 ms alone / mixed | tok/s alone | tok/s mixed | tok/s mixed/alone "
            "| W mixed | failures |")
    lines = [head, "|" + "---|" * 12]
    any_sim = any_unknown = any_contention = False
    for r in results:
        sim = r.get("simulated", {})
        marks = [side for side in ("vision", "llm") if sim.get(side)]
        any_sim = any_sim or bool(marks)
        any_unknown = any_unknown or r.get("llm_device") in (None, "unknown")
        any_contention = any_contention or bool(marks and r.get("same_device"))
        label = r.get("placement", "?") + (f" (simulated: {', '.join(marks)})" if marks else "")
        va, vm = _get(r, "vision", "alone"), _get(r, "vision", "mixed")
        la, lm = _get(r, "llm", "alone"), _get(r, "llm", "mixed")
        p99 = f"{_num(_get(va, 'latency_p99', 'value'))} / {_num(_get(vm, 'latency_p99', 'value'))}"
        cells = [
            label, r.get("vision_device") or NA, r.get("llm_device") or NA,
            _num(_get(va, "fps", "value")), _num(_get(vm, "fps", "value")),
            _num(_get(r, "interference", "vision_fps", "value"), 2), p99,
            _num(_get(la, "gen_tps_median")), _num(_get(lm, "gen_tps_median")),
            _num(_get(r, "interference", "llm_gen_tps", "value"), 2),
            _watts(r), _failures(r),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    notes = ["", "fps: frames finished per second of the window; tok/s: generated tokens per "
             "second after the first token (median of repetitions); p99: detector latency, "
             "nearest rank; W mixed: mean of each meter's samples over the LLM's window in the "
             "mixed phase (n: samples); n/a: not measured."]
    if any_sim:
        notes.append("Rows marked simulated come from mock devices: not hardware measurements.")
    if any_contention:
        notes.append("Where a simulated side shares its device with the other side, its "
                     "slowdown is the contention factor its profile states as an assumption "
                     "(recorded with the case), not a measurement.")
    if any_unknown:
        notes.append("LLM unknown: the backend did not declare where it runs (a server: set "
                     "`runs_on:` in its options); whether the two sides share a device is "
                     "not known, and no contention is simulated for it.")
    return "\n".join(lines + notes) + "\n"
