"""Control panel of the fake hailo_platform (not part of the real API).

Tests script the fake through ``STATE`` (reset it with ``reset()``): which chip and how many
devices, whether another process holds the NPU, what the model generates and how long each
stream item takes, and read the ``calls`` history. Delays are spent on ``STATE.clock``
(a VirtualClock in tests, so timings are exact and instant); with no clock they really sleep.

Fake HEF files: ``write_hef(path, arch)`` writes a small file with a readable header; the fake
LLM refuses anything else as an invalid HEF, and a HEF for another arch as incompatible.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

HEF_MAGIC = b"FAKE-HEF"


class _Sleeper(Protocol):
    def sleep(self, seconds: float) -> None: ...


@dataclass
class Script:
    """One generation as the model would produce it, token by token.

    ``tokens`` are the model's tokens as text or raw UTF-8 bytes (a ``bytes`` piece may be an
    incomplete character: its item is empty and the next item carries the joined text, as
    HailoRT's tokenizer does). When the tokens run out before ``max_generated_tokens``, the model
    produces its end token (``eos=True``): the last item while it is a stop token, an ordinary
    token followed by more text once ``set_stop_tokens([])`` removed it. ``delays[i]`` is the
    time before token ``i`` is ready (token 0 includes the prompt's prefill); missing entries
    use ``first_delay`` / ``delay``.
    ``fail_at`` makes the read of token ``fail_at`` raise ``fail_exc`` (the card vanishing).
    """

    tokens: list[str | bytes] = field(default_factory=lambda: [f" word{i}" for i in range(32)])
    eos: bool = True
    delays: list[float] = field(default_factory=list)
    first_delay: float = 0.3
    delay: float = 0.1
    fail_at: int | None = None
    fail_exc: str = "HailoRTDriverOperationFailedException"

    def delay_for(self, i: int) -> float:
        if i < len(self.delays):
            return self.delays[i]
        return self.first_delay if i == 0 else self.delay


@dataclass
class FakeHailo:
    arch: str = "HAILO10H"
    devices: int = 1
    other_process_group: str | None = None
    """A VDevice held by another process in this group ("UNIQUE" blocks everyone)."""
    kv_cache_external: str | None = None
    """Another program (e.g. "hailo-ollama") holding the KV cache."""
    load_delay: float = 7.5
    version: str = "5.1.1"
    """The HailoRT version faked: "5.0.1", "5.1.0", "5.1.1" or "5.2.0" (signatures differ)."""
    end_token: str = "<|im_end|>"
    """The model's end-of-sentence token as text (its default stop token and the default
    recovery sequence)."""
    max_context: int = 2048
    scripts: deque[Script] = field(default_factory=deque)
    default_script: Script = field(default_factory=Script)
    clock: _Sleeper | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    """What HailoRT would write to hailort.log."""
    kv_cache_holder: object | None = None
    open_vdevices: int = 0
    open_llms: int = 0

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.clock is not None:
            self.clock.sleep(seconds)
        else:
            time.sleep(seconds)

    def record(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def next_script(self) -> Script:
        return self.scripts.popleft() if self.scripts else self.default_script


STATE = FakeHailo()


def reset() -> FakeHailo:
    """Put ``STATE`` back to a fresh state, in place (also returned, for convenience)."""
    STATE.__dict__.update(FakeHailo().__dict__)
    set_version(STATE.version)
    return STATE


def set_version(version: str) -> None:
    """Fake HailoRT ``version``: the signatures (``STATE.version``) and
    ``hailo_platform.__version__``."""
    import sys

    STATE.version = version
    module = sys.modules.get("hailo_platform")
    if module is not None:
        module.__version__ = version  # type: ignore[attr-defined]


def write_hef(path: str | Path, arch: str = "HAILO10H", model: str = "fake-model",
              size: int = 4096) -> Path:
    """A small fake HEF file for ``arch``; ``size`` bytes in all."""
    p = Path(path)
    header = HEF_MAGIC + f" arch={arch} model={model}\n".encode()
    p.write_bytes(header + b"\0" * max(0, size - len(header)))
    return p


def read_hef_arch(path: str) -> str | None:
    """The arch in a fake HEF's header, None when the file is not a fake HEF."""
    with open(path, "rb") as f:
        head = f.read(256)
    if not head.startswith(HEF_MAGIC):
        return None
    for part in head.split(b"\n", 1)[0].split():
        if part.startswith(b"arch="):
            return part.removeprefix(b"arch=").decode()
    return None
