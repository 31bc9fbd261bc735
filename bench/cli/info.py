"""``pibench backends`` and ``pibench meters``: what is registered, what is importable."""

from __future__ import annotations

import argparse
import importlib.util
from typing import get_args

from bench.cli import SubParsers
from bench.common import WorkloadKind


def register(sub: SubParsers) -> None:
    b = sub.add_parser("backends", help="list the backends and whether they can run here")
    b.set_defaults(func=backends_cmd)
    m = sub.add_parser("meters", help="list the meter types (see `pibench sensors` to probe)")
    m.set_defaults(func=meters_cmd)


def takes(type_name: str) -> str:
    """The workloads a backend type takes, from its declared flags: "throughput, chat, ..."."""
    from bench.registry import backend_capabilities

    caps = backend_capabilities(type_name)  # asked as the plan asks: refusal()
    kinds = [k for k in get_args(WorkloadKind) if caps.refusal(k, False) is None]
    return ", ".join(kinds + (["images"] if caps.refusal("throughput", True) is None else []))


def backends_cmd(args: argparse.Namespace) -> int:
    from bench.registry import BACKENDS

    for name, entry in BACKENDS.items():
        lib = entry.needs
        here = "yes" if lib is None or importlib.util.find_spec(lib) else f"no ({lib} missing)"
        print(f"{name:13s} {entry.summary}\n{'':13s} takes: {takes(name)}  [available: {here}]")
    return 0


def meters_cmd(args: argparse.Namespace) -> int:
    from bench.registry import METERS

    for name, entry in METERS.items():
        print(f"{name:10s} {entry.summary}")
    return 0
