"""``pibench fleet run``: the Ansible playbook fleet/site.yml against pretend Pis.

The pretend Pis are sshd processes in network namespaces made by the test (tests/
fleet_hosts.py), each with its own host name and board facts from tests/data/fleet/<host>/,
running the mock backend on a real clock. Three hosts run the same config; the sshd of one
of them is killed while its run goes on. The other two must be fetched whole and merged into
one report, and the killed one named with the reason.

What the install step does here: the `venv` method of fleet/roles/pibench_install, i.e. the
controller's `git archive` of this checkout is copied to the host, unpacked, and installed
with `pip install --no-deps` into a per-host venv whose dependencies come from the test's
own environment (a .pth file). scripts/pi-setup.sh, the method for real Pis, is not run here
(it needs apt, the Hailo packages and a 30-minute llama.cpp build).

Needs root (namespaces, sshd), sshd and ansible-core (scripts/test.sh installs both); skips
with the reason otherwise, and fails instead under PIBENCH_REQUIRE_FLEET=1 (set by
scripts/test.sh when it runs as root).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_pibench
from tests.fleet_hosts import NamespaceHost, free_subnet, keygen, missing

DATA = ROOT / "tests" / "data" / "fleet"
CONFIG = DATA / "fleet-mock.yaml"
HOSTS = ["pi-a", "pi-b", "pi-c"]
KILLED = "pi-c"


def _ansible_playbook() -> str | None:
    beside = Path(sys.executable).parent / "ansible-playbook"
    return str(beside) if beside.exists() else shutil.which("ansible-playbook")


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("PIBENCH_REQUIRE_FLEET") == "1":
        pytest.fail(f"PIBENCH_REQUIRE_FLEET=1 but: {reason}")
    pytest.skip(reason)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[dict]:
    """Three namespace hosts and an inventory for them; everything removed afterwards."""
    if not _ansible_playbook():
        _skip_or_fail("ansible-playbook not installed (the fleet extra: pip install -e '.[fleet]')")
    reason = missing()
    if reason:
        _skip_or_fail(reason)
    client_pub = keygen(tmp_path / "client_key")
    subnet = free_subnet()
    hosts: list[NamespaceHost] = []
    try:
        for i, name in enumerate(HOSTS):
            host = NamespaceHost(name, i, subnet, tmp_path / name / "sshd", DATA / name,
                                 client_pub)
            hosts.append(host)
            host.start()
            # the host's venv: its own prefix (pip installs pibench there), pibench's
            # dependencies from the test's environment
            venv = tmp_path / name / "venv"
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)],
                           check=True)
            (site,) = (venv / "lib").glob("python*/site-packages")
            (site / "_pibench_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text("".join(f"{h.address} {h.host_key_pub}\n" for h in hosts))
        inventory = {"pis": {
            "hosts": {h.name: {
                "ansible_host": h.address,
                "ansible_python_interpreter": str(tmp_path / h.name / "venv/bin/python"),
                "ansible_remote_tmp": str(tmp_path / h.name / "ansible-tmp"),
                "ansible_async_dir": str(tmp_path / h.name / "ansible-async"),
                "pibench_home": str(tmp_path / h.name / "home"),
                "pibench_venv": str(tmp_path / h.name / "venv"),
            } for h in hosts},
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(tmp_path / "client_key"),
                "ansible_ssh_common_args": f"-o UserKnownHostsFile={known_hosts} "
                "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
                "pibench_install": "venv",
                "pibench_connect_timeout_s": 20,
            },
        }}
        inv_path = tmp_path / "inventory.yml"
        inv_path.write_text(json.dumps(inventory, indent=1))  # JSON is YAML
        yield {"hosts": {h.name: h for h in hosts}, "inventory": inv_path, "tmp": tmp_path}
    finally:
        for host in hosts:
            host.stop()


def _cases_written(host_root: Path) -> int:
    """Case lines the host's running pibench has written so far (shared file system)."""
    found = list(host_root.glob("home/fleet/*/results/*/cases.jsonl"))
    return found[0].read_text().count("\n") if found else 0


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_fleet_run_keeps_the_others_when_one_host_dies(fleet: dict) -> None:
    tmp: Path = fleet["tmp"]
    out = tmp / "fleet-out"
    # ssh's control sockets in a short folder: a unix socket path has at most 107 bytes
    control_dir = tempfile.mkdtemp(prefix="pbcp")
    env = {**os.environ, "ANSIBLE_HOME": str(tmp / "ansible-home"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_SSH_CONTROL_PATH_DIR": control_dir}
    log = open(tmp / "fleet.log", "w")  # noqa: SIM115 (the playbook's output, for a failure)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "fleet", "run", str(fleet["inventory"]), str(CONFIG),
         "--out", str(out), "--poll", "1", "--timeout", "300"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    killed_host: NamespaceHost = fleet["hosts"][KILLED]
    try:
        # kill pi-c's sshd once its run has finished a case but not the whole run
        deadline = time.monotonic() + 240
        while _cases_written(tmp / KILLED) < 1:
            assert proc.poll() is None, (tmp / "fleet.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "pi-c's run wrote no case in 240 s"
            time.sleep(0.2)
        (run_c,) = (tmp / KILLED).glob("home/fleet/*/results/*")
        assert _json(run_c / "run.json")["status"] == "running"
        assert killed_host.kill_sshd(), "no sshd process to kill"
        rc = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
        for socket_path in Path(control_dir).iterdir():  # the ssh masters Ansible left
            subprocess.run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "host"],
                           capture_output=True, timeout=30)
        shutil.rmtree(control_dir, ignore_errors=True)
    output = (tmp / "fleet.log").read_text()
    assert rc == 1, output[-3000:]

    summary = _json(out / "fleet.json")
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert summary["commit"] == head  # the commit every host installed
    by_host = {h["host"]: h for h in summary["hosts"]}
    assert sorted(by_host) == HOSTS
    assert summary["failed"] == [KILLED]
    assert by_host[KILLED]["status"] == "failed"
    assert "unreachable" in by_host[KILLED]["error"], by_host[KILLED]
    assert f"{KILLED}: failed" in output  # the wrapper names it too
    assert not list((out / "hosts").glob(f"{KILLED}/*/cases.jsonl"))

    planned = None
    rows = 0
    for name in ("pi-a", "pi-b"):
        result = by_host[name]
        assert result["status"] == "ok" and result["exit_code"] == 0, result
        fetched = out / "hosts" / name / result["run_name"]
        assert Path(result["run_dir"]) == fetched
        remote = Path(result["remote_run_dir"])
        assert remote.is_relative_to(tmp / name / "home")  # run on that host, fetched here
        run = _json(fetched / "run.json")
        assert run["status"] == "finished" and run["cases_failed"] == 0
        assert run["cases_ok"] == len(run["planned"]) == 4
        planned = planned or run["planned"]
        assert run["planned"] == planned
        # the whole folder came back, byte for byte
        assert sorted(p.name for p in fetched.iterdir()) == sorted(p.name for p in remote.iterdir())
        assert (fetched / "cases.jsonl").read_bytes() == (remote / "cases.jsonl").read_bytes()
        cases = [json.loads(line) for line in (fetched / "cases.jsonl").read_text().splitlines()]
        assert [c["status"] for c in cases] == ["ok"] * 4
        # the board facts of that host (its fixture), read by pibench on that host
        environment = _json(fetched / "environment.json")
        assert environment["host"] == name
        assert environment["cpu"] == "Raspberry Pi 5 Model B Rev 1.0"
        # installed from a git archive (no .git): the commit the playbook passed, with its source
        assert environment["pibench_commit"] == head[:12]
        assert environment["system"]["pibench_commit"] == head[:12]
        assert environment["system"]["pibench_commit_source"].startswith("PIBENCH_COMMIT")
        os_release = (DATA / name / "os-release").read_text().splitlines()[0]
        assert os_release == f'PRETTY_NAME="{environment["os_release"]}"'
        rows += len(_json(fetched / "report.json")["rows"])
    environments = [_json(Path(by_host[n]["run_dir"]) / "environment.json")
                    for n in ("pi-a", "pi-b")]
    assert environments[0]["os_release"] != environments[1]["os_release"]

    # one merged report over the two fetched runs
    assert summary["report"] == str(out / "report" / "report.md")
    merged = _json(out / "report" / "report.json")
    assert len(merged["rows"]) == rows > 0
    assert "pi-a, pi-b" in merged["title"]
    assert (out / "report" / "report.md").read_text().count("simulated") >= rows
    # which row is which: the host on every row, each case of the two Pis side by side
    assert sorted({r["host"] for r in merged["rows"]}) == ["pi-a", "pi-b"]
    names = {by_host[n]["run_name"] for n in ("pi-a", "pi-b")}
    if len(names) < 2:  # runs of the same second share a name: the report uses their paths
        names = {by_host[n]["run_dir"] for n in ("pi-a", "pi-b")}
    assert {r["run"] for r in merged["rows"]} == names
    md = (out / "report" / "report.md").read_text()
    assert "| run " in md.split("\n## ")[0] and "| host " in md.split("\n## ")[0]
    side = md.split("## Same case across hosts", 1)[1].split("\n## ", 1)[0]
    assert "pi-a: tg t/s" in side and "pi-b: tg t/s" in side
    page = (out / "report" / "report.html").read_text()  # the same, as one HTML page
    assert all(f"<code>{n}</code>" in page for n in names)  # as the rows name the runs
    # its System section: one line per run naming what differs (host, OS from the fixture)
    system = (out / "report" / "report.md").read_text().split("## System", 1)[1]
    per_run = system.split("What differs, per run:", 1)[1].splitlines()
    for name, env in zip(("pi-a", "pi-b"), environments, strict=True):
        line = next(ln for ln in per_run if f"host {name};" in ln)
        assert f"`{by_host[name]['run_name']}`" in line or by_host[name]["run_name"] in line
        assert env["system"]["os_release"] in line


@pytest.mark.slow
def test_playbook_syntax() -> None:
    playbook = _ansible_playbook()
    if not playbook:
        _skip_or_fail("ansible-playbook not installed (the fleet extra)")
    out = subprocess.run(
        [playbook, "--syntax-check", "-i", str(ROOT / "fleet" / "inventory.example.yml"),
         str(ROOT / "fleet" / "site.yml")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "fleet" / "ansible.cfg")})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "playbook: " in out.stdout


def test_fleet_run_refuses_bad_input_before_touching_a_host(tmp_path: Path,
                                                            write_config) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("pis: {hosts: {pi-x: {ansible_host: 192.0.2.1}}}\n")
    missing_inv = run_pibench("fleet", "run", str(tmp_path / "nope.yml"), str(CONFIG))
    assert missing_inv.returncode == 2
    assert missing_inv.stderr.strip() == (f"pibench: error: {tmp_path / 'nope.yml'}: inventory "
                                          "not found (see fleet/inventory.example.yml)")
    bad = write_config("name: x\nmodels: []\nbackends: []\nworkloads: []\nrepetitons: 2\n")
    bad_config = run_pibench("fleet", "run", str(inventory), str(bad))
    assert bad_config.returncode == 2
    assert f"{bad}:5: repetitons" in bad_config.stderr
    assert len(bad_config.stderr.strip().splitlines()) == 1 and "Traceback" not in bad_config.stderr
    taken = tmp_path / "taken"
    taken.mkdir()
    exists = run_pibench("fleet", "run", str(inventory), str(CONFIG), "--out", str(taken))
    assert exists.returncode == 2
    assert exists.stderr.strip() == (f"pibench: error: {taken} exists: results are never "
                                     "overwritten, give another --out")


def test_summary_exit_codes(tmp_path: Path, capsys) -> None:
    """What `pibench fleet run` prints and returns from the fleet.json the playbook wrote."""
    from bench.cli.fleet import summarize

    ok = {"host": "pi-a", "status": "ok", "exit_code": 0, "run_name": "R1", "error": ""}
    cases_failed = {"host": "pi-b", "status": "run exited 1", "exit_code": 1,
                    "run_name": "R2", "error": "1 case(s) failed (see the error column)"}
    summary = {"hosts": [ok], "failed": [], "report": str(tmp_path / "report" / "report.md"),
               "report_error": None}
    (tmp_path / "fleet.json").write_text(json.dumps(summary))
    assert summarize(tmp_path, 0) == 0
    out = capsys.readouterr().out
    assert f"pi-a: ok  {tmp_path / 'hosts' / 'pi-a' / 'R1'}" in out
    assert f"merged report: {tmp_path / 'report' / 'report.md'}" in out

    summary["hosts"] = [ok, cases_failed]
    (tmp_path / "fleet.json").write_text(json.dumps(summary))
    assert summarize(tmp_path, 0) == 1
    captured = capsys.readouterr()
    assert "pi-b: run exited 1" in captured.out and "1 case(s) failed" in captured.out
    assert "1 of 2 hosts did not finish cleanly: pi-b" in captured.err

    (tmp_path / "fleet.json").unlink()
    assert summarize(tmp_path, 4) == 1
    assert "ansible-playbook exited 4 before it wrote" in capsys.readouterr().err


def test_a_copy_without_git_records_the_commit_the_playbook_passes(tmp_path: Path, write_config,
                                                                   cli, monkeypatch) -> None:
    """A fleet host installs pibench from the controller's `git archive` (no .git there): the
    playbook's `pibench run` gets the controller's commit as PIBENCH_COMMIT, and
    environment.json records it with that source (the slow test checks it on the hosts)."""
    import yaml

    from bench.results import environment
    from tests.conftest import SIM_CONFIG

    tasks = yaml.safe_load((ROOT / "fleet/roles/pibench_run/tasks/main.yml").read_text())
    (start,) = [t for t in tasks if "'run'" in str(t.get("ansible.builtin.command", {}))]
    assert start["async"] and start["environment"] == {"PIBENCH_COMMIT": "{{ fleet_commit }}"}
    site = (ROOT / "fleet/site.yml").read_text()
    assert "fleet_commit: \"{{ lookup('ansible.builtin.pipe', 'git -C ' ~ (fleet_src | quote) " \
        "~ ' rev-parse HEAD') }}\"" in site  # the commit the archive is made of

    copy = tmp_path / "copy"  # the installed source of a fleet host: no .git
    copy.mkdir()
    monkeypatch.setattr(environment, "SOURCE_ROOT", copy)
    head = "0123456789abcdef0123456789abcdef01234567"
    config = write_config(SIM_CONFIG, "a.yaml")

    def run(out: str) -> dict:
        code, _, err = cli("run", config, "--output", tmp_path / out, "--quiet")
        assert code == 0, err
        (run_dir,) = (tmp_path / out).iterdir()
        return _json(run_dir / "environment.json")

    monkeypatch.setenv("PIBENCH_COMMIT", head)
    env = run("given")
    assert env["pibench_commit"] == env["system"]["pibench_commit"] == head[:12]
    assert env["system"]["pibench_commit_source"] == (
        "PIBENCH_COMMIT (set by the fleet playbook: the controller's commit, installed from "
        "its git archive)")
    assert "pibench_commit" not in env["system"]["unavailable"]
    md = (next((tmp_path / "given").iterdir()) / "report.md").read_text()
    assert f"commit {head[:12]}" in md  # the System section shows it

    monkeypatch.setenv("PIBENCH_COMMIT", "not a hash; rm -rf /")
    env = run("bad")
    assert env["pibench_commit"] is None and env["system"]["pibench_commit_source"] is None
    assert "is no commit hash" in env["system"]["unavailable"]["pibench_commit"]
    monkeypatch.delenv("PIBENCH_COMMIT")
    env = run("none")
    assert env["system"]["unavailable"]["pibench_commit"] == (
        "not a git checkout, no PIBENCH_COMMIT (the version says which release)")
