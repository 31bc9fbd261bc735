"""Turn pydantic errors into lines a person can act on: file:line: field: what is expected."""

from __future__ import annotations

import types
import typing
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bench.config.types import number_hint, show
from bench.registry import did_you_mean

Loc = tuple[int | str, ...]


def field_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types inside Optional/Union/Annotated."""
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        out: list[Any] = []
        for arg in get_args(tp):
            out.extend(_unwrap(arg))
        return out
    return [tp]


def model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The pydantic model class that validates the value at ``loc`` (None if not a model)."""
    current: list[Any] = [root]
    for part in loc:
        nxt: list[Any] = []
        for tp in current:
            for t in _unwrap(tp):
                origin = get_origin(t)
                if isinstance(t, type) and issubclass(t, BaseModel) and isinstance(part, str):
                    field = t.model_fields.get(part)
                    if field is not None:
                        nxt.append(field.annotation)
                elif origin is list and isinstance(part, int):
                    nxt.append(get_args(t)[0])
                elif origin is dict and isinstance(part, str):
                    nxt.append(get_args(t)[1])
        current = nxt
    for tp in current:
        for t in _unwrap(tp):
            if isinstance(t, type) and issubclass(t, BaseModel):
                return t
    return None


_EXPECT = {
    "string_type": "expected text",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected a mapping (key: value)",
    "model_type": "expected a mapping (key: value)",
    "model_attributes_type": "expected a mapping (key: value)",
}


def describe(err: ErrorDetails, root: type[BaseModel]) -> tuple[Loc, str]:
    """(location of the field, message) for one pydantic error."""
    loc: Loc = tuple(err["loc"])
    kind = err["type"]
    given = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return loc[:-1], f"missing required field {loc[-1]!r}"
    if kind == "extra_forbidden":
        parent = model_at(root, loc[:-1])
        hint = ""
        if parent is not None:
            hint = ": " + did_you_mean(str(loc[-1]), list(parent.model_fields))
        return loc, f"unknown key{hint}"
    if kind == "value_error":
        return loc, str(ctx.get("error", err["msg"]))
    if kind == "assertion_error":
        return loc, str(ctx.get("error", err["msg"]))
    if kind == "literal_error":
        return loc, f"expected {ctx.get('expected')}, got {show(given)}"
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return loc, f"expected at least {n} item{'s' if n != 1 else ''}, got {show(given)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=",
              "less_than": "<", "less_than_equal": "<="}[kind]
        bound = next(iter(ctx.values()), "?")
        return loc, f"expected a number {op} {bound}, got {show(given)}"
    if kind == "finite_number":
        return loc, f"expected a finite number, got {show(given)}"
    if kind in _EXPECT:
        return loc, f"{_EXPECT[kind]}, got {show(given)}{number_hint(given)}"
    return loc, f"{err['msg']}, got {show(given)}"


def messages(exc: ValidationError, root: type[BaseModel],
             prefix: Loc = ()) -> list[tuple[Loc, str]]:
    return [(prefix + loc, msg) for loc, msg in (describe(e, root) for e in exc.errors())]
