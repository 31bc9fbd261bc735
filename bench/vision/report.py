"""The mixed-mode table (Markdown) from ``run_mixed`` results.

One row per placement: vision fps alone / mixed, tokens/s alone / mixed, the interference
ratios, watts during the mixed phase (mean of the samples in the LLM's window, with their
count), failures. "n/a" where nothing was measured; rows with simulated figures say so; an LLM
whose backend did not declare its device reads "unknown".
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.common import Json, JsonObject, json_number, json_object
from bench.report.columns import Column, dig, markdown

NA = "n/a"


def _num(value: Json, digits: int = 1) -> str:
    number = json_number(value)
    return NA if number is None else f"{number:.{digits}f}"


def _list(value: Json) -> list[JsonObject]:
    """The objects of a list of a result (failures, power figures); [] when absent."""
    return [json_object(v) for v in value] if isinstance(value, list) else []


def _watts(result: JsonObject) -> str:
    shown = []
    for f in _list(dig(result, "power", "mixed")):
        if f.get("value") is not None:
            sim = ", simulated" if f.get("simulated") else ""
            count = f", n={f['n']}" if f.get("n") is not None else ""
            shown.append(f"{_num(f['value'])} W{count} ({f.get('source', '?')}{sim})")
    return "; ".join(shown) if shown else NA


def _failures(result: JsonObject) -> str:
    items = []
    for f in _list(result.get("failures")):
        when = json_number(f.get("t_in_phase_s"))
        at = f" at {when:.1f} s" if when is not None else ""
        msg = str(f.get("message", "")).replace("|", "/").replace("\n", " ")
        if len(msg) > 70:
            msg = msg[:67] + "..."
        items.append(f"{f['side']} {f['kind']} ({f['phase']}{at}): {msg}")
    return "; ".join(items) if items else "none"


def _label(r: JsonObject) -> str:
    marks = _simulated(r)
    return str(r.get("placement", "?")) + (f" (simulated: {', '.join(marks)})" if marks else "")


def _simulated(r: JsonObject) -> list[str]:
    sim = json_object(r.get("simulated"))
    return [side for side in ("vision", "llm") if sim.get(side)]


def _p99(r: JsonObject) -> str:
    return (f"{_num(dig(r, 'vision', 'alone', 'latency_p99', 'value'))} / "
            f"{_num(dig(r, 'vision', 'mixed', 'latency_p99', 'value'))}")


def _text(value: object) -> str:
    return str(value or NA)


def _n1(value: Json) -> str:
    return _num(value)


def _n2(value: Json) -> str:
    return _num(value, 2)


MIXED: list[Column[JsonObject]] = [
    Column("placement", _label),
    Column("vision", lambda r: r.get("vision_device"), fmt=_text),
    Column("LLM", lambda r: r.get("llm_device"), fmt=_text),
    Column("fps alone", lambda r: dig(r, "vision", "alone", "fps", "value"), "r", _n1),
    Column("fps mixed", lambda r: dig(r, "vision", "mixed", "fps", "value"), "r", _n1),
    Column("fps mixed/alone", lambda r: dig(r, "interference", "vision_fps", "value"), "r",
           _n2),
    Column("p99 ms alone / mixed", _p99, "r"),
    Column("tok/s alone", lambda r: dig(r, "llm", "alone", "gen_tps_median"), "r", _n1),
    Column("tok/s mixed", lambda r: dig(r, "llm", "mixed", "gen_tps_median"), "r", _n1),
    Column("tok/s mixed/alone", lambda r: dig(r, "interference", "llm_gen_tps", "value"), "r",
           _n2),
    Column("W mixed", _watts),
    Column("failures", _failures),
]
"""One row per placement of a mixed run (``run_mixed`` results)."""


def render_mixed_table(results: Sequence[JsonObject]) -> str:
    """Markdown table of placements; a note under it says which figures are simulated."""
    lines = markdown(MIXED, results, padded=False).split("\n")
    any_sim = any(_simulated(r) for r in results)
    any_unknown = any(r.get("llm_device") in (None, "unknown") for r in results)
    any_contention = any(_simulated(r) and r.get("same_device") for r in results)
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
