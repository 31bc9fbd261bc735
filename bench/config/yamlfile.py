"""YAML files read defensively, and validated by a pydantic model with errors that point at
the line.

``safe_parse`` is the one YAML reader of pibench's inputs (run configs, mock profiles, the model
catalog, prompt files). Beyond PyYAML's safe loader it refuses, with one line naming the file and
the line: nesting deeper than ``MAX_DEPTH`` (PyYAML's composer recurses), aliases that refer to
a value containing them (a cycle, also through ``<<`` merges), aliases that expand to more than
``MAX_VALUES`` values (a "billion laughs" bomb), duplicate keys in one mapping (YAML keeps the
last silently), ``.nan``/``.inf`` and numbers too large to be finite, and NUL bytes in values.

The run config (bench.config.loader) collects every error of a file; the smaller files
(mock profiles, the model catalog) stop at the first one, through ``load_typed``:

    configs/models.yaml:14: models[1].files[0].repo: missing required field 'repo' (model catalog)
"""

from __future__ import annotations

import contextlib
import math
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bench.config.errors import Loc, describe, field_path
from bench.errors import UserError

M = TypeVar("M", bound=BaseModel)

MAX_DEPTH = 64
"""Deepest nesting of lists and mappings accepted (a config needs about 6)."""
MAX_VALUES = 200_000
"""Most values a document may hold once its aliases are expanded."""
MAX_BYTES = 16 * 1024 * 1024
"""Largest YAML file read (a config is a few KiB; a prompt file may be larger)."""

_FLOAT = "tag:yaml.org,2002:float"
_INT = "tag:yaml.org,2002:int"
_MERGE = "tag:yaml.org,2002:merge"


class YamlRefused(UserError):
    """A YAML file pibench will not read; the message is ``PATH:LINE: problem``."""


def _refuse(path: Path | str, line: int, problem: str) -> YamlRefused:
    return YamlRefused(f"{path}:{line}: {problem}")


_OPENERS = re.compile(r"(?:[\[{]\s*){" + str(MAX_DEPTH + 1) + "}")
"""More flow openers in a row than MAX_DEPTH: the shape of a nesting attack. PyYAML's scanner
looks far ahead on such a line (seconds), so that prefix is checked alone first."""


def _check_depth(text: str, path: Path | str) -> None:
    """Walk the event stream (PyYAML's parser keeps its own stack, it does not recurse)."""
    run = _OPENERS.search(text)
    if run is not None:
        # a YAMLError: the openers were inside a quoted string or a comment: read on
        with contextlib.suppress(yaml.YAMLError):
            _events_depth(text[: run.end()], path)
    _events_depth(text, path)


def _events_depth(text: str, path: Path | str) -> None:
    loader = yaml.SafeLoader(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise _refuse(path, mark.line + 1 if mark is not None else 1,
                                  f"nested deeper than {MAX_DEPTH} levels of lists or mappings")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    finally:
        loader.dispose()


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_scalar(node: yaml.ScalarNode, path: Path | str) -> None:
    line = node.start_mark.line + 1
    value = str(node.value)
    if "\x00" in value:
        raise _refuse(path, line, "a NUL byte in a value; remove it")
    if node.tag == _FLOAT:
        v = value.lower().replace("_", "").lstrip("+-")
        finite = ".inf" not in v and ".nan" not in v
        if finite and ":" not in v:
            try:
                finite = len(v) <= 400 and math.isfinite(float(v))
            except ValueError:
                finite = True  # PyYAML reports its own parse error
        if not finite:
            raise _refuse(path, line, f"{value} is not a finite number: write a finite value")
    elif node.tag == _INT and len(value) > 40:
        raise _refuse(path, line, f"the number {value[:20]}... is too large")


def _check_mapping(node: yaml.MappingNode, path: Path | str) -> None:
    seen: dict[tuple[str, str], int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE:
            continue
        line = key.start_mark.line + 1
        first = seen.get((key.tag, key.value))
        if first is not None:
            raise _refuse(path, line, f"duplicate key {key.value!r} (first at line {first}): "
                                      "YAML would keep only the last; remove one")
        seen[(key.tag, key.value)] = line


def check_graph(root: yaml.Node, path: Path | str) -> None:
    """Cycles, alias expansion, duplicate keys and scalar values of a composed document,
    without recursion (an alias makes the document a graph, not a tree)."""
    size: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[tuple[yaml.Node, list[yaml.Node]]] = [(root, _children(root))]
    on_stack.add(id(root))
    while stack:
        node, todo = stack[-1]
        if todo:
            child = todo.pop()
            if id(child) in on_stack:
                raise _refuse(path, child.start_mark.line + 1,
                              "an alias refers to a value that contains it (a cycle); "
                              "YAML aliases must point at finished values")
            if id(child) not in size:
                on_stack.add(id(child))
                stack.append((child, _children(child)))
            continue
        stack.pop()
        on_stack.discard(id(node))
        if isinstance(node, yaml.ScalarNode):
            _check_scalar(node, path)
        elif isinstance(node, yaml.MappingNode):
            _check_mapping(node, path)
        total = 1 + sum(size[id(c)] for c in _children(node))
        if total > MAX_VALUES:
            raise _refuse(path, node.start_mark.line + 1,
                          f"aliases expand this to more than {MAX_VALUES} values (an alias "
                          "bomb?); write the values out or use fewer aliases")
        size[id(node)] = total


def safe_parse(text: str, path: Path | str) -> tuple[Any, yaml.Node | None]:
    """(data, composed root node) of a YAML text; YamlRefused (one line) for anything
    invalid or hostile. ``(None, None)`` for an empty document."""
    if len(text) > MAX_BYTES:
        raise _refuse(path, 1, f"larger than {MAX_BYTES // (1024 * 1024)} MiB; not read")
    loader: yaml.SafeLoader | None = None
    try:
        _check_depth(text, path)
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None, None
        check_graph(node, path)
        return loader.construct_document(node), node
    except yaml.YAMLError as exc:
        raise YamlRefused(invalid_yaml(Path(path), exc)) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # e.g. a timestamp with month 13: PyYAML's constructor raises a plain ValueError
        raise _refuse(path, 1, f"invalid YAML: {exc.__class__.__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    finally:
        if loader is not None:
            loader.dispose()


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


def read_text(path: Path, what: str) -> str:
    """A small text input file, or one UserError line saying why it cannot be read."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UserError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    if b"\x00" in raw:
        raise UserError(f"{path}: a binary file, not text ({what})")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text ({what})") from None


def load_typed(path: Path, cls: type[M], what: str) -> M:
    """Read ``path`` and validate it as ``cls``; any problem is one UserError line naming the
    file, the line and the field, ending with ``(what)``."""
    text = read_text(path, what)
    try:
        data, node = safe_parse(text, path)
    except YamlRefused as exc:
        raise UserError(f"{exc} ({what})") from None
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        loc, msg = describe(exc.errors()[0], cls)
        line = line_of(line_map(node), loc) if node is not None else 1
        raise UserError(f"{path}:{line}: {field_path(loc)}: {msg} ({what})") from None
