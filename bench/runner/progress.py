"""What the user sees while a run goes.

- On a terminal (``RichProgress``, rich.progress): an overall bar over every generation
  (warm-ups and repetitions) of every case, with elapsed time and an ETA, and below it a
  line for the current case: its phase (loading, cooling / idle baseline, warm-up, rep i/n,
  cooling; vision alone, LLM alone, vision + LLM in mixed cases) and its live figures
  (tokens, tokens/s; fps and detector latency of the vision phase that ended, in
  mixed cases), reset at each case. Finished cases are printed above the bar.
- Without a terminal (``PlainProgress``): one plain line per event, each printed once.
- ``--quiet`` (``QuietProgress``): only warnings and errors.

The ETA is (elapsed / generations done) x generations left: loading and idle baselines are
inside the elapsed time, so it improves as cases finish.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol

from bench.clock import Clock


class Progress(Protocol):
    def start(self, total: int, units: int | None = None) -> None: ...
    def case(self, index: int, case_id: str, note: str = "") -> None: ...
    def rep(self, label: str) -> None: ...
    def token(self, n_tokens: int, tps: float | None) -> None: ...
    def figures(self, text: str) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def case_done(self, record: dict[str, Any]) -> None: ...
    def message(self, text: str) -> None: ...
    def stop(self) -> None: ...


def _line(record: dict[str, Any]) -> str:
    """A finished case in one line: prompt and generation t/s, the same figure as every
    table's (bench.report.columns.figure: median (min–max) over the repetitions, harness
    clock), with its statistic, n and clock said."""
    from bench.report.columns import STATISTIC, figure, fmt_figure

    parts = [record["case_id"], record["status"]]
    for key, label in (("prompt_tps", "pp"), ("gen_tps", "tg")):
        fig = figure(record, key)
        if fig is not None:
            parts.append(f"{label} {fmt_figure(fig)} t/s ({STATISTIC}, n={fig.n}, "
                         f"{fig.source})")
    if record.get("error"):
        parts.append(record["error"]["message"])
    if "simulated" in record.get("labels", []):
        parts.append("(simulated)")
    return "  ".join(parts)


def eta_s(elapsed: float, done: float, total: float) -> float | None:
    """Seconds left at the run's average pace so far; None before anything is done."""
    if done <= 0 or total <= 0 or elapsed <= 0:
        return None
    return max(0.0, elapsed / done * (total - done))


def _hms(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class PlainProgress:
    """One line per event, to stderr; for logs and CI. Nothing is printed twice."""

    def __init__(self) -> None:
        self.total = 0
        self._case = ""

    def start(self, total: int, units: int | None = None) -> None:
        self.total = total

    def case(self, index: int, case_id: str, note: str = "") -> None:
        if case_id != self._case:
            self._case = case_id
            print(f"[{index}/{self.total}] {case_id}", file=sys.stderr, flush=True)
        if note:
            self.rep(note)

    def rep(self, label: str) -> None:
        print(f"    {label}", file=sys.stderr, flush=True)

    def token(self, n_tokens: int, tps: float | None) -> None:
        pass

    def figures(self, text: str) -> None:
        print(f"    {text}", file=sys.stderr, flush=True)

    def advance(self, n: int = 1) -> None:
        pass

    def case_done(self, record: dict[str, Any]) -> None:
        print(("  ✓ " if record["status"] == "ok" else "  ✗ ") + _line(record),
              file=sys.stderr, flush=True)

    def message(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def stop(self) -> None:
        pass


class QuietProgress(PlainProgress):
    """``--quiet``: warnings and errors only (a failed case is an error)."""

    def case(self, index: int, case_id: str, note: str = "") -> None:
        self._case = case_id

    def rep(self, label: str) -> None:
        pass

    def figures(self, text: str) -> None:
        pass

    def case_done(self, record: dict[str, Any]) -> None:
        if record["status"] == "failed":
            print(f"error: {_line(record)}", file=sys.stderr, flush=True)

    def message(self, text: str) -> None:
        if text.startswith(("warning", "error")):
            print(text, file=sys.stderr, flush=True)


class RichProgress:
    """The overall bar (every repetition of every case, elapsed, ETA) and the current case's
    line (phase and live figures) under it; finished cases printed above."""

    def __init__(self, console: Any = None, clock: Clock | None = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, TextColumn
        from rich.progress import Progress as Bar
        from rich.text import Text

        self.console = console or Console(stderr=True)
        self._now = clock.now if clock is not None else time.monotonic
        self.task: Any = None
        self.total = 0
        self.units = 0
        self.done = 0.0
        self.t0 = 0.0
        self.index = 0
        self.case_id = ""
        self.phase = ""
        self.tokens = 0
        self.tps: float | None = None
        self.extra = ""
        self._last = 0.0
        me = self

        class _Bar(Bar):
            def get_renderables(self) -> Any:
                yield self.make_tasks_table(self.tasks)
                yield me._status()

        class _Times(ProgressColumn):
            """Elapsed and ETA, computed at every refresh (a long model load keeps the
            elapsed time moving)."""

            def render(self, task: Any) -> Text:
                elapsed = me._now() - me.t0
                return Text(f"elapsed {_hms(elapsed)}  ETA "
                            f"{_hms(eta_s(elapsed, me.done, me.units))}")

        self.bar = _Bar(TextColumn("[bold]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TextColumn("generations"), _Times(),
                        console=self.console, refresh_per_second=4, transient=True)

    def _status(self) -> Any:
        from rich.text import Text

        live = []
        if self.tokens:
            tps = f"{self.tps:.2f} t/s" if self.tps is not None else "n/a t/s"
            live.append(f"tokens {self.tokens}  {tps}")
        if self.extra:
            live.append(self.extra)
        return Text.assemble((f"[{self.index}/{self.total}] ", "bold"), (self.case_id, "cyan"),
                             f"  {self.phase}  ", ("  ".join(live), "green"))

    def _refresh(self) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=self.done)

    def start(self, total: int, units: int | None = None) -> None:
        self.total, self.units = total, units or total
        self.t0 = self._now()
        self.task = self.bar.add_task("run", total=self.units)
        self.bar.start()

    def case(self, index: int, case_id: str, note: str = "") -> None:
        if case_id != self.case_id:
            self.tokens, self.tps, self.extra = 0, None, ""
        self.index, self.case_id, self.phase = index, case_id, note
        self._refresh()

    def rep(self, label: str) -> None:
        self.phase, self.tokens, self.tps = label, 0, None
        self._refresh()

    def token(self, n_tokens: int, tps: float | None) -> None:
        self.tokens, self.tps = n_tokens, tps
        now = time.monotonic()
        if now - self._last > 0.25:
            self._last = now
            self._refresh()

    def figures(self, text: str) -> None:
        self.extra = text
        self._refresh()

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._refresh()

    def case_done(self, record: dict[str, Any]) -> None:
        ok = record["status"] == "ok"
        self.console.print(("✓ " if ok else "✗ ") + _line(record),
                           style=None if ok else "red", highlight=False, markup=False)

    def message(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False)

    def stop(self) -> None:
        self.bar.stop()


def make_progress(quiet: bool = False) -> Progress:
    if quiet:
        return QuietProgress()
    if sys.stderr.isatty():
        return RichProgress()
    return PlainProgress()
