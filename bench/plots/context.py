"""What the plots are titled by (no matplotlib): the user's ``--title``, else the config's
``description`` (resolved.json); and, for several runs, one label per run made of what
differs between them (host, board, RAM, HAT, ... from environment.json ``system``, through
``bench.report.system``), never the folder names. Runs that differ in nothing recorded are
told apart by their config's name, else by when they started."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.report.rows import NA

LABELLED = ("host", "board", "RAM", "HAT", "cooler", "config", "firmware", "bootloader",
            "kernel", "OS", "governor", "PCIe link", "CPU", "SoC", "HailoRT", "Hailo driver",
            "pibench")
"""System facts that may name a run, in this order (the command line never does)."""
NAMED = 2
"""Facts at most in a run's label (the rest differ too: the caption lists them)."""


@dataclass
class PlotContext:
    title: str | None = None  # first line of every figure's title; None: none
    labels: dict[str, str] = field(default_factory=dict)  # run folder name -> its label
    by: list[str] = field(default_factory=list)  # what the labels are made of ("host", ...)
    also: list[str] = field(default_factory=list)  # facts that differ too, not in the labels

    def label(self, run: str) -> str:
        return self.labels.get(run, run)

    def heading(self, what: str, several: bool) -> str:
        """A figure's title: the user's (or the description) above what the figure shows,
        which for several runs ends with what tells them apart."""
        if several and self.by:
            what += f", by {' and '.join(self.by)}"
        return f"{self.title}\n{what}" if self.title else what

    def runs_note(self) -> str:
        """The caption's sentence on the runs' labels (several runs)."""
        if not self.labels or len(self.labels) < 2:
            return ""
        note = (" Runs: " + "; ".join(f"[{lab}] = {run}" for run, lab in self.labels.items())
                + ".")
        if self.also:
            note += f" They also differ in: {', '.join(self.also)} (report.md, System)."
        return note


def _short(label: str, env: dict[str, Any], text: str) -> str:
    """A fact as a run's label: short forms of host and board, else its report text cut."""
    system: dict[str, Any] = env["system"] if isinstance(env.get("system"), dict) else {}
    if label == "host" and env.get("host"):
        return str(env["host"])
    if label == "board" and system.get("board_model"):
        model = str(system["board_model"]).replace(" Model B", "").replace("Raspberry Pi", "Pi")
        rev = system.get("revision")
        mem = rev.get("memory") if isinstance(rev, dict) else None
        return f"{model} {mem}" if mem else model
    if text.startswith(NA):  # "n/a (why)": the why is in report.md's System section
        return f"{label} n/a"
    return text if len(text) <= 32 else text[:31] + "…"


def _fallback(names: Sequence[str], resolved: Sequence[dict[str, Any]],
              started: Sequence[str]) -> tuple[str, list[str]]:
    configs = [str(r.get("name") or "") for r in resolved]
    if all(configs) and len(set(configs)) == len(configs):
        return "config", configs
    times = [s.replace("T", " ").replace("+00:00", " UTC") for s in started]
    if all(times) and len(set(times)) == len(times):
        return "start time", times
    return "run", [f"run {i + 1}" for i in range(len(names))]


def context_of(paths: Sequence[Path], title: str | None = None,
               warn: Callable[[str], None] | None = None,
               names: Sequence[str] | None = None) -> PlotContext:
    """The context of the run folders ``paths`` (their environment.json, resolved.json and
    run.json; a missing or damaged file counts as empty, with the reader's warning);
    ``names``: the runs' names in the plotted records (default: ``run_names``, the folder
    names or, when two share one, their paths)."""
    from bench.report.rows import run_names
    from bench.report.system import differences, facts
    from bench.results.reader import read_json

    names = list(names) if names is not None else run_names(list(paths))
    envs = [read_json(p / "environment.json", warn) for p in paths]
    resolved = [read_json(p / "resolved.json", warn) for p in paths]
    descriptions = list(dict.fromkeys(str(r["description"]) for r in resolved
                                      if r.get("description")))
    ctx = PlotContext(title=title or (" / ".join(descriptions) if descriptions else None))
    if len(paths) < 2:
        return ctx
    differ = [d for d in differences(envs) if d in LABELLED]
    differ.sort(key=LABELLED.index)
    by, also = differ[:NAMED], differ[NAMED:]
    texts = [facts(e) for e in envs]
    labels = [" · ".join(_short(d, e, t[d]) for d in by) for e, t in zip(envs, texts,
                                                                          strict=True)]
    if not by or len(set(labels)) < len(labels):
        started = [str(read_json(p / "run.json", warn).get("started") or "") for p in paths]
        what, extra = _fallback(names, resolved, started)
        by = [*by, what]
        labels = [" · ".join(x for x in (lab, e) if x) for lab, e in zip(labels, extra,
                                                                          strict=True)]
    ctx.labels = dict(zip(names, labels, strict=True))
    ctx.by, ctx.also = by, also
    return ctx


def default_context(names: Sequence[str]) -> PlotContext:
    """Without the run folders (records given directly): the config names taken from the
    folder names ("20261123-094601-pi5" -> "pi5") where they tell the runs apart."""
    import re

    short = {n: re.sub(r"^\d{8}-\d{6}-", "", n) for n in names}
    if len(set(short.values())) < len(short):
        short = {n: n for n in names}
    return PlotContext(labels=short if len(names) > 1 else {})
