"""What reports say about rounds and heat: per-round values for compare, the thermal state of
a case (the device comparison's column), and whether two measurements met the same heat.

Per-round values: a case measured in R >= 2 rounds is compared on its R round means (one
value per round), not on its repetitions: repetitions inside a round share the board's state
of that moment, so they understate the spread a drift over the run adds (pyperf spreads its
values over worker processes for the same reason).

Different thermal states: the mean SoC temperature during generation differs by more than
TEMP_DIFF_C, or the mean ARM clock by more than CLOCK_DIFF_PCT.
"""

from __future__ import annotations

from typing import Any

from bench.stats import summarize

TEMP_DIFF_C = 5.0
CLOCK_DIFF_PCT = 2.0


def round_means(record: dict[str, Any], key: str) -> list[float]:
    """The mean of ``key`` in each complete round of the record ([] without rounds)."""
    out = []
    for rnd in record.get("rounds") or []:
        if not isinstance(rnd, dict) or not rnd.get("complete"):
            continue
        s = (rnd.get("summary") or {}).get(key) or {}
        if isinstance(s.get("mean"), int | float):
            out.append(float(s["mean"]))
    return out


def compared_summary(record: dict[str, Any], key: str) -> dict[str, Any] | None:
    """What compare judges ``key`` on: the round means when the case has two or more
    rounds, else its summary over the repetitions."""
    means = round_means(record, key)
    if len(means) >= 2:
        unit = ((record.get("summary") or {}).get(key) or {}).get("unit", "")
        return dict(summarize(means, unit, f"per-round means ({len(means)} rounds)"))
    s = (record.get("summary") or {}).get(key)
    return s if isinstance(s, dict) else None


def rounds_note(ra: dict[str, Any], rb: dict[str, Any], key: str = "gen_tps",
                short: str = "tg") -> str | None:
    """"per round tg: A 12.2/10.0/9.2 (spread 29 %), B 12.1/11.1/8.5 (34 %)", or None when
    neither side has rounds."""
    parts = []
    for side, r in (("A", ra), ("B", rb)):
        means = round_means(r, key)
        if len(means) < 2:
            continue
        mean = sum(means) / len(means)
        spread = 100.0 * (max(means) - min(means)) / mean if mean else 0.0
        parts.append(f"{side} {'/'.join(f'{m:.1f}' for m in means)} (spread {spread:.0f} %)")
    return f"per round {short}: " + ", ".join(parts) if parts else None


def thermal_state(record: dict[str, Any]) -> tuple[float | None, float | None, bool]:
    """(mean SoC temperature C, mean ARM clock MHz, simulated) during generation."""
    th = record.get("thermal")
    if not isinstance(th, dict):
        return None, None, False
    t, m = th.get("temp_c_mean"), th.get("arm_mhz_mean")
    return (float(t) if isinstance(t, int | float) else None,
            float(m) if isinstance(m, int | float) else None, bool(th.get("simulated")))


def thermal_cell(record: dict[str, Any]) -> str:
    """The device comparison's cell: "66 C, 2061 MHz" ("(sim)" for a simulated board);
    n/a when nothing was read."""
    t, m, sim = thermal_state(record)
    if t is None and m is None:
        return "n/a"
    text = f"{'n/a' if t is None else f'{t:.0f} C'}, {'n/a' if m is None else f'{m:.0f} MHz'}"
    return text + (" (sim)" if sim else "")


def thermal_note(ra: dict[str, Any], rb: dict[str, Any]) -> str | None:
    """"thermal state differs: A 49 C 2400 MHz, B 66 C 2061 MHz" when the two
    measurements met different heat; None when alike or not known on both sides."""
    ta, ma, _ = thermal_state(ra)
    tb, mb, _ = thermal_state(rb)
    hot = ta is not None and tb is not None and abs(ta - tb) > TEMP_DIFF_C
    slow = (ma is not None and mb is not None and max(ma, mb) > 0
            and 100.0 * abs(ma - mb) / max(ma, mb) > CLOCK_DIFF_PCT)
    if not (hot or slow):
        return None
    return (f"thermal state differs: A {thermal_cell(ra)}, B {thermal_cell(rb)}")
