"""``pibench schema``: the JSON Schema of a cases.jsonl line (bench.results.case_schema)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of a cases.jsonl line",
                       description="Print the JSON Schema (draft 2020-12) of one line of "
                       "cases.jsonl, generated from pibench's typed record and shipped in "
                       "the package (bench/results/cases.schema.json).")
    p.set_defaults(func=schema_cmd)


def schema_cmd(args: argparse.Namespace) -> int:
    from bench.results.case_schema import shipped

    sys.stdout.write(shipped())
    return 0
