"""Flatten case records into table rows. A figure that was not measured is None -> "n/a"."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.results.reader import Warn, check_run_json, read_cases
from bench.results.store import RunDir

NA = "n/a"


def load_runs(paths: list[str], warn: Warn | None = None,
              keep_raw: bool = False) -> list[tuple[RunDir, list[dict[str, Any]]]]:
    """The runs' usable records (``bench.results.reader``: streamed, one warning per unusable
    line, without the raw per-token arrays unless ``keep_raw``), each marked with its origin
    (``mark_origin``); UserError for a folder that is not a run or a run of another schema
    version."""
    runs = []
    for p in paths:
        run = RunDir.open(Path(p))
        check_run_json(run.path, warn)
        runs.append((run, read_cases(run.cases_path, keep_raw=keep_raw, warn=warn)))
    names = run_names([run.path for run, _ in runs])
    for (run, records), name in zip(runs, names, strict=True):
        mark_origin(records, name, run.path)
    return runs


ORIGIN = "_origin"
"""The key under which a record read for a report carries its ``Origin`` (as a dict); not a
field of cases.jsonl: set by ``mark_origin`` when the run is read."""


@dataclass(frozen=True)
class Origin:
    """Where a record comes from: its run folder's name, the host that ran it
    (environment.json ``host``) and the board (``board_label``). None: not known."""

    run: str | None = None
    host: str | None = None
    board: str | None = None


def run_names(paths: list[Path]) -> list[str]:
    """The runs' folder names; their whole paths when two share a name (two hosts' runs
    started in the same second)."""
    names = [p.name for p in paths]
    return [str(p) for p in paths] if len(set(names)) < len(names) else names


def board_label(env: dict[str, Any]) -> str | None:
    """The board of environment.json ``system``, short: the type, RAM and board revision its
    revision code names ("Pi 5 8GB rev 1.0": a 4 GB and an 8 GB Pi 5 share the model text),
    else the model text; None when the run recorded no board model (not a Pi, or an older
    pibench)."""
    system = env.get("system")
    if not isinstance(system, dict):
        return None
    model, rev = system.get("board_model"), system.get("revision")
    if not isinstance(model, str) or not model:
        return None
    if isinstance(rev, dict) and all(isinstance(rev.get(k), str)
                                     for k in ("type", "memory", "revision")):
        return f"Pi {rev['type']} {rev['memory']} rev {rev['revision']}"
    return model


def mark_origin(records: list[dict[str, Any]], name: str, run_path: Path) -> None:
    """Mark each record with the ``Origin`` of the run at ``run_path`` (its environment.json;
    a missing or damaged one leaves host and board unknown, the System section says why)."""
    from bench.results.reader import read_json

    env = read_json(run_path / "environment.json")
    host = env.get("host")
    where = {"run": name, "host": host if isinstance(host, str) else None,
             "board": board_label(env)}
    for record in records:
        record[ORIGIN] = where


def origin(record: dict[str, Any]) -> Origin:
    """The record's ``Origin`` (all None for a record not read by ``load_runs``)."""
    where = record.get(ORIGIN)
    if not isinstance(where, dict):
        return Origin()
    return Origin(where.get("run"), where.get("host"), where.get("board"))


def fmt(x: float | None, nd: int = 2) -> str:
    return NA if x is None else f"{x:.{nd}f}"


def fmt_pm(summary: dict[str, Any] | None, nd: int = 2) -> str:
    """"mean ± sd" like llama-bench; "n/a" when not measured."""
    if not summary or summary.get("mean") is None:
        return NA
    sd = summary.get("stddev")
    mean = f"{summary['mean']:.{nd}f}"
    return f"{mean} ± {sd:.{nd}f}" if sd is not None else mean


def size_gib(record: dict[str, Any]) -> str:
    info = (record.get("model") or {}).get("info") or {}
    b = info.get("file_bytes")
    return f"{b / 2**30:.2f} GiB" if b else NA


def params(record: dict[str, Any]) -> str:
    info = (record.get("model") or {}).get("info") or {}
    n = info.get("params")
    if n:
        return f"{n / 1e9:.2f} B"
    pb = (record.get("model") or {}).get("params_b")
    return f"{pb:.2f} B" if pb else NA


def generated_counts(record: dict[str, Any]) -> list[int]:
    """The tokens each repetition really generated."""
    return [r["gen_tokens"] for r in record.get("reps") or []
            if isinstance(r.get("gen_tokens"), int)]


def _span(counts: list[int]) -> str:
    lo, hi = min(counts), max(counts)
    return str(lo) if lo == hi else f"{lo}-{hi}"


def length_label(record: dict[str, Any]) -> str | None:
    """A label when the repetitions did not generate the length the workload names: fewer
    than asked in a throughput case (an early stop), or more than asked in any case (a server
    that ignored the limit). None when every repetition generated what was asked."""
    w = record.get("workload") or {}
    asked, counts = w.get("gen_tokens"), generated_counts(record)
    if not isinstance(asked, int) or not counts:
        return None
    if any(c > asked for c in counts):
        return f"generated {_span(counts)} tokens, {asked} asked (limit ignored)"
    if w.get("kind") not in ("chat", "completion") and any(c != asked for c in counts):
        return f"generated {_span(counts)} tokens, {asked} asked (stopped early)"
    return None


def record_labels(record: dict[str, Any]) -> list[str]:
    """The record's labels and its length label (``length_label``)."""
    out = list(record.get("labels") or [])
    label = length_label(record)
    if label is not None:
        out.append(label)
    return out


def flags(record: dict[str, Any]) -> str:
    out = record_labels(record)
    info = (record.get("model") or {}).get("info") or {}
    if info.get("weights") == "real" and not out:
        out.append("real weights")
    if record.get("status") == "failed":  # "interrupted": a label says how many reps
        out.append("FAILED")
    return ", ".join(out)


def gen_test(record: dict[str, Any]) -> str:
    """llama-bench's test name ("tg128"), with the length really generated when it differs
    from the one asked: "tg23 (asked 32)", never a length that was not generated."""
    w = record.get("workload") or {}
    off = length_label(record) is not None
    real = _span(generated_counts(record)) if off else None
    if w.get("kind") in ("chat", "completion"):
        if off:
            return f"{w['kind']} tg{real} (asked ≤{w.get('gen_tokens')})"
        return f"{w['kind']} tg≤{w.get('gen_tokens')}"
    if off:
        return f"tg{real} (asked {w.get('gen_tokens')})" + depth_suffix(record)
    return f"tg{w.get('gen_tokens')}" + depth_suffix(record)


def depth_suffix(record: dict[str, Any]) -> str:
    """" @ d512" (llama-bench's test name) for a case measured after that many tokens of
    context already in the cache; "" without depth."""
    d = (record.get("workload") or {}).get("depth")
    return f" @ d{d}" if isinstance(d, int) and d > 0 else ""


def prompt_test(record: dict[str, Any]) -> str:
    w = record.get("workload") or {}
    if w.get("kind") in ("chat", "completion"):
        return f"{w['kind']} pp"
    return f"pp{w.get('prompt_tokens')}" + depth_suffix(record)


@dataclass
class Power:
    gen_mean_w: float | None = None
    gen_mean_w_sd: float | None = None
    idle_w: float | None = None
    peak_w: float | None = None
    j_per_token: float | None = None
    tokens_per_j: float | None = None
    source: str = NA
    simulated: bool = False


def power_of(record: dict[str, Any]) -> Power:
    """The first power source of a case (bench.meters.analysis.PowerResult), reduced to the
    figures tables show; every source stays in cases.jsonl."""
    entries = record.get("power") or []
    if not entries:
        return Power()
    p = entries[0]
    gen = p.get("generation") or {}
    peaks = [ph.get("peak_w") for ph in (p.get("prompt"), p.get("generation")) if ph]
    peak = max((x for x in peaks if x is not None), default=None)
    return Power(
        gen_mean_w=gen.get("mean_w"), gen_mean_w_sd=gen.get("mean_w_stdev"),
        idle_w=(p.get("idle") or {}).get("mean_w"), peak_w=peak,
        j_per_token=p.get("j_per_token"), tokens_per_j=p.get("tokens_per_j"),
        source=str(p.get("source", NA)) + (" (simulated)" if p.get("simulated") else ""),
        simulated=bool(p.get("simulated")),
    )


def summary(record: dict[str, Any], key: str) -> dict[str, Any] | None:
    return (record.get("summary") or {}).get(key)


def tps_figure(record: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The summary behind the t/s figure every table shows for ``key`` ("prompt_tps",
    "gen_tps"): the harness clock's, for every backend (bench.report.columns.figure reads
    its median)."""
    return summary(record, key)


def median(record: dict[str, Any], key: str) -> float | None:
    s = summary(record, key)
    return None if not s else s.get("median")
