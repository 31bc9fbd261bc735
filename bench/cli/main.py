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
import importlib
import sys

from bench import __version__
from bench.errors import PibenchError

COMMAND_MODULES = [
    "bench.cli.run",
    "bench.cli.bench",
    "bench.cli.report",
    "bench.cli.plot",
    "bench.cli.models",
    "bench.cli.sensors",
    "bench.cli.info",
    "bench.cli.doctor",
    "bench.cli.fleet",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pibench",
        description="Benchmark small LLMs on a Raspberry Pi 5: CPU (llama.cpp), Hailo-10H NPU,"
        " HTTP servers, or a simulated device.",
    )
    parser.add_argument("--version", action="version", version=f"pibench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a command module not written yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except PibenchError as exc:
        print(f"pibench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pibench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
