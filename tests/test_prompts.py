"""bench.workloads.prompts: filler fitted to exact token counts, prompt sets."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from bench.errors import UserError
from bench.workloads.prompts import (
    BUILTIN_SETS,
    filler_text,
    fit_prompt,
    fit_to_tokens,
    load_prompt_set,
)

_WORDISH = re.compile(r" ?\w+| ?[^\w\s]|\s+")


def count_words(text: str) -> int:
    return len(_WORDISH.findall(text))


def count_bpe_like(text: str) -> int:
    """A tokenizer with a start token and long words split in two."""
    return 1 + sum(2 if len(p.strip()) > 6 else 1 for p in _WORDISH.findall(text))


@pytest.mark.parametrize("count", [count_words, count_bpe_like])
@pytest.mark.parametrize("n", [1, 2, 7, 64, 128, 512, 2000])
def test_fit_is_exact(count: object, n: int) -> None:
    fitted = fit_prompt(count, n, variant=4)  # type: ignore[arg-type]
    assert fitted.exact and fitted.tokens == n == count(fitted.text)  # type: ignore[operator]


def test_variants_differ_from_the_first_words_and_are_deterministic() -> None:
    a, b = fit_to_tokens(count_words, 128, 1), fit_to_tokens(count_words, 128, 2)
    assert a.split()[:2] == ["Sample", "1:"] and b.split()[:2] == ["Sample", "2:"]
    assert a != b and a == fit_to_tokens(count_words, 128, 1)
    assert filler_text(5) == filler_text(5)
    assert len(filler_text(0, min_words=3000).split()) >= 3000


def test_impossible_fit_returns_closest_below_and_says_so(caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    def by_pairs(text: str) -> int:  # only even counts exist
        return 2 * len(text.split())

    with caplog.at_level(logging.WARNING):
        fitted = fit_prompt(by_pairs, 9, 0)
    assert not fitted.exact and fitted.tokens == 8 and by_pairs(fitted.text) == 8
    assert "instead of 9" in caplog.text


def test_base_text_replaces_filler() -> None:
    fitted = fit_prompt(count_words, 30, 0, base="alpha beta gamma")
    assert fitted.exact and set(fitted.text.split()) <= {"alpha", "beta", "gamma", "a", "the"}


def test_builtin_sets() -> None:
    assert len(load_prompt_set("builtin:short", Path("."))) == 8
    assert load_prompt_set("builtin:code", Path(".")) == list(BUILTIN_SETS["code"])
    with pytest.raises(UserError, match=r"builtin:nope.*builtin:code, builtin:short"):
        load_prompt_set("builtin:nope", Path("."))


def test_files(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("- first question\n- second one\n")
    (tmp_path / "p.txt").write_text("one\n\n  two  \n")
    assert load_prompt_set("p.yaml", tmp_path) == ["first question", "second one"]
    assert load_prompt_set(str(tmp_path / "p.txt"), Path("/")) == ["one", "two"]
    (tmp_path / "bad.yaml").write_text("a: 1\n")
    with pytest.raises(UserError, match="YAML list"):
        load_prompt_set("bad.yaml", tmp_path)
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(UserError, match="no prompts"):
        load_prompt_set("empty.txt", tmp_path)
    with pytest.raises(UserError, match=r"missing\.txt"):
        load_prompt_set("missing.txt", tmp_path)
