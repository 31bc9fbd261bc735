"""`pibench report RUN_A RUN_B` of runs from two hosts: run, host and board columns where the
runs differ, the same case side by side across the hosts, and run/host/board in CSV and JSON
always. The two hosts' board facts are fixtures (tests/fakes/pi5.py, read by the system
context's own reader as in tests/test_system_context.py): a Pi 5 8GB as pi-a and the same
board with a 4GB revision code as pi-b, written into each mock run's environment.json."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from bench.meters.gencmd import open_gencmd
from bench.report.merged import groups
from bench.report.rows import Origin
from bench.results.system import collect_system
from tests.conftest import SIM_CONFIG
from tests.fakes.pi5 import pi5_system_firmware, pi5_system_tree

PI_8GB = "Pi 5 8GB rev 1.0"
PI_4GB = "Pi 5 4GB rev 1.0"


def pi_system(root: Path, revision: str = "d04170") -> dict[str, Any]:
    """The system context of the fixture Pi 5 (8 GB: d04170), with another revision code."""
    tree = pi5_system_tree(root)
    cpuinfo = tree / "proc" / "cpuinfo"
    cpuinfo.write_text(cpuinfo.read_text().replace("d04170", revision))
    return collect_system(str(tree), ask=open_gencmd("mailbox", ["vcgencmd"],
                                                     io=pi5_system_firmware()),
                          argv=["pibench", "run", "sim.yaml"], versions={"pibench": "0.1.0"})


def as_host(run: Path, host: str, system: dict[str, Any]) -> None:
    """Make a mock run look like one made on ``host`` with that system context."""
    env_path = run / "environment.json"
    env = json.loads(env_path.read_text())
    env.update(host=host, system=system)
    env_path.write_text(json.dumps(env))


def mock_run(cli: Any, config: Path, out: Path) -> Path:
    code, _, err = cli("run", config, "--output", out, "--quiet")
    assert code == 0, err
    (run,) = out.iterdir()
    return run


def two_hosts(tmp_path: Path, cli: Any, write_config: Any,
              second_revision: str = "c04170") -> tuple[Path, Path]:
    config = write_config(SIM_CONFIG, "sim.yaml")
    run_a = mock_run(cli, config, tmp_path / "pi-a")
    run_b = mock_run(cli, config, tmp_path / "pi-b")
    as_host(run_a, "pi-a", pi_system(tmp_path / "sys-a"))
    as_host(run_b, "pi-b", pi_system(tmp_path / "sys-b", second_revision))
    return run_a, run_b


def table(md: str, heading_line: str) -> list[list[str]]:
    """The cells of the first Markdown table after the line ``heading_line`` (or from the
    start for "")."""
    start = md.index(heading_line) + len(heading_line) if heading_line else 0
    rows = []
    for line in md[start:].splitlines():
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif rows:
            break
    return [rows[0], *rows[2:]]  # without the separator line


def test_two_hosts_report_says_which_row_is_which(tmp_path: Path, cli, write_config) -> None:  # type: ignore[no-untyped-def]
    run_a, run_b = two_hosts(tmp_path, cli, write_config)
    code, out, err = cli("report", run_a, run_b, "--out", tmp_path / "rep")
    assert code == 0, err
    md = (tmp_path / "rep" / "report.md").read_text()
    assert out.startswith(md.split("\n## System")[0])  # printed as written

    # the llama-bench table: run, host and board in front, each row says where it comes from
    names = [run_a.name, run_b.name] if run_a.name != run_b.name else [str(run_a), str(run_b)]
    bench = table(md, "")
    assert bench[0][:4] == ["run", "host", "board", "model"]
    rows = bench[1:]
    assert len(rows) == 2 * 8 * 2  # 2 hosts x 8 cases (2 models, backends, workloads) x pp, tg
    assert {tuple(r[:3]) for r in rows} == {(names[0], "pi-a", PI_8GB),
                                            (names[1], "pi-b", PI_4GB)}
    assert sum(1 for r in rows if r[1] == "pi-a") == len(rows) // 2
    # the per-model comparison too
    comparison = table(md, "## Per model: devices compared")
    assert comparison[0][:4] == ["run", "host", "board", "model"]
    assert {r[1] for r in comparison[1:]} == {"pi-a", "pi-b"}

    # side by side: one row per case, one pp and tg column per host (host / board label)
    side = table(md, "## Same case across hosts")
    assert side[0] == ["case", f"pi-a / {PI_8GB}: pp t/s", f"pi-a / {PI_8GB}: tg t/s",
                       f"pi-b / {PI_4GB}: pp t/s", f"pi-b / {PI_4GB}: tg t/s"]
    cases = [json.loads(x)["case_id"] for x in (run_a / "cases.jsonl").read_text().splitlines()]
    assert [r[0] for r in side[1:]] == cases
    # each cell is that host's figure of that case: the first table's t/s of the same row
    col = {name: i for i, name in enumerate(bench[0])}
    model, backend, _ = cases[0].split("/")
    tps = col["t/s median (min–max)"]
    (tg,) = [r[tps] for r in rows if r[col["host"]] == "pi-b" and r[col["model"]] == model
             and r[col["backend"]] == backend and r[col["test"]].startswith("tg")
             and r[col["test"]] != "chat tg≤20"]
    assert side[1][4] == tg != "n/a"
    assert "- run, host, board: where a row comes from" in md

    # CSV and JSON: run, host, board on every row
    rows_json = json.loads((tmp_path / "rep" / "report.json").read_text())["rows"]
    assert {(r["run"], r["host"], r["board"]) for r in rows_json} == {
        (names[0], "pi-a", PI_8GB), (names[1], "pi-b", PI_4GB)}
    rows_csv = list(csv.DictReader(io.StringIO((tmp_path / "rep" / "report.csv").read_text())))
    assert list(rows_csv[0])[:4] == ["case_id", "run", "host", "board"]
    assert [(r["host"], r["board"]) for r in rows_csv] == [(r["host"], r["board"])
                                                           for r in rows_json]


def test_same_board_on_two_hosts_has_no_board_column(tmp_path: Path, cli, write_config) -> None:  # type: ignore[no-untyped-def]
    run_a, run_b = two_hosts(tmp_path, cli, write_config, second_revision="d04170")
    code, _, err = cli("report", run_a, run_b, "--no-write")
    assert code == 0, err
    _, out, _ = cli("report", run_a, run_b, "--no-write")
    assert table(out, "")[0][:3] == ["run", "host", "model"]
    side = table(out, "## Same case across hosts")
    assert side[0][1:3] == ["pi-a: pp t/s", "pi-a: tg t/s"]
    assert "- run, host: where a row comes from" in out


def test_one_run_has_no_origin_columns_but_its_csv_has_them(tmp_path: Path, cli,  # type: ignore[no-untyped-def]
                                                            write_config) -> None:
    run = mock_run(cli, write_config(SIM_CONFIG, "sim.yaml"), tmp_path / "one")
    md = (run / "report.md").read_text()
    assert table(md, "")[0][0] == "model" and "Same case across" not in md
    rows = json.loads((run / "report.json").read_text())["rows"]
    env = json.loads((run / "environment.json").read_text())
    # this machine is no Pi (or its board is recorded): the board is what its system says
    board = env["system"]["board_model"]
    assert {(r["run"], r["host"]) for r in rows} == {(run.name, env["host"])}
    assert all(r["board"] == board or (board and r["board"].startswith(board)) for r in rows)
    header = (run / "report.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["case_id", "run", "host", "board"]


def test_two_runs_of_one_host_are_told_apart_by_their_run(tmp_path: Path, cli,  # type: ignore[no-untyped-def]
                                                          write_config) -> None:
    config = write_config(SIM_CONFIG, "sim.yaml")
    run_a, run_b = mock_run(cli, config, tmp_path / "a"), mock_run(cli, config, tmp_path / "b")
    _, out, _ = cli("report", run_a, run_b, "--no-write")
    assert table(out, "")[0][:2] == ["run", "model"]
    side = table(out, "## Same case across runs")
    label = run_a.name if run_a.name != run_b.name else str(run_a)
    assert side[0][1] == f"{label}: pp t/s"


def test_groups_name_runs_by_what_tells_them_apart() -> None:
    def rec(run: str, host: str | None, board: str | None) -> dict[str, Any]:
        return {"case_id": "m/b/w", "_origin": {"run": run, "host": host, "board": board}}

    # two runs of pi-a and one of pi-b: the host alone does not tell pi-a's apart
    got = groups([rec("r1", "pi-a", "B"), rec("r2", "pi-a", "B"), rec("r3", "pi-b", "B")])
    assert [g.label for g in got] == ["pi-a / r1", "pi-a / r2", "pi-b / r3"]
    assert got[0].origin == Origin("r1", "pi-a", "B")
    # a host that recorded no board: n/a, never guessed
    got = groups([rec("r1", "pi-a", None), rec("r2", "pi-b", "B")])
    assert [g.label for g in got] == ["pi-a / n/a", "pi-b / B"]
