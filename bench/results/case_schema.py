"""The JSON Schema of one ``cases.jsonl`` line, generated from the typed record
(``bench.results.record.CaseRecord``, pydantic's ``model_json_schema``).

The schema is shipped as a file in the package (``cases.schema.json`` beside this module), so
that it can be read without running pibench and reviewed in a diff when the record changes;
``pibench schema`` prints that file. tests/test_case_schema.py checks that the file equals the
schema generated from the record, and validates every line of a fresh mock run against it.
After a change to the record, write the file again:

    python -m bench.results.case_schema --write

What the schema says is what the record says: closed parts (``extra="forbid"``: the record
itself, ``model``, ``error``) allow no other key; open parts (a summary, a repetition, the
backend, host load) allow more keys after their core; sections owned by other parts of pibench
(``workload``, ``power``, ``health``, ``mixed``...) are objects whose content is documented
where they are made (docs/results.md). Fields written only when set (a failed case's
``capabilities`` and ``runs_on``, a repetition's ``token_n`` and ``prompt``) are not required.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.results.record import CaseRecord
from bench.results.schema import SCHEMA_VERSION

SCHEMA_FILE = Path(__file__).with_name("cases.schema.json")
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def generate() -> dict[str, Any]:
    """The schema of one line, generated from ``CaseRecord`` now."""
    body = CaseRecord.model_json_schema(by_alias=True, mode="validation")
    body.pop("title", None)
    body.pop("description", None)
    return {
        "$schema": DIALECT,
        "title": f"pibench cases.jsonl line (schema version {SCHEMA_VERSION})",
        "description": "One case of a pibench run: what ran, its repetitions, summaries, "
                       "meters and error. Generated from bench/results/record.py "
                       "(CaseRecord); fields are documented in docs/results.md.",
        **body,
    }


def text() -> str:
    """``generate()`` as the shipped file holds it."""
    return json.dumps(generate(), indent=2, ensure_ascii=False) + "\n"


def shipped() -> str:
    """The shipped file's text (what ``pibench schema`` prints)."""
    return SCHEMA_FILE.read_text(encoding="utf-8")


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        SCHEMA_FILE.write_text(text(), encoding="utf-8")
        print(f"written: {SCHEMA_FILE}")
        return 0
    sys.stdout.write(text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
