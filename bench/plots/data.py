"""What the plots draw, as plain data (no matplotlib).

Every figure comes from the records through ``bench.report.rows`` (the helpers of the
tables): a bar is the figure of the tables (``bench.report.columns.figure``: a case's
``summary.<metric>`` median on the harness clock) with its min and max and n; a power
bar is the first meter's figure (``rows.power_of``). A figure that was not measured is None:
drawn as "n/a", never as a zero bar. Each bar carries the case's marks (its labels, and
"FAILED"; ``rows.flags``) so that the drawing can hatch and tag it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from bench.report.columns import dig, figure
from bench.report.rows import flags, gen_test, power_of, prompt_test

Run = tuple[str, list[dict[str, Any]]]  # (run folder name, its case records)

FAILED = "FAILED"
NOT_A_MARK = {"real weights", ""}


@dataclass(frozen=True)
class Bar:
    run: str  # run folder name
    case_id: str
    model: str
    series: str  # the backend, with the run when several runs are plotted
    panel: str  # the workload and its test, e.g. "pp64-tg32 (tg32)"
    value: float | None  # bar height; None: not measured ("n/a")
    lo: float | None = None  # error bar ends (None: no error bar)
    hi: float | None = None
    n: int = 0  # values behind the figure (repetitions)
    marks: tuple[str, ...] = ()  # record labels and "FAILED"
    source: str = ""
    error: str | None = None  # the case's error message, when it failed

    @property
    def failed(self) -> bool:
        return any(m.startswith(FAILED) for m in self.marks)


def marks(record: dict[str, Any]) -> tuple[str, ...]:
    """The record's labels and FAILED, as the tables show them (``rows.flags``)."""
    return tuple(m for m in flags(record).split(", ") if m not in NOT_A_MARK)


def short_names(runs: list[Run]) -> dict[str, str]:
    """Run labels for bars: the config names ("20261123-094601-pi5" -> "pi5") when they tell
    the runs apart, else the folder names."""
    short = {name: re.sub(r"^\d{8}-\d{6}-", "", name) for name, _ in runs}
    return short if len(set(short.values())) == len(short) else {n: n for n in short}


def series_of(run: str, record: dict[str, Any], several_runs: bool) -> str:
    backend = str((record.get("backend") or {}).get("name", "?"))
    return f"{backend} [{run}]" if several_runs else backend


def plain(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The LLM cases (mixed cases have their own plot, as they have their own table)."""
    return [r for r in records if not r.get("mixed")]


def _error(record: dict[str, Any]) -> str | None:
    return (record.get("error") or {}).get("message")


def _panel(record: dict[str, Any], test: str) -> str:
    return f"{(record.get('workload') or {}).get('name', '?')} ({test})"


# metric -> (the test naming the panel, axis label); the unit comes from the schema
METRICS = {
    "gen_tps": (gen_test, "generation speed"),
    "prompt_tps": (prompt_test, "prompt speed"),
    "ttft_s": (prompt_test, "time to first token"),
}


def metric_bars(runs: list[Run], metric: str,
                labels: dict[str, str] | None = None) -> list[Bar]:
    """One bar per case: the figure every table shows (bench.report.columns.figure: the
    median of ``summary.<metric>`` on the harness clock), min..max, n. ``labels``: each
    run's label in the series names (``bench.plots.context``; default ``short_names``)."""
    test_of = METRICS[metric][0]
    several = len(runs) > 1
    short = labels or short_names(runs)
    bars = []
    for run, records in runs:
        for r in plain(records):
            fig = figure(r, metric)
            bars.append(Bar(
                run=run, case_id=r["case_id"], model=r["model"]["name"],
                series=series_of(short[run], r, several), panel=_panel(r, test_of(r)),
                value=fig.value if fig else None,
                lo=fig.lo if fig else None, hi=fig.hi if fig else None,
                n=fig.n if fig else 0, marks=marks(r), source=fig.source if fig else "",
                error=_error(r),
            ))
    return bars


def has_power(runs: list[Run]) -> bool:
    return any(r.get("power") for _, records in runs for r in plain(records))


def _windows(record: dict[str, Any], phase: str) -> int:
    entry = (record.get("power") or [{}])[0]
    return int((entry.get(phase) or {}).get("n_windows_measured") or 0)


def power_bars(runs: list[Run], labels: dict[str, str] | None = None,
               ) -> tuple[list[Bar], list[Bar]]:
    """(tokens per joule, mean W of the generation phase) per case, from its first meter;
    a case without a power figure gets value None ("n/a")."""
    several = len(runs) > 1
    short = labels or short_names(runs)
    tpj, watts = [], []
    for run, records in runs:
        for r in plain(records):
            p = power_of(r)
            m = marks(r)
            if p.simulated and "simulated" not in m:
                m = (*m, "simulated power")
            common: dict[str, Any] = {
                "run": run, "case_id": r["case_id"], "model": r["model"]["name"],
                "series": series_of(short[run], r, several), "panel": _panel(r, gen_test(r)),
                "marks": m, "source": p.source if p.gen_mean_w is not None else "",
                "error": _error(r),
            }
            tpj.append(Bar(value=p.tokens_per_j, n=_windows(r, "request"), **common))
            w, sd = p.gen_mean_w, p.gen_mean_w_sd
            lo = hi = None
            if w is not None and sd is not None:
                lo, hi = w - sd, w + sd
            watts.append(Bar(value=w, lo=lo, hi=hi, n=_windows(r, "generation"), **common))
    return tpj, watts


def power_covers(runs: list[Run]) -> list[str]:
    """What each power source measured ("source: covers"), once each."""
    seen: dict[str, None] = {}
    for _, records in runs:
        for r in plain(records):
            for p in (r.get("power") or [])[:1]:
                sim = " (simulated)" if p.get("simulated") else ""
                seen[f"{p.get('source', '?')}{sim}: {p.get('covers', '?')}"] = None
    return list(seen)


# -- the per-token timeline of one case ------------------------------------------------

@dataclass
class Timeline:
    run: str
    case_id: str
    marks: tuple[str, ...]
    reps: int  # measured repetitions in the record
    rep: int  # the repetition drawn in colour (0: the only one aligned with the power)
    token_t: list[float]  # s after the request, raw
    tokens: list[int]  # cumulative tokens at each event
    ttft_s: float | None
    gen_tps: float | None
    others: list[tuple[list[float], list[int]]] = field(default_factory=list)
    power_t: list[float] = field(default_factory=list)  # s after the metered window opened
    power_w: list[float | None] = field(default_factory=list)  # None: a failed reading
    power_label: str = ""
    aligned: bool = False  # power times shifted by the recorded request time of this rep
    idle_w: float | None = None
    error: str | None = None


def _curve(rep: dict[str, Any]) -> tuple[list[float], list[int]]:
    t = [float(x) for x in rep.get("token_t") or []]
    n = rep.get("token_n") or [1] * len(t)
    return t, list(accumulate(int(k) for k in n))


def timeline(run: str, record: dict[str, Any]) -> Timeline | None:
    """Repetition 0 of a case (None when no repetition has token times), with the power
    samples of its span shifted onto its request's time (``rep_t_request_s`` of the power
    entry; records written before that field existed: the window's start, just before
    repetition 0's request, which ``aligned`` says)."""
    reps = [x for x in record.get("reps") or [] if x.get("token_t")]
    if not reps:
        return None
    first = reps[0]
    t, n = _curve(first)
    tl = Timeline(run=run, case_id=record["case_id"], marks=marks(record),
                  reps=len(record.get("reps") or []), rep=int(first.get("rep", 0)),
                  token_t=t, tokens=n, ttft_s=first.get("ttft_s"), gen_tps=first.get("gen_tps"),
                  others=[_curve(x) for x in reps[1:]],
                  error=(record.get("error") or {}).get("message"))
    entries = record.get("power") or []
    starts = (entries[0].get("rep_t_request_s") or []) if entries else []
    if entries and (tl.rep < len(starts) or tl.rep == 0):
        p = entries[0]
        offset = float(starts[tl.rep]) if tl.rep < len(starts) else 0.0
        tl.aligned = tl.rep < len(starts)
        end = t[-1]
        period = 1.0 / float(p.get("rate_hz_target") or 1.0)
        for ts, w in p.get("samples") or []:
            if ts is not None and -period <= ts - offset <= end + period:
                tl.power_t.append(float(ts) - offset)
                tl.power_w.append(None if w is None else float(w))
        sim = ", simulated" if p.get("simulated") else ""
        tl.power_label = f"{p.get('source', '?')}{sim}"
        tl.idle_w = power_of(record).idle_w
    return tl


def pick_timelines(runs: list[Run], patterns: list[str] | None,
                   whole: Callable[[dict[str, Any]], dict[str, Any] | None] = lambda r: r,
                   tries: int = 20) -> list[tuple[str, dict[str, Any]]]:
    """The cases whose timeline is drawn: those matching a pattern (fnmatch on case_id), or
    by default one per run: a case with power samples first, then the longest generation
    (repetition 0's generated tokens) that has token times. ``whole`` gives a record with
    its raw arrays (records are read without them, ``bench.results.reader``; None: not
    readable); by default at most ``tries`` records of a run are read whole."""
    out = []
    for run, records in runs:
        if patterns:
            for r in plain(records):
                if any(fnmatch.fnmatchcase(r["case_id"], p) for p in patterns):
                    full = whole(r)
                    if full is not None:
                        out.append((run, full))
            continue

        def key(r: dict[str, Any]) -> tuple[bool, float]:
            gen = (r.get("reps") or [{}])[0].get("gen_tokens")
            return (bool(r.get("power")), float(gen) if isinstance(gen, int | float) else 0.0)

        cands = sorted((r for r in plain(records) if r.get("reps")), key=key, reverse=True)
        for r in cands[:tries]:
            full = whole(r)
            if full is not None and any(x.get("token_t") for x in full.get("reps") or []):
                out.append((run, full))
                break
    return out


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


# -- mixed mode ------------------------------------------------------------------------

def _failure(mixed: dict[str, Any], side: str, phase: str) -> str | None:
    for f in mixed.get("failures") or []:
        if f.get("side") == side and f.get("phase") == phase:
            return f"{side} {f.get('kind', 'failure')}"
    return None


def _tps_range(side: dict[str, Any] | None) -> tuple[float | None, float | None]:
    vals = [x["gen_tps"] for x in (side or {}).get("per_run") or [] if x.get("gen_tps") is not None]
    return (min(vals), max(vals)) if vals else (None, None)


def _side_marks(mixed: dict[str, Any], base: tuple[str, ...], side: str,
                phase: str) -> tuple[str, ...]:
    out = (*base, *(("simulated",) if (mixed.get("simulated") or {}).get(side) else ()))
    fail = _failure(mixed, side, phase)
    return (*out, f"{FAILED}: {fail}") if fail else out


def mixed_bars(runs: list[Run], labels: dict[str, str] | None = None,
               ) -> tuple[list[Bar], list[Bar]]:
    """(vision frames/s, LLM generation tokens/s) per placement, each alone and mixed; the
    series is the phase ("alone", "mixed"), the model axis the placement. Each side is marked
    simulated or FAILED by its own flags and failures (the case's labels speak for both)."""
    several = sum(any(r.get("mixed") for r in records) for _, records in runs) > 1
    short = labels or short_names(runs)
    fps, tps = [], []
    for run, records in runs:
        for r in records:
            m = r.get("mixed")
            if not m:
                continue
            w = (r.get("workload") or {}).get("name", "?")
            place = f"{m.get('placement', '?')}\n{r['model']['name']} {w}"
            if several:
                place += f"\n[{short[run]}]"
            base = tuple(x for x in marks(r) if x not in ("simulated", FAILED))
            if r.get("status") != "ok" and not m.get("failures"):
                base = (*base, FAILED)  # failed, and no side says where: both sides

            for phase, vphase, lphase in (("alone", "vision_alone", "llm_alone"),
                                          ("mixed", "mixed", "mixed")):
                f = dig(m, "vision", phase, "fps") or {}
                fps.append(Bar(run=run, case_id=r["case_id"], model=place, series=phase,
                               panel="", value=f.get("value"), n=int(f.get("n") or 0),
                               marks=_side_marks(m, base, "vision", vphase),
                               source=str(f.get("method") or ""), error=_error(r)))
                side = dig(m, "llm", phase) or {}
                value = side.get("gen_tps_median")
                lo, hi = _tps_range(side) if value is not None else (None, None)
                tps.append(Bar(run=run, case_id=r["case_id"], model=place, series=phase,
                               panel="", value=value, lo=lo, hi=hi,
                               n=int(side.get("n") or 0), marks=_side_marks(m, base, "llm", lphase),
                               source="harness clock", error=_error(r)))
    return fps, tps
