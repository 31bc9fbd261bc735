"""environment.json: what is recorded about the machine and the code that ran."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.results.environment import collect, source_commit


def test_collect_records_the_machine_and_the_versions() -> None:
    env = collect()
    assert env["cpu_logical_cores"] >= 1 and env["memory_total_mb"] > 0
    assert env["versions"]["pibench"] and env["versions"]["pydantic"]
    assert "pibench_commit" in env


@pytest.mark.skipif(not shutil.which("git"), reason="needs git")
def test_source_commit_of_a_checkout_and_of_a_plain_folder(tmp_path: Path) -> None:
    assert source_commit(tmp_path) is None  # no .git: an installed copy says its version
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t",
                               "-c", "user.email=t@example.com", *args],
                              check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    (repo / "a.txt").write_text("a\n")
    git("add", "a.txt")
    git("commit", "-qm", "one")
    head = git("rev-parse", "HEAD")
    got = source_commit(repo)
    assert got is not None and re.fullmatch(r"[0-9a-f]{12}", got) and head.startswith(got)
    (repo / "a.txt").write_text("changed\n")
    assert source_commit(repo) == f"{got}-dirty"
