"""Field types whose errors read the way a person would say them."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator


def show(value: Any) -> str:
    """A value as the user wrote it, quoted if it is a string."""
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "nothing"
    return repr(value)


_YAML11_EXP = re.compile(r"^[-+]?(\d[\d_]*)?(\.\d*)?[eE][-+]?\d+$")


def number_hint(v: Any) -> str:
    """Why a number written like ``1e3`` arrived as text: YAML 1.1 (PyYAML) reads a float
    only with a dot and a signed exponent."""
    if isinstance(v, str) and _YAML11_EXP.match(v.strip()):
        return (f" (YAML 1.1 reads {v.strip()} as text, not a number: write it out, or with a "
                "dot and a signed exponent like 1.0e+3)")
    return ""


def _expected(what: str, v: Any) -> ValueError:
    return ValueError(f"expected {what}, got {show(v)}{number_hint(v)}")


def _int(v: Any, lo: int, what: str, hi: int | None) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise _expected(what, v)
    if hi is not None and v > hi:
        raise ValueError(f"expected at most {hi}, got {v}")
    return v


def _float(v: Any, what: str, ok: bool, hi: float | None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _expected(what, v)
    if not math.isfinite(v):
        raise ValueError(f"expected a finite number, got {v}")
    if not ok:
        raise _expected(what, v)
    if hi is not None and v > hi:
        raise ValueError(f"expected at most {hi:g}, got {v:g}")
    return float(v)


def int_from(lo: int, hi: int | None = None) -> BeforeValidator:
    """An integer >= ``lo`` (0 or 1), at most ``hi``: use as ``Annotated[int, int_from(1, 100)]``.
    A bound is a sanity check: 10^21 repetitions is a typo, not a plan."""
    what = "a positive integer" if lo == 1 else "an integer >= 0"
    return BeforeValidator(lambda v: _int(v, lo, what, hi))


def float_from(lo: float, strict: bool, hi: float | None = None) -> BeforeValidator:
    """A finite number >= ``lo`` (> ``lo`` when ``strict``), at most ``hi``."""
    what = f"a number {'>' if strict else '>='} {lo:g}"
    return BeforeValidator(lambda v: _float(
        v, what, not isinstance(v, (int, float)) or (v > lo if strict else v >= lo), hi))


NAME_MAX = 100
"""Longest name: names make file names (run folders, plots), which stop at 255 bytes."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]*$")


def _name(v: Any) -> str:
    if not isinstance(v, str) or not _NAME.match(v):
        raise ValueError(
            "expected a name of ASCII letters, digits and . _ : + - (no spaces, no /), "
            f"got {show(v)}"
        )
    if len(v) > NAME_MAX:
        raise ValueError(f"a name of at most {NAME_MAX} characters, got {len(v)}")
    return v


PositiveInt = Annotated[int, int_from(1)]
NonNegativeInt = Annotated[int, int_from(0)]
NonNegativeFloat = Annotated[float, float_from(0, strict=False)]
PositiveFloat = Annotated[float, float_from(0, strict=True)]
TOKENS_MAX = 1_000_000
"""Most tokens of a prompt or a generation (no model of this project has a larger context)."""
TokenCount = Annotated[int, int_from(1, TOKENS_MAX)]
Seconds = Annotated[float, float_from(0, strict=False, hi=86_400.0)]
"""A pause of at most a day."""
Name = Annotated[str, BeforeValidator(_name)]
