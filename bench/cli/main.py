"""``pibench``: entry point. Sub-commands register themselves from small modules.

Contract for a command module: ``register(sub)`` adds a parser to the argparse
sub-parsers object and sets ``func=handler``; ``handler(args) -> int`` returns the exit
code. Imports at a module's top must stay light (no backend or hardware library), so that
``pibench --help`` stays fast. A user mistake raises ``bench.errors.UserError``: ``main``
prints it as one line and exits 2, never a traceback.

Exit codes: 0 done, 1 a case failed or internal error, 2 a user error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

from bench import __version__
from bench.cli import Parser, SubParsers
from bench.errors import PibenchError
from bench.registry import Registry

COMMANDS: Registry[Callable[[SubParsers], None]] = Registry("command module", {
    name: f"bench.cli.{name}:register"
    for name in ("run", "bench", "report", "plot", "models", "sensors", "info", "doctor", "fleet",
                 "schema")
})
"""Command modules by name: each entry is the module's ``register(sub)``."""


def _all_options(parser: argparse.ArgumentParser) -> list[str]:
    """The long options of a parser and of the sub-commands under it."""
    out: list[str] = []
    for action in parser._actions:
        out += [o for o in action.option_strings if o.startswith("--")]
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out += _all_options(sub)
    return out


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace
                    ) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, "command", None) or "")
            if chosen is not None:
                return chosen
    return parser


def _unknown(parser: argparse.ArgumentParser, args: argparse.Namespace,
             extras: list[str]) -> NoReturn:
    """"unrecognized arguments" with a "did you mean" for each mistyped option."""
    import difflib

    target = _command_parser(parser, args)
    options = sorted(set(_all_options(target)))
    hints = []
    for word in extras:
        if word.startswith("--"):
            close = difflib.get_close_matches(word.split("=")[0], options, n=1, cutoff=0.6)
            if close:
                hints.append(f"{word}: did you mean {close[0]!r}?")
    target.error(f"unrecognized arguments: {' '.join(extras)}"
                 + (f" ({'; '.join(hints)})" if hints else ""))


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="pibench",
        description="Benchmark small LLMs on a Raspberry Pi 5: CPU (llama.cpp), Hailo-10H NPU,"
        " HTTP servers, or a simulated device.",
    )
    parser.add_argument("--version", action="version", version=f"pibench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            register = COMMANDS.get(name)
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.cli.{name}":  # a command module not written yet
                continue
            raise
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from bench.results.system import set_command_line

    set_command_line(sys.argv[1:] if argv is None else argv)  # environment.json's command_line
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        _unknown(parser, args, extras)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PibenchError as exc:
        lines = getattr(exc, "lines", None)  # ConfigErrors: every problem, one line each
        if isinstance(lines, list) and len(lines) > 1:
            for line in lines:
                print(f"pibench: error: {line}", file=sys.stderr)
        else:
            print(f"pibench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pibench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
