"""One statistic, one clock (issue 14): the ✓ line, report.md (the llama-bench table and the
device comparison), report.csv, report.json and the plot data show the same figure for the
same case — the median over the repetitions on the harness clock (bench.report.columns)."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics

from bench.plots.data import metric_bars
from bench.report.columns import figure
from bench.report.markdown import bench_table, comparison_table
from bench.results.reader import read_cases

CONFIG = """
name: one
clock: virtual
repetitions: 4
warmup: 0
models:
  - {name: Qwen2-1.5B-Instruct, params_b: 1.54}
backends:
  - {name: cpu, type: mock, options: {profile: pi5-cpu, jitter: 0.2, seed: 3}}
workloads:
  - {name: long, kind: throughput, prompt_tokens: 64, gen_tokens: 16}
"""


def _cells(table: str, *needles: str) -> list[str]:
    row = next(line for line in table.splitlines() if all(n in line for n in needles))
    return [c.strip() for c in row.split("|")[1:-1]]


def test_the_same_figure_everywhere(write_config, tmp_path, cli):
    cfg = write_config(CONFIG)
    code, _, err = cli("run", cfg, "--output", tmp_path / "out")
    assert code == 0, err
    run_dir = next((tmp_path / "out").iterdir())
    [record] = read_cases(run_dir / "cases.jsonl")
    reps = [r["gen_tps"] for r in record["reps"]]
    median, mean = statistics.median(reps), statistics.mean(reps)
    shown = f"{median:.2f}"
    assert f"{mean:.2f}" != shown  # the jitter makes mean and median differ: a real check
    fig = figure(record, "gen_tps")
    assert fig is not None and fig.source == "harness clock" and fig.n == 4
    assert fig.value == record["summary"]["gen_tps"]["median"]
    assert abs(fig.value - median) < 1e-3

    # the ✓ line: the median, its statistic, n and clock said
    tick = next(line for line in err.splitlines()
                if line.startswith("  ✓ Qwen2-1.5B-Instruct/cpu/long"))
    m = re.search(r"tg (\S+) \((\S+)–(\S+)\) t/s \(median, n=4, harness clock\)", tick)
    assert m, tick
    assert m.group(1) == shown
    assert (m.group(2), m.group(3)) == (f"{min(reps):.2f}", f"{max(reps):.2f}")

    # report.md: the llama-bench table and the device comparison
    md = (run_dir / "report.md").read_text()
    header = _cells(md, "| model", "| test")
    row = _cells(md, "| Qwen2-1.5B-Instruct ", "tg16")
    assert row[header.index("t/s median (min–max)")].startswith(shown + " (")
    assert row[header.index("n")] == "4"
    assert row[header.index("runtime t/s median")] == "n/a"  # the mock has no counters
    comp_header = _cells(comparison_table([record]), "| model", "tg t/s (median)")
    comp = _cells(comparison_table([record]), "| Qwen2-1.5B-Instruct ")
    assert comp[comp_header.index("tg t/s (median)")] == shown
    assert "t/s, TTFT: median over the measured repetitions (min–max), harness clock" in md
    assert _cells(bench_table([record]), "tg16") == row

    # report.csv and report.json: the raw median, and the clock it was read on
    [csv_row] = csv.DictReader(io.StringIO((run_dir / "report.csv").read_text()))
    assert f"{float(csv_row['gen_tps_median']):.2f}" == shown
    assert csv_row["clock"] == "harness clock" and csv_row["internal_clock"] == ""
    data = json.loads((run_dir / "report.json").read_text())
    assert f"{data['rows'][0]['gen_tps_median']:.2f}" == shown
    assert data["figures"]["statistic"].startswith("median")
    assert "harness clock" in data["figures"]["clock"]

    # the bar plot's data
    [bar] = metric_bars([(run_dir.name, [record])], "gen_tps")
    assert f"{bar.value:.2f}" == shown and bar.n == 4 and bar.source == "harness clock"
    assert (bar.lo, bar.hi) == (fig.lo, fig.hi)


def test_a_runtime_counter_is_its_own_column_never_the_figure(write_config, tmp_path, cli):
    """A case with perf counters: the t/s column stays on the harness clock; the counters
    are in the runtime columns, labelled."""
    cfg = write_config(CONFIG)
    assert cli("run", cfg, "--output", tmp_path / "out")[0] == 0
    [record] = read_cases(next((tmp_path / "out").iterdir()) / "cases.jsonl")
    record["summary"]["internal_gen_tps"] = {
        "mean": 99.0, "median": 98.0, "stddev": 1.0, "min": 97.0, "max": 100.0, "n": 4,
        "unit": "tokens/s", "source": "llama.cpp perf counters"}
    table = bench_table([record])
    header, row = _cells(table, "| model"), _cells(table, "tg16")
    assert row[header.index("t/s median (min–max)")].startswith(
        f"{record['summary']['gen_tps']['median']:.2f}")
    assert row[header.index("runtime t/s median")] == "98.00 (97.00–100.00)"
    assert row[header.index("runtime clock")] == "llama.cpp perf counters"


def test_the_test_names_the_workload_when_two_give_the_same_test(write_config, tmp_path, cli):
    cfg = write_config(CONFIG + "  - {name: short, kind: throughput, prompt_tokens: 64, "
                                "gen_tokens: 8}\n")
    assert cli("run", cfg, "--output", tmp_path / "out")[0] == 0
    records = read_cases(next((tmp_path / "out").iterdir()) / "cases.jsonl")
    # a deep case as a llama.cpp backend records it (the mock takes no depth)
    deep = json.loads(json.dumps(records[1]))
    deep["case_id"], deep["workload"]["name"] = "Qwen2-1.5B-Instruct/cpu/deep", "deep"
    deep["workload"]["depth"] = 512
    table = bench_table([*records, deep])
    tests = [_cells(table, "| Qwen2-1.5B-Instruct ", t)[6] for t in ("pp64 [long]", "pp64 [short]")]
    assert tests == ["pp64 [long]", "pp64 [short]"]
    # both tests of a case named so carry its workload; the deep case's tests are unique
    assert "| tg16 [long] " in table and "| tg8 [short] " in table
    assert "| pp64 @ d512 " in table and "| tg8 @ d512 " in table
    assert "| tg16 [long] " in comparison_table(records)
    assert "[" not in comparison_table(records[:1])  # one workload: nothing to tell apart
