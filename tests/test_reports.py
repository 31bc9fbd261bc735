"""Reports (Markdown, CSV, JSON) and compare, from real run folders of the mock device."""

from __future__ import annotations

import csv
import io
import json

from bench.report.compare import verdict
from bench.runner.session import start_run
from tests.conftest import SIM_CONFIG


def _run(write_config, tmp_path, text=SIM_CONFIG, name="a"):
    return start_run(write_config(text, f"{name}.yaml"), output_dir=tmp_path / name, quiet=True)


def test_report_tables_and_files(write_config, tmp_path, cli):
    run = _run(write_config, tmp_path)
    code, out, _ = cli("report", run.run_dir.path, "--out", tmp_path / "rep")
    assert code == 0
    assert ("| model" in out and "| pp100" in out.replace(" ", "")) or "pp100" in out
    # a llama-bench-like row: test and mean ± sd
    row = next(line for line in out.splitlines() if "npu" in line and "tg50" in line
               and "Qwen2-1.5B" in line)
    assert "8.18" in row and "simulated" in row
    # prompt speed not modelled by the Hailo profile: n/a, never 0
    pp_row = next(line for line in out.splitlines() if "npu" in line and "pp100" in line
                  and "Qwen2-1.5B" in line)
    assert "n/a" in pp_row and " 0.00 " not in pp_row
    assert "simulated: figures from a simulated device" in out
    files = sorted(p.name for p in (tmp_path / "rep").iterdir())
    assert files == ["report.csv", "report.json", "report.md"]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "rep" / "report.csv").read_text())))
    assert len(rows) == 8
    npu = next(r for r in rows if r["case_id"] == "Qwen2-1.5B-Instruct/npu/pp100-tg50")
    assert float(npu["gen_tps_median"]) == 8.18
    assert npu["prompt_tps_median"] == ""  # not measured: empty, not 0
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert len(data["rows"]) == 8
    # a second report never overwrites the first
    cli("report", run.run_dir.path, "--out", tmp_path / "rep")
    assert (tmp_path / "rep" / "report-2.md").exists()


def test_report_shows_failures(write_config, tmp_path, cli):
    text = SIM_CONFIG.replace("{profile: hailo10h, jitter: 0}",
                              "{profile: hailo10h, jitter: 0, fail: {at: load}}")
    run = _run(write_config, tmp_path, text)
    assert run.exit_code == 1
    code, out, _ = cli("report", run.run_dir.path, "--no-write")
    assert code == 0
    assert "FAILED: simulated failure" in out


def test_compare_flags_only_real_differences(write_config, tmp_path, cli):
    base = SIM_CONFIG.replace("jitter: 0}", "jitter: 0.02}")
    a = _run(write_config, tmp_path, base, "a")
    # another seed: other jitter, same device; differences must stay within the noise
    same = _run(write_config, tmp_path, base.replace("jitter: 0.02}", "jitter: 0.02, seed: 7}"),
                "b")
    slower = base.replace("profile: hailo10h", f"profile: {_slow_profile(tmp_path)}")
    c = _run(write_config, tmp_path, slower, "c")
    code, out, _ = cli("compare", a.run_dir.path, same.run_dir.path)
    assert code == 0
    rows = [x for x in out.splitlines() if "/pp100-tg50" in x or "/chat" in x]
    assert len(rows) == 8
    assert not any("WORSE" in x or "better" in x for x in rows), rows
    code, out, _ = cli("compare", a.run_dir.path, c.run_dir.path)
    line = next(x for x in out.splitlines() if "Qwen2-1.5B-Instruct/npu/pp100-tg50" in x)
    assert "0.500" in line and "WORSE" in line


def _slow_profile(tmp_path):
    from bench.backends.mock.profile import PROFILE_DIR

    text = (PROFILE_DIR / "hailo10h.yaml").read_text()
    text = text.replace("gen_tps: 8.18", "gen_tps: 4.09")
    p = tmp_path / "slow.yaml"
    p.write_text(text)
    return p


def test_verdict_rules():
    a = {"mean": 10.0, "median": 10.0, "stddev": 0.1, "n": 5}
    b = {"mean": 10.05, "median": 10.05, "stddev": 0.1, "n": 5}
    assert verdict(a, b, True)[1] == "~"
    c = {"mean": 12.0, "median": 12.0, "stddev": 0.1, "n": 5}
    assert verdict(a, c, True) == (1.2, "better")
    assert verdict(a, c, False)[1] == "WORSE"
    assert verdict(a, {"mean": 12.0, "median": 12.0, "stddev": None, "n": 1}, True)[1] == "?"
    assert verdict(None, c, True) == (None, "n/a")


POWER_CONFIG = """
name: pw
clock: virtual
repetitions: 3
idle_s: 2
models:
  - {name: Qwen2-1.5B-Instruct}
backends:
  - {name: cpu, type: mock, options: {profile: pi5-cpu, jitter: 0}}
  - {name: npu, type: mock, options: {profile: hailo10h, jitter: 0}}
workloads:
  - {name: pp64-tg64, prompt_tokens: 64, gen_tokens: 64}
meters:
  - {type: mock, rate_hz: 20}
"""


def test_power_columns_from_the_simulated_meter(write_config, tmp_path, cli):
    import pytest

    run = start_run(write_config(POWER_CONFIG), output_dir=tmp_path, quiet=True)
    recs = {r["case_id"]: r for r in run.run_dir.cases()}
    npu = recs["Qwen2-1.5B-Instruct/npu/pp64-tg64"]
    p = npu["power"][0]
    assert p["simulated"] is True and "simulated power" not in npu["labels"]
    # Hailo profile: 7.0 W busy, 4.0 W idle; a request lasts 0.32 + 63 / 8.18 s
    assert p["generation"]["mean_w"] == pytest.approx(7.0, rel=0.02)
    assert p["idle"]["mean_w"] == pytest.approx(4.0, rel=0.02)
    request_s = 0.32 + 63 / 8.18
    assert p["j_per_token"] == pytest.approx(7.0 * request_s / 64, rel=0.03)
    code, out, _ = cli("report", run.run_dir.path, "--no-write")
    assert code == 0
    row = next(x for x in out.splitlines() if "| npu" in x and "tg64" in x and "mock" in x)
    assert "7.00" in row and "(simulated)" in row
