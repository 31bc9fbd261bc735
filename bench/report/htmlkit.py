"""HTML built from elements that escape what they hold.

Every ``str`` given to ``el`` (as a child or an attribute value) is escaped; only ``Html``,
markup made by ``el`` or ``Html.trusted`` (the report's own CSS, script and the SVG that
matplotlib wrote), passes as it is. Case names, model names, labels and titles come from the
user's YAML and the models' output: they are always plain ``str`` here, so they are always
escaped. No template library is needed for one page, and none can forget an escape.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

VOID = {"meta", "br", "hr", "img", "input", "link"}
NAME = re.compile(r"^[a-z][a-z0-9-]*$")


class Html(str):
    """Markup that is already safe (made by ``el`` or trusted): never escaped again."""

    __slots__ = ()

    @classmethod
    def trusted(cls, markup: str) -> Html:
        """The report's own markup (CSS, script, matplotlib's SVG), taken as it is."""
        return cls(markup)


def esc(value: object) -> Html:
    """``value`` as HTML text: markup passes, anything else is escaped (quotes too)."""
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[object], sep: str = "") -> Html:
    return Html(esc(sep).join(esc(p) for p in parts))


def el(tag: str, *children: object, **attrs: object) -> Html:
    """``<tag attrs>children</tag>``; attribute names: ``class_`` -> class, ``data_v`` ->
    data-v; an attribute whose value is None or False is left out, True writes its name."""
    if not NAME.match(tag):
        raise ValueError(f"not a tag name: {tag!r}")
    out = [f"<{tag}"]
    for key, value in attrs.items():
        name = key.rstrip("_").replace("_", "-")
        if not NAME.match(name):
            raise ValueError(f"not an attribute name: {key!r}")
        if value is None or value is False:
            continue
        out.append(f" {name}" if value is True else f' {name}="{esc(value)}"')
    out.append(">")
    if tag in VOID:
        if children:
            raise ValueError(f"<{tag}> holds nothing")
        return Html("".join(out))
    for child in children:
        if isinstance(child, (list, tuple)) or (
                not isinstance(child, str) and isinstance(child, Iterable)):
            out.extend(esc(c) for c in child)
        else:
            out.append(esc(child))
    out.append(f"</{tag}>")
    return Html("".join(out))


def code_spans(text: str) -> Html:
    """Plain text with Markdown's `code` spans as <code> (the legend and system notes are
    written for Markdown); everything escaped."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: no code spans
        return esc(text)
    return join(el("code", p) if i % 2 else p for i, p in enumerate(parts))
