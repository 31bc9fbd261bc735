"""The ground floor every layer may import: the options base, the workload kinds and the
exhaustiveness check. Imports pydantic only (no bench module)."""

from __future__ import annotations

from typing import Literal, NoReturn

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
