"""The ground floor every layer may import: the options base, the workload kinds, the
exhaustiveness check and the JSON value types. Imports pydantic only (no bench module)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, NoReturn, TypeAlias

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """The one base of every options model (config sections, backend options and artifacts,
    meters, detectors): typed, frozen, unknown keys and NaN/inf refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


WorkloadKind = Literal["throughput", "chat", "completion"]
"""The kinds of workload. Code that branches on a kind matches it exhaustively
(``match`` + ``typing.assert_never``), so a new kind makes mypy name every place to handle it
(tests/test_workload_kinds.py)."""


def assert_never(value: NoReturn) -> NoReturn:
    """The ``case _:`` of an exhaustive match (``typing.assert_never`` is Python 3.11+):
    mypy refuses any call whose argument is not yet narrowed to nothing."""
    raise AssertionError(f"unhandled value: {value!r}")


JsonScalar: TypeAlias = "str | int | float | bool | None"
Json: TypeAlias = "JsonScalar | Sequence[Json] | Mapping[str, Json]"
"""A value as JSON carries it (what a server answers, what a record section holds): read-only
(``Sequence``/``Mapping``, so a ``list[str]`` or a ``dict[str, float]`` is one), narrowed with
``isinstance`` before use. A tuple is written as a JSON array."""
JsonObject: TypeAlias = "dict[str, Json]"
"""A JSON object built or read by pibench: a backend's ``describe()``, ``ModelInfo.extra``,
a server's answer."""


def json_object(value: Json) -> JsonObject:
    """``value`` when it is a JSON object (a copy as a dict), else an empty one: for reading
    an optional nested object of an answer (``json_object(answer.get("details"))``)."""
    return dict(value) if isinstance(value, Mapping) else {}


def json_number(value: Json) -> int | float | None:
    """``value`` when it is a number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value
