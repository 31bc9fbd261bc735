"""``pibench sensors``: the power meters and board health readings found on this machine."""

from __future__ import annotations

import argparse
from typing import Any

from bench.cli import SubParsers


def register(sub: SubParsers) -> None:
    p = sub.add_parser(
        "sensors",
        help="list the power meters and health readings found here, read each once or --watch",
        description="Probe this machine for power meters (Pi 5 PMIC via vcgencmd, hwmon power"
        " sensors, RAPL, HailoRT) plus those named in a config's `meters:`, and read each"
        " once; --watch shows them live (Ctrl-C to stop).",
    )
    p.add_argument("--watch", action="store_true", help="refresh the table until Ctrl-C")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    p.add_argument("--config", metavar="CONFIG", help="also probe the meters of this config")
    p.set_defaults(func=handler)


def _config_meters(path: str) -> list[Any]:
    """The validated ``meters:`` of a config, through the config loader (errors name the
    file, line and field)."""
    from bench.config.loader import load_config

    return list(load_config(path).meters)


def _fmt(v: float | None, unit: str, nd: int = 2) -> str:
    return "n/a" if v is None else f"{v:.{nd}f} {unit}"


def handler(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from bench.clock import RealClock
    from bench.meters.board import BoardReader
    from bench.meters.gencmd import take_warnings
    from bench.meters.health import flags_of
    from bench.meters.probe import discover, probe, read_once

    options = discover()
    if args.config:
        options += _config_meters(args.config)
    clock = RealClock()
    probes = probe(options, clock)
    board = BoardReader()
    sources = board.probe()
    facts = board.facts()
    for line in take_warnings():
        Console(stderr=True).print(f"warning: {line}", markup=False)

    def table() -> Table:
        t = Table(title="pibench sensors", title_justify="left")
        for col in ("meter", "source", "reading", "status", "covers"):
            t.add_column(col, overflow="fold")
        for p in probes:
            w, status = read_once(p.meter) if p.ok else (None, p.status)
            t.add_row(p.meter.label, p.meter.kind, _fmt(w, "W"), status, p.meter.covers)
        if not probes:
            t.add_row("(none)", "-", "n/a", "no power meter found on this machine", "-")
        bits = board.throttled()
        rpm, pwm = board.fan()
        health = [
            ("SoC temperature", sources["temp"], _fmt(board.temp_c(), "C", 1)),
            ("ARM clock (firmware)", sources["clock"], _fmt(board.arm_mhz(), "MHz", 0)),
            ("ARM clock requested", sources["requested_clock"],
             _fmt(board.arm_requested_mhz(), "MHz", 0)),
            ("throttled", sources["throttle"],
             "n/a" if bits is None else f"{bits:#x} {' '.join(flags_of(bits)) or 'ok'}"),
            ("fan", sources["fan"],
             "n/a" if rpm is None else f"{rpm:.0f} RPM, PWM {_fmt(pwm, '/255', 0)}"),
            ("5 V input (EXT5V_V)", sources["ext5v"], _fmt(board.ext5v_v(), "V", 3)),
            ("SoC", facts["soc_source"],
             f"{facts['soc'] or 'n/a'}, revision {facts['revision'] or 'n/a'}"),
        ]  # fmt: skip
        for name, src, value in health:
            t.add_row(name, "health", value, "ok" if src else "not available here", src or "-")
        return t

    console = Console()
    if not args.watch:
        console.print(table())
        return 0
    try:
        with Live(table(), console=console, auto_refresh=False) as live:
            while True:
                clock.sleep(max(0.1, args.interval))
                live.update(table(), refresh=True)
    except KeyboardInterrupt:
        pass
    finally:
        for p in probes:
            p.meter.close()
    return 0
