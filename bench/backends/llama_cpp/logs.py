"""Silence llama.cpp's log output while keeping its last lines for error messages.

llama.cpp writes model-loading chatter to stderr through one global callback. We install a
callback that prints nothing and keeps the most recent lines in memory, so a failed load
can say why in one line ("tensor data is not within the file bounds", ...), and so settings
llama.cpp resolves itself (flash attention "auto") can be read back.
"""

from __future__ import annotations

import ctypes
import threading
from collections import deque
from typing import Any

# ggml_log_level: NONE=0, DEBUG=1, INFO=2, WARN=3, ERROR=4, CONT=5 (continues the last line)
_DEBUG = 1
_WARN = 3
_ERROR = 4
_CONT = 5

_lines: deque[tuple[int, str]] = deque(maxlen=400)
_lock = threading.Lock()
_skipping = False  # inside a debug message (its continuations are dropped too)
_installed: list[Any] = []  # keeps the ctypes callback alive for the life of the process


def _on_log(level: int, text: bytes | None, _user_data: object) -> None:
    global _skipping
    if not text:
        return
    s = text.decode("utf-8", "replace")
    with _lock:
        if level == _DEBUG or (level == _CONT and _skipping):
            _skipping = True
            return
        _skipping = False
        if level == _CONT and _lines:
            last_level, last = _lines[-1]
            _lines[-1] = (last_level, last + s)
        else:
            _lines.append((level, s))


def install() -> None:
    """Route llama.cpp's (and ggml's) log into the in-memory buffer. Idempotent."""
    if _installed:
        return
    import llama_cpp

    callback = llama_cpp.llama_log_callback(_on_log)
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    _installed.append(callback)


def callback() -> Any:
    """The installed ctypes log callback (installing it first), for other libraries of
    llama.cpp that take the same ``ggml_log_callback`` (libmtmd: ``mtmd_log_set``)."""
    install()
    return _installed[0]


def clear() -> None:
    """Forget the kept lines (call before an operation whose log you want to read)."""
    with _lock:
        _lines.clear()


def lines() -> list[str]:
    """The kept lines since the last ``clear``, stripped, oldest first."""
    with _lock:
        return [text.strip() for _, text in _lines if text.strip()]


def last_problem(default: str = "") -> str:
    """The last error line (else the last warning) llama.cpp logged, or ``default``."""
    with _lock:
        lines = list(_lines)
    for wanted in (_ERROR, _WARN):
        for level, text in reversed(lines):
            if level == wanted and text.strip():
                return " ".join(text.split())
    return default
