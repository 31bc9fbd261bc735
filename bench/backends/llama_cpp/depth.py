"""The context of a depth (llama-bench's ``-d``) decoded once per case, then restored.

llama-bench (ggml-org/llama.cpp tools/llama-bench/llama-bench.cpp, ``llama_bench()``, read at
commit 0104b151, struct ``ctx_state``) clears the memory before every repetition; when the
depth equals the one it decoded last it puts the saved sequence state back with
``llama_state_seq_set_data`` (a return of 0 means "incompatible": it decodes again), otherwise
it decodes the depth's tokens and saves them with ``llama_state_seq_get_size`` /
``llama_state_seq_get_data``. ``DepthState`` does the same through llama-cpp-python's
bindings of those three C functions, for sequence 0 (the backend's only sequence), keyed by
the depth's token ids so a different context is never restored by mistake.

What was done is recorded with every repetition (``internal.depth_context``: "decoded" or
"restored", ``internal.depth_context_ms``: the time it took), outside the timed window.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import llama_cpp

SEQ = 0
"""The backend's one sequence (n_seq_max = 1)."""


class DepthState:
    """The saved state of the last depth context of one llama.cpp context."""

    def __init__(self) -> None:
        self._ids: tuple[int, ...] | None = None
        self._buf: Any = None
        self._size = 0

    def forget(self) -> None:
        """Drop the saved state (a new or freed context)."""
        self._ids, self._buf, self._size = None, None, 0

    @property
    def bytes(self) -> int:
        return self._size

    def put(self, ctx: Any, ids: list[int], decode: Callable[[list[int]], None]) -> str:
        """Put the context ``ids`` in ``ctx``'s (cleared) memory: "restored" from the saved
        state when the same ids were saved before and llama.cpp takes it back, else
        "decoded" (and saved for the next repetition)."""
        key = tuple(ids)
        if key == self._ids and self._buf is not None:
            done = llama_cpp.llama_state_seq_set_data(ctx, self._buf, self._size, SEQ)
            if done:
                return "restored"
            # llama.cpp refused the state (0): clear what it may have left, decode again
            llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), False)
        decode(ids)
        llama_cpp.llama_synchronize(ctx)
        size = int(llama_cpp.llama_state_seq_get_size(ctx, SEQ))
        buf = (ctypes.c_uint8 * size)()
        written = int(llama_cpp.llama_state_seq_get_data(ctx, buf, size, SEQ))
        if written > 0:
            self._ids, self._buf, self._size = key, buf, written
        else:
            self.forget()
        return "decoded"
