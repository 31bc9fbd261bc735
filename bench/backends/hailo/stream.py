"""Reading one HailoRT GenAI stream (``LLMGeneratorCompletion``) into timed token events.

Shared by the ``hailo`` (LLM) and ``hailo_vlm`` (VLM) backends. What the runtime does (HailoRT
5.1.1/5.2.0 source; each point is cited in tests/fakes/hailo_platform/pyhailort/_llm.py):

- one item per generated token; a token whose text is an incomplete UTF-8 piece comes back as
  an empty item and the next item carries the joined text. So items are counted, empty ones
  included, and every item is a token.
- natural end: the last item is the stop token (e.g. ``<|im_end|>``) with status
  LOGICAL_END_OF_GENERATION. It is not text and not counted.
- at ``max_generated_tokens`` (and on ABORTED) the server then sends its recovery sequence (by
  default the end token) as extra items that arrive at once; only the last one carries the
  final status. Everything after the ``max_tokens``-th item is such a recovery item: never
  counted, never timed, never text. When the recovery sequence is empty, the ``max_tokens``-th
  item itself carries MAX_TOKENS_REACHED and is a token.
- ``read()`` after the final item raises: the loop stops on the first status that is not
  GENERATING.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field

from bench.backends.base import TokenEvent
from bench.backends.hailo.api import Completion

GEN_TOKENS_METHOD = (
    "exact: one HailoRT stream item per token (empty items for incomplete UTF-8 counted), "
    "without the final stop-token item and without the recovery items after max_tokens"
)

STOP = {"LOGICAL_END_OF_GENERATION": "eos", "MAX_TOKENS_REACHED": "length", "ABORTED": "error"}


def status_name(completion: Completion) -> str:
    status = completion.generation_status
    return str(getattr(status, "name", status)).rsplit(".", 1)[-1]


@dataclass
class StreamResult:
    tokens: int = 0
    parts: list[str] = field(default_factory=list)
    status: str = "GENERATING"
    end_item: str | None = None
    """The final stop-token item's text (natural end), not part of the answer."""
    recovery_items: list[str] = field(default_factory=list)
    """Items after the max_tokens-th one (HailoRT's recovery sequence)."""

    @property
    def stop_reason(self) -> str:
        return STOP.get(self.status, "error")

    @property
    def text(self) -> str:
        return "".join(self.parts)


def read_stream(completion: Completion, max_tokens: int, now: Callable[[], float],
                read: Callable[[int], str], result: StreamResult
                ) -> Generator[TokenEvent, None, StreamResult]:
    """Yield one TokenEvent per generated token; fill and return ``result``.

    ``read(index)`` reads item ``index`` (the caller picks the timeout and maps exceptions);
    ``now()`` is the run's clock."""
    index = 0
    while result.status == "GENERATING":
        item = read(index)
        t = now()
        index += 1
        result.status = status_name(completion)
        if result.tokens >= max_tokens:
            result.recovery_items.append(item)  # arrives at once: not a token, not timed
            continue
        if result.status == "LOGICAL_END_OF_GENERATION":
            result.end_item = item  # the stop token: not text, not counted
            break
        result.tokens += 1
        result.parts.append(item)
        yield TokenEvent(t=t, n=1, text=item)
    return result
