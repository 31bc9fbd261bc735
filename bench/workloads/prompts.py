"""Prompts shared by every backend: filler text fitted to an exact token count, chat prompt sets.

Throughput prompts are built from a deterministic filler text. ``variant`` changes the first
words (and the order of the rest), so a server that reuses a cached prompt prefix gets a fresh
prompt on every repetition while the length stays the same.

``fit_prompt`` makes a text of exactly ``n`` tokens by the model's own tokenizer (any
``count_tokens`` callable): a binary search on the number of words, then short pieces appended
to close the last gap. When exactly ``n`` cannot be reached it returns the closest count not
above ``n`` and says so (``exact=False``, and a warning in the log).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UserError

log = logging.getLogger(__name__)

_SENTENCES = (
    "The river carried small boats past the old mill while children watched from the bridge.",
    "A baker opened his shop early to sell warm bread to farmers on their way to market.",
    "Clouds gathered over the hills in the afternoon and the wind turned cold before evening.",
    "A teacher explained how water moves through soil and why some plants need more light.",
    "Engineers measured the voltage across each resistor and wrote the numbers in a notebook.",
    "The library kept maps of every street in town and travellers often asked to see them.",
    "After dinner the family talked about the garden, the weather and the price of apples.",
    "Trains arrived every hour and the station clock was checked against the radio signal.",
)

# Short pieces, usually one token each, used to close the last gap to the target count.
_PADS = (" a", " the", ".", ",", " and", " of", " to", "\n", " ", "a")

BUILTIN_SETS: dict[str, tuple[str, ...]] = {
    "short": (
        "What is the capital of France?",
        "Give me three tips for sleeping better.",
        "How do I boil an egg so the yolk stays soft?",
        "Explain in two sentences why the sky is blue.",
        "What should I pack for a weekend hiking trip?",
        "Suggest a name for a small grey cat.",
        "How many minutes are there in a week? Show the calculation.",
        "Write a short, polite message declining a meeting invitation.",
    ),
    "code": (
        "Write a Python function that returns the n-th Fibonacci number iteratively.",
        "Write a Python function that checks whether a string is a palindrome, ignoring case.",
        "Explain what this shell command does: find . -name '*.log' -mtime +7 -delete",
        "Write a SQL query returning the ten customers with the highest total order value.",
        "Write a C function that reverses a singly linked list in place.",
        "Write a JavaScript function that debounces another function by 300 ms.",
    ),
}


def filler_text(variant: int = 0, min_words: int = 0) -> str:
    """A deterministic text for throughput prompts; the first words name the variant.

    At least ``min_words`` words long (sentences repeated in a variant-seeded order).
    """
    rng = random.Random(variant)
    words = [f"Sample {variant}:"]
    sentences = list(_SENTENCES)
    while len(words) < max(min_words, 2):
        rng.shuffle(sentences)
        for sentence in sentences:
            words.extend(sentence.split())
    return " ".join(words)


@dataclass(frozen=True)
class FittedPrompt:
    text: str
    tokens: int
    """Token count of ``text`` by the tokenizer used to fit it."""
    target: int
    exact: bool


def fit_prompt(
    count_tokens: Callable[[str], int],
    n: int,
    variant: int = 0,
    base: str | None = None,
) -> FittedPrompt:
    """A text of exactly ``n`` tokens (by ``count_tokens``), or the closest not above ``n``.

    ``base`` replaces the built-in filler (it is repeated as needed).
    """
    if n < 0:
        raise ValueError(f"token count must be >= 0, got {n}")
    words = _words_for(base, variant, n)
    # Grow the word list until it is long enough (a tokenizer may need fewer than 1 per word).
    for _ in range(16):
        if count_tokens(" ".join(words)) >= n:
            break
        words = words + words

    lo, hi = 0, len(words)  # largest k with count(words[:k]) <= n lies in [lo, hi]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(" ".join(words[:mid])) <= n:
            lo = mid
        else:
            hi = mid - 1
    text = " ".join(words[:lo])
    tokens = count_tokens(text)
    while tokens < n:
        for pad in _PADS:
            c = count_tokens(text + pad)
            if tokens < c <= n:
                text, tokens = text + pad, c
                break
        else:
            break
    exact = tokens == n
    if not exact:
        log.warning("prompt fitted to %d tokens instead of %d (no exact fit found)", tokens, n)
    return FittedPrompt(text=text, tokens=tokens, target=n, exact=exact)


def fit_to_tokens(count_tokens: Callable[[str], int], n: int, variant: int = 0) -> str:
    """The text of :func:`fit_prompt` (logs a warning when the fit is not exact)."""
    return fit_prompt(count_tokens, n, variant).text


def _words_for(base: str | None, variant: int, n: int) -> list[str]:
    if base:
        words = base.split()
        if not words:
            raise ValueError("filler text has no words")
        while len(words) < n + 8:
            words = words + base.split()
        return words
    return filler_text(variant, min_words=n + 8).split()


def load_prompt_set(spec: str, base_dir: Path) -> list[str]:
    """Prompts from ``builtin:NAME``, a YAML list file, or a text file (one prompt a line).

    Relative paths are taken from ``base_dir`` (the config file's folder).
    """
    if spec.startswith("builtin:"):
        name = spec.removeprefix("builtin:")
        if name not in BUILTIN_SETS:
            choices = ", ".join(f"builtin:{k}" for k in sorted(BUILTIN_SETS))
            raise UserError(f"unknown prompt set {spec!r}: choose one of {choices}")
        return list(BUILTIN_SETS[name])
    path = Path(spec).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise UserError(
            f"prompt set {spec!r}: file {path} not found "
            "(give builtin:NAME, a YAML list file or a text file)"
        )
    from bench.config.yamlfile import YamlRefused, read_text, safe_parse

    text = read_text(path, "prompt set")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data, _ = safe_parse(text, path)
        except YamlRefused as e:
            raise UserError(f"prompt set {e}") from None
        if not isinstance(data, list) or not all(isinstance(p, str) and p.strip() for p in data):
            raise UserError(f"prompt set {path}: must be a YAML list of non-empty strings")
        prompts = [p.strip() for p in data]
    else:
        prompts = [line.strip() for line in text.splitlines() if line.strip()]
    if not prompts:
        raise UserError(f"prompt set {path}: no prompts in the file")
    return prompts
