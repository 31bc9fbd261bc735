"""Field types whose errors read the way a person would say them."""

from __future__ import annotations

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


def _positive_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ValueError(f"expected a positive integer, got {show(v)}")
    return v


def _non_negative_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"expected an integer >= 0, got {show(v)}")
    return v


def _non_negative_float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise ValueError(f"expected a number >= 0, got {show(v)}")
    return float(v)


def _positive_float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
        raise ValueError(f"expected a number > 0, got {show(v)}")
    return float(v)


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]*$")


def _name(v: Any) -> str:
    if not isinstance(v, str) or not _NAME.match(v):
        raise ValueError(
            f"expected a name of letters, digits and . _ : + - (no spaces, no /), got {show(v)}"
        )
    return v


PositiveInt = Annotated[int, BeforeValidator(_positive_int)]
NonNegativeInt = Annotated[int, BeforeValidator(_non_negative_int)]
NonNegativeFloat = Annotated[float, BeforeValidator(_non_negative_float)]
PositiveFloat = Annotated[float, BeforeValidator(_positive_float)]
Name = Annotated[str, BeforeValidator(_name)]
