"""YAML files validated by a pydantic model, with errors that point at the line.

The run config (bench.config.loader) collects every error of a file; the smaller files
(mock profiles, the model catalog) stop at the first one, through ``load_typed``:

    configs/models.yaml:14: models[1].files[0].repo: missing required field 'repo' (model catalog)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bench.config.errors import Loc, describe, field_path
from bench.errors import UserError

M = TypeVar("M", bound=BaseModel)


def line_map(node: yaml.Node, loc: Loc = (), out: dict[Loc, int] | None = None) -> dict[Loc, int]:
    """Path of every value in a composed YAML document -> its 1-based line."""
    out = {} if out is None else out
    out.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
            child = (*loc, k)
            out[child] = key.start_mark.line + 1
            line_map(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            line_map(item, (*loc, i), out)
    return out


def line_of(lines: dict[Loc, int], loc: Loc) -> int:
    """The line of ``loc``, else of its nearest parent that has one, else 1."""
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return 1


def invalid_yaml(path: Path, exc: yaml.YAMLError) -> str:
    """"PATH:LINE: invalid YAML: PROBLEM" for a parse error of the file at ``path``."""
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{path}:{line}: invalid YAML: {problem}"


def load_typed(path: Path, cls: type[M], what: str) -> M:
    """Read ``path`` and validate it as ``cls``; any problem is one UserError line naming the
    file, the line and the field, ending with ``(what)``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text ({what})") from None
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{invalid_yaml(path, exc)} ({what})") from None
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        loc, msg = describe(exc.errors()[0], cls)
        node = yaml.compose(text)
        line = line_of(line_map(node), loc) if node is not None else 1
        raise UserError(f"{path}:{line}: {field_path(loc)}: {msg} ({what})") from None
