"""What the user sees while a run goes: the case, the repetition, live tokens/s."""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def case(self, index: int, case_id: str, note: str = "") -> None: ...
    def rep(self, label: str) -> None: ...
    def token(self, n_tokens: int, tps: float | None) -> None: ...
    def case_done(self, record: dict[str, Any]) -> None: ...
    def message(self, text: str) -> None: ...
    def stop(self) -> None: ...


def _line(record: dict[str, Any]) -> str:
    s = record.get("summary", {})
    parts = [record["case_id"], record["status"]]
    for key, label in (("prompt_tps", "pp"), ("gen_tps", "tg")):
        med = (s.get(key) or {}).get("median")
        if med is not None:
            parts.append(f"{label} {med:.2f} t/s")
    if record.get("error"):
        parts.append(record["error"]["message"])
    if "simulated" in record.get("labels", []):
        parts.append("(simulated)")
    return "  ".join(parts)


class PlainProgress:
    """One line per finished case, to stderr; for logs and CI."""

    def __init__(self) -> None:
        self.total = 0

    def start(self, total: int) -> None:
        self.total = total

    def case(self, index: int, case_id: str, note: str = "") -> None:
        print(f"[{index}/{self.total}] {case_id} {note}".rstrip(), file=sys.stderr, flush=True)

    def rep(self, label: str) -> None:
        pass

    def token(self, n_tokens: int, tps: float | None) -> None:
        pass

    def case_done(self, record: dict[str, Any]) -> None:
        print("    " + _line(record), file=sys.stderr, flush=True)

    def message(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def stop(self) -> None:
        pass


class RichProgress:
    """A live status line (case, repetition, tokens, live tokens/s) above finished cases."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(stderr=True)
        self.live = Live(console=self.console, refresh_per_second=8, transient=True)
        self.total = 0
        self.index = 0
        self.case_id = ""
        self.rep_label = ""
        self.tokens = 0
        self.tps: float | None = None
        self._last = 0.0

    def _render(self) -> Any:
        from rich.text import Text

        tps = f"{self.tps:6.2f} t/s" if self.tps is not None else "   n/a t/s"
        return Text.assemble(
            (f"[{self.index}/{self.total}] ", "bold"), (self.case_id, "cyan"),
            f"  {self.rep_label}  tokens {self.tokens:4d}  ", (tps, "green"))

    def start(self, total: int) -> None:
        self.total = total
        self.live.start()

    def case(self, index: int, case_id: str, note: str = "") -> None:
        self.index, self.case_id, self.rep_label = index, case_id, note
        self.live.update(self._render())

    def rep(self, label: str) -> None:
        self.rep_label, self.tokens, self.tps = label, 0, None
        self.live.update(self._render())

    def token(self, n_tokens: int, tps: float | None) -> None:
        self.tokens, self.tps = n_tokens, tps
        now = time.monotonic()
        if now - self._last > 0.125:
            self._last = now
            self.live.update(self._render())

    def case_done(self, record: dict[str, Any]) -> None:
        ok = record["status"] == "ok"
        self.console.print(("✓ " if ok else "✗ ") + _line(record),
                           style=None if ok else "red", highlight=False, markup=False)

    def message(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False)

    def stop(self) -> None:
        self.live.stop()


def make_progress(quiet: bool = False) -> Progress:
    if not quiet and sys.stderr.isatty():
        return RichProgress()
    return PlainProgress()
