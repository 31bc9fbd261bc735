"""``pibench fleet run INVENTORY CONFIG``: one config on several Pis at once, by Ansible.

Ansible does the work, in ``fleet/site.yml`` (see the README's "Fleet" section): it installs
pibench on every Pi of the inventory group ``pis``, copies the config, runs ``pibench run``
in the background and polls it, fetches each run folder back, and ends with one merged
report and ``fleet.json`` (every Pi's outcome). This command checks here what can be
checked before any Pi is touched (the config validates, the inventory and the playbook
exist, ansible-playbook is installed), runs the playbook, and reads ``fleet.json``.

Exit codes: 0 every Pi's run finished; 1 a Pi failed or a run ended with failed cases (the
other Pis' results are fetched and merged all the same); 2 a user error; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.cli import SubParsers

SOURCE_ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = SOURCE_ROOT / "fleet" / "site.yml"
ANSIBLE_CFG = SOURCE_ROOT / "fleet" / "ansible.cfg"


def register(sub: SubParsers) -> None:
    p = sub.add_parser("fleet", help="run one config on several Pis at once (Ansible)",
                       description="Run one config on every Pi of an Ansible inventory at "
                       "once, fetch the run folders and merge them into one report.")
    fleet_sub = p.add_subparsers(dest="fleet_command", metavar="COMMAND", required=True)
    r = fleet_sub.add_parser(
        "run", help="install, run, fetch and merge on every Pi of INVENTORY",
        description="Run fleet/site.yml: install pibench on every Pi of the inventory "
        "group 'pis', run CONFIG there in the background, fetch every run folder, and "
        "write one merged report. Needs the fleet extra (ansible-core).")
    r.add_argument("inventory", metavar="INVENTORY",
                   help="an Ansible inventory (see fleet/inventory.example.yml)")
    r.add_argument("config", metavar="CONFIG", help="the run config every Pi runs")
    r.add_argument("--out", help="the output folder here (default: "
                   "results/fleet-<date>-<time>-<config>; never overwritten)")
    r.add_argument("--poll", type=float, metavar="S",
                   help="seconds between two polls of a Pi (default: the inventory's "
                   "pibench_poll_s, else 60)")
    r.add_argument("--timeout", type=float, metavar="S",
                   help="the longest a run may take (default: the inventory's "
                   "pibench_run_timeout_s, else 43200 = 12 h)")
    r.add_argument("--limit", metavar="HOSTS", help="only these hosts (Ansible's --limit)")
    r.add_argument("-e", "--extra-vars", action="append", default=[], metavar="VARS",
                   help="more Ansible variables, passed on as -e (e.g. pibench_skip_apt=true)")
    r.set_defaults(func=fleet_run_cmd)


def _ansible_playbook() -> str:
    from bench.errors import UserError

    beside = Path(sys.executable).parent / "ansible-playbook"
    found = str(beside) if os.access(beside, os.X_OK) else shutil.which("ansible-playbook")
    if not found:
        raise UserError("ansible-playbook not found: install the fleet extra "
                        "(pip install -e '.[fleet]', or bash scripts/install.sh)")
    return found


def _check_config(path: str) -> None:
    from bench.config.loader import ConfigErrors, load_config
    from bench.errors import UserError

    try:
        load_config(path)
    except ConfigErrors as exc:
        raise UserError("; ".join(exc.lines)) from None


def fleet_run_cmd(args: argparse.Namespace) -> int:
    from bench.errors import UserError

    if not PLAYBOOK.is_file():
        raise UserError(f"{PLAYBOOK} not found: pibench fleet runs from a git checkout of "
                        "pibench (the playbook is not part of the installed package)")
    if not Path(args.inventory).exists():
        raise UserError(f"{args.inventory}: inventory not found "
                        "(see fleet/inventory.example.yml)")
    _check_config(args.config)
    for name, value in (("--poll", args.poll), ("--timeout", args.timeout)):
        if value is not None and value <= 0:
            raise UserError(f"{name} {value:g}: give a number of seconds above 0")
    stem = Path(args.config).stem
    out = Path(args.out or f"results/fleet-{time.strftime('%Y%m%d-%H%M%S')}-{stem}").resolve()
    if out.exists():
        raise UserError(f"{out} exists: results are never overwritten, give another --out")
    playbook = _ansible_playbook()

    variables: dict[str, Any] = {
        "pibench_config": str(Path(args.config).resolve()),
        "fleet_out": str(out),
        "pibench_source_dir": str(SOURCE_ROOT),
        # the merged report is made by this very pibench
        "pibench_report_cmd": [sys.executable, "-m", "bench"],
    }
    if args.poll is not None:
        variables["pibench_poll_s"] = max(1, round(args.poll))
    if args.timeout is not None:
        variables["pibench_run_timeout_s"] = max(1, round(args.timeout))
    argv = [playbook, "-i", args.inventory, str(PLAYBOOK), "-e", json.dumps(variables)]
    for extra in args.extra_vars:
        argv += ["-e", extra]
    if args.limit:
        argv += ["--limit", args.limit]
    env = dict(os.environ)
    env.setdefault("ANSIBLE_CONFIG", str(ANSIBLE_CFG))
    print(f"pibench fleet: {' '.join(argv[:4])} ...  (output: {out})", flush=True)
    proc = subprocess.Popen(argv, env=env)
    try:
        rc = proc.wait()
    except KeyboardInterrupt:
        proc.wait()  # ansible-playbook got the same Ctrl-C and stops its hosts' tasks
        raise
    return summarize(out, rc)


def summarize(out: Path, playbook_rc: int) -> int:
    """Print every Pi's outcome from ``fleet.json``; the exit code of ``pibench fleet run``."""
    try:
        summary = json.loads((out / "fleet.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        print(f"pibench fleet: ansible-playbook exited {playbook_rc} before it wrote "
              f"{out / 'fleet.json'} (see its output above)", file=sys.stderr)
        return 1
    hosts: list[dict[str, Any]] = summary.get("hosts") or []
    print("\npibench fleet:")
    for h in hosts:
        where = f"  {out / 'hosts' / h['host'] / h['run_name']}" if h.get("run_name") else ""
        task = f"{h['failed_task']}: " if h.get("failed_task") else ""
        why = f"  {task}{h['error']}" if h.get("error") else ""
        print(f"  {h['host']}: {h['status']}{where}{why}")
    if summary.get("report"):
        print(f"merged report: {summary['report']}")
    if summary.get("report_error"):
        print(f"no merged report: {summary['report_error']}", file=sys.stderr)
    bad = [h["host"] for h in hosts if h.get("status") != "ok"]
    if bad:
        print(f"pibench fleet: {len(bad)} of {len(hosts)} hosts did not finish cleanly: "
              f"{', '.join(bad)}", file=sys.stderr)
    return 1 if bad or summary.get("report_error") or playbook_rc != 0 else 0
