"""``pibench doctor``: the first command on a Pi with the AI HAT+ 2.

    pibench doctor [--hef PATH] [--tokens N] [--out FILE]

Checks HailoRT and its driver (versions and their match), the Hailo-10H (present, free or held
by hailo-ollama), the LLM/VLM signatures, a short real generation on a HEF (the stream
invariants pibench's NPU counts rely on), PMIC and throttle readings, and the fan. One line per
check, a fix under each failure; exit 0 when everything holds, 1 otherwise. ``--out`` writes
the JSON bundle to attach to a bug report (docs/doctor.md).
"""

from __future__ import annotations

import argparse

from bench.cli import SubParsers


def register(sub: SubParsers) -> None:
    p = sub.add_parser("doctor", help="check a Pi with the AI HAT+ 2 against what pibench needs",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hef", help="the HEF for the short generation (default: the first zoo "
                   "LLM HEF in ~/.cache/pibench/hef)")
    p.add_argument("--tokens", type=int, default=8, help="tokens to generate (default 8)")
    p.add_argument("--out", help="write the JSON bundle there (never overwrites)")
    p.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench.doctor.result import all_hold, render, write_bundle
    from bench.doctor.run import diagnose
    from bench.doctor.system import System
    from bench.errors import UserError

    if args.tokens < 2:
        raise UserError(f"--tokens {args.tokens}: give at least 2")
    checks = diagnose(System(), Path(args.hef).expanduser() if args.hef else None, args.tokens)
    print(render(checks))
    holds = all_hold(checks)
    print("everything pibench relies on holds" if holds else
          "pibench doctor: something is wrong (FAIL lines above)")
    if args.out:
        print(f"bundle: {write_bundle(checks, Path(args.out).expanduser())}")
    return 0 if holds else 1
