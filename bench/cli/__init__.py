"""The thin command line: each sub-command lives in its own module and imports heavy
modules only inside its handler."""

from __future__ import annotations

import argparse
import re
from typing import NoReturn, TypeAlias


class Parser(argparse.ArgumentParser):
    """argparse with "did you mean" for a mistyped sub-command or choice (``pibench rnu``);
    the parsers of the sub-commands are of this class too."""

    def error(self, message: str) -> NoReturn:
        m = re.search(r"invalid choice: '?([^'\s]*)'? \(choose from (.*)\)", message)
        if m:
            from bench.registry import did_you_mean

            choices = [c.strip().strip("'\"") for c in m.group(2).split(",")]
            message = f"{message}: {did_you_mean(m.group(1), choices)}"
        super().error(message)


SubParsers: TypeAlias = "argparse._SubParsersAction[Parser]"
"""What a command module's ``register(sub)`` is given: ``parser.add_subparsers()``."""
