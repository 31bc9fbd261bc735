"""Compare two runs case by case: ratio B/A of the medians, flagged when beyond the noise,
and what differs between the two measurements of each case.

Noise rule (Welch's t test at 99 %, two-sided): a difference counts when
|mean_B - mean_A| > t(0.995, df) x sqrt(sd_A²/n_A + sd_B²/n_B), df by Welch-Satterthwaite,
AND the ratio is off 1 by more than 1 %. With fewer than 2 repetitions on either side there
is no spread, so no verdict ("?"). Many cases compared at 99 % still give about one false
flag per hundred: read a lone flag with care.

What differs. The two records of a case (cases.jsonl) and the two runs' environment.json and
resolved.json are compared in four parts; each difference is one short text ("threads 2→4"):

  model        record.model.info: weights, sha256, quant, file_bytes, and Ollama's digest
               (info.extra.digest); never the path. Then record.model.artifact, every key
               but the file locator (gguf, hef) when both sides have a hash: the hash names
               the file, the locator may change from a path to a pypi: spec.
  workload     record.workload, every key but its name (the name is in the case id).
  settings     record.backend: every key is a setting except NOT_SETTINGS (see below); then
               the backend's options in resolved.json, what the config asked for (Ollama's
               num_thread and num_ctx, Hailo's lora_name, the mock's seed and profile file...
               are only there), except an option left unset (null) on either side whose
               name the record carries: the record holds the value in effect (threads 2 for
               "threads: null"); a text already listed from the record is not repeated; then
               the run's warmup, cooldown_s, clock, health.cool_below_c.
  environment  environment.json: ENV_KEYS and the versions in VERSION_KEYS; when both runs
               have the ``system`` context (bench.results.system), its SYSTEM_KEYS instead of
               the top-level keys it covers: board and revision code (RAM, type), OS and
               image, kernel, CPU, governor, firmware and bootloader (by version hash),
               config.txt speed settings key by key, fan present, PCIe link, HAT, HailoRT,
               Hailo driver and firmware, pibench commit. One list per pair of runs, shared
               by every case.

Which backend keys are settings: all of them but NOT_SETTINGS: the name (in the case id);
capabilities (a constant of the backend's class: it changes with the code, never with a
setting, and grows a key whenever a capability is added); and what a backend observed or
derived while running, which differs between two runs with nothing changed
(server_fields_present, describe_error) or follows from the model file already compared
(eog_suppressed_ids, input_frame_shape). A deny list, not an allow list: a key a backend's
describe() gains later is compared from the first day; at worst a needless "differs", never a
silent one. Descriptions of the method (timing, throughput_prompt, prompt_sizing...) are
compared too: they change only with the code or with a setting.

Value rules: a top-level key only one record has is skipped (an older pibench did not record
it; the pibench version shows the change); inside a value, a missing key is None; None, "",
[] and {} are equal; an absolute path compares by file name; memory_total_mb differs beyond
2 %; the firmware compares by its version hash. Shown: hashes by their first 6 hex digits,
file sizes in MiB, text over 40 characters or lists as "X changed".

Mixed cases (vision + LLM at once) are compared on what mixed mode measures: the vision
side's fps while the LLM runs (its per-second frame counts give the spread), the LLM's
generation t/s and TTFT under load (per repetition), and the interference ratio (fps mixed /
alone) of each run, shown as A→B. They get a table of their own.

Disturbed measurements: a case labelled "busy host" (other processes used the CPU) or
"throttled" (the Pi throttled) in either run is marked "A: busy host" ... in the same
column, and counts for --strict: its figures are likely low, whichever way the ratio points.

Rounds and heat (bench.report.thermal): a case measured in two or more rounds is judged on its
round means, one value per round; the differs column gives each side's round means and their
spread, and says when A and B met different thermal states (mean SoC temperature 5 C apart,
or mean ARM clock 2 % apart, during generation); --strict counts the latter.

A model or workload difference makes a case "not comparable": its ratios are shown, its
verdict is not, unless allow_different. Settings and environment differences keep the
verdict (threads 2 against 4 is a fair question) and are listed. A case that failed in a run
has no ratio: "failed in A", "failed in B".
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from bench.registry import backend_versions, model_file_fields
from bench.report.columns import dig
from bench.report.rows import NA
from bench.report.thermal import compared_summary, rounds_note, thermal_note
from bench.results.metrics import case_summary
from bench.stats import summarize

# two-sided 99 % quantiles of Student's t, df = 1..30; beyond 30 the normal 2.576 is close
_T995 = [63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169, 3.106, 3.055,
         3.012, 2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797,
         2.787, 2.779, 2.771, 2.763, 2.756, 2.750]


def t_crit(df: float) -> float:
    if df >= len(_T995):
        return 2.576
    return _T995[max(0, int(df) - 1)]  # rounding df down is the conservative side


KEYS = [("gen_tps", "tg t/s", True), ("prompt_tps", "pp t/s", True), ("ttft_s", "TTFT s", False)]
MIXED_KEYS = [("vision_fps", "vision fps", True), ("llm_gen_tps", "LLM tg t/s", True),
              ("llm_ttft_s", "LLM TTFT s", False)]
"""What a mixed case is compared on (see mixed_summaries), in the same three columns."""
PARTS = ("model", "workload", "settings", "environment")
NOT_LIKE_FOR_LIKE = ("model", "workload")
MODEL_INFO_KEYS = ("weights", "sha256", "quant", "file_bytes")
NOT_SETTINGS = {"name", "capabilities", "server_fields_present", "describe_error",
                "eog_suppressed_ids", "input_frame_shape"}
RUN_KEYS = ("cooldown_s", "clock")
DISTURBED = ("busy host", "throttled")
"""Labels of a measurement whose figures are likely low (see bench.runner)."""
ENV_KEYS = ("board", "cpu", "cpu_physical_cores", "memory_total_mb", "cpu_governor", "kernel",
            "firmware")
SYSTEM_KEYS = {"board_model": "board", "board_revision": "board revision code",
               "revision": "board", "memory_total_mb": "memory MB", "os_release": "OS",
               "rpi_issue": "OS image", "kernel": "kernel", "cpu": "CPU",
               "cpu_governor": "governor", "firmware": "firmware", "bootloader": "bootloader",
               "config": "config", "cooler": "fan", "pcie": "PCIe link", "hat": "HAT",
               "hailort": "HailoRT", "hailo_driver": "Hailo driver",
               "hailo_firmware": "Hailo firmware", "pibench_commit": "pibench commit"}
"""environment.json ``system`` facts compared (bench.results.system), with their labels; not
compared: what changes with nothing changed (the fan's speed, the command line)."""
COVERED = {"board", "cpu", "memory_total_mb", "cpu_governor", "kernel", "firmware"}
"""Top-level environment keys the ``system`` context covers: compared there when both have it."""
LONG_SYSTEM = 100
VERSION_KEYS = (*backend_versions(), "pibench")
"""The versions compare lists: the backends' runtimes (as registered) and pibench."""
LABELS = {"llama_cpp_python": "llama-cpp-python", "hailort_version": "hailort",
          "server_version": "server version", "memory_total_mb": "memory MB",
          "model file_bytes": "model size"}
LONG = 40


def verdict(a: dict[str, Any] | None, b: dict[str, Any] | None,
            higher_is_better: bool) -> tuple[float | None, str]:
    if not a or not b or a.get("median") in (None, 0) or b.get("median") is None:
        return None, NA
    ratio = b["median"] / a["median"]
    sa, sb, na, nb = a.get("stddev"), b.get("stddev"), a.get("n", 0), b.get("n", 0)
    if sa is None or sb is None or na < 2 or nb < 2:
        return ratio, "?"
    va, vb = sa**2 / na, sb**2 / nb
    se = math.sqrt(va + vb)
    if se == 0:
        differs = b["mean"] != a["mean"]
    else:
        df = (va + vb) ** 2 / ((va**2 / (na - 1) if va else 0) + (vb**2 / (nb - 1) if vb else 0))
        differs = abs(b["mean"] - a["mean"]) > t_crit(df) * se
    if not differs or abs(ratio - 1) <= 0.01:
        return ratio, "~"
    better = (ratio > 1) == higher_is_better
    return ratio, "better" if better else "WORSE"


# -- differences ------------------------------------------------------------------------------

def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str | list | dict | tuple) and len(v) == 0)


def _norm(v: Any) -> Any:
    if _empty(v):
        return None
    if isinstance(v, str) and os.path.isabs(v):
        return os.path.basename(v.rstrip("/"))
    return v


def _show(label: str, v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "on" if v else "off"
    if label.endswith(("sha256", "digest")) and isinstance(v, str):
        return v.removeprefix("sha256:")[:6] + "…"
    if label.endswith("file_bytes") and isinstance(v, int | float):
        return f"{v / 2**20:.1f} MiB"
    return str(v)


def diff_value(label: str, a: Any, b: Any, out: list[str], long: int = LONG) -> None:
    """Append to ``out`` how ``a`` became ``b``, nothing when equal; dicts key by key; a text
    longer than ``long`` characters as "changed"."""
    if (isinstance(a, dict) or isinstance(b, dict)) and all(
            x is None or isinstance(x, dict) for x in (a, b)):
        da, db = a or {}, b or {}
        for k in [*da, *(k for k in db if k not in da)]:
            diff_value(f"{label}.{k}", da.get(k), db.get(k), out, long)
        return
    a, b = _norm(a), _norm(b)
    if a == b:
        return
    name = LABELS.get(label, label)
    if isinstance(a, list) and isinstance(b, list) and len(a) != len(b):
        out.append(f"{name} changed ({len(a)}→{len(b)} items)")
        return
    sa, sb = _show(label, a), _show(label, b)
    if sa == sb:  # equal once shortened: show the whole values
        sa, sb = str(a), str(b)
    if isinstance(a, list | dict) or isinstance(b, list | dict) or max(len(sa), len(sb)) > long \
            or "\n" in sa + sb:
        out.append(f"{name} changed")
    else:
        out.append(f"{name} {sa}→{sb}")


def _section(a: dict[str, Any] | None, b: dict[str, Any] | None, skip: set[str],
             prefix: str = "") -> list[str]:
    """Differences of the keys both dicts have, but ``skip``."""
    out: list[str] = []
    a, b = a or {}, b or {}
    for k in a:
        if k not in skip and k in b:
            diff_value(prefix + k, a[k], b[k], out)
    return out


def _model_facts(model: dict[str, Any]) -> tuple[dict[str, Any] | None, bool]:
    """The identity facts of the model file, and whether a hash names it."""
    info = model.get("info")
    if not isinstance(info, dict):
        return None, False
    facts = {k: info[k] for k in MODEL_INFO_KEYS if k in info}
    digest = (info.get("extra") or {}).get("digest")
    if digest:
        facts["digest"] = digest
    return facts, bool(info.get("sha256") or digest)


def _options(resolved: dict[str, Any] | None, backend: str | None) -> dict[str, Any]:
    for b in (resolved or {}).get("backends") or []:
        if isinstance(b, dict) and b.get("name") == backend:
            return dict(b.get("options") or {})
    return {}


def _run_settings(record: dict[str, Any], resolved: dict[str, Any] | None) -> dict[str, Any]:
    out = {k: resolved[k] for k in RUN_KEYS if resolved and k in resolved}
    health = (resolved or {}).get("health")
    if isinstance(health, dict) and "cool_below_c" in health:
        out["cool_below_c"] = health["cool_below_c"]
    if record.get("status") == "ok" and "warmup" in record:  # a failed case records warmup 0
        out["warmup"] = record["warmup"]
    return out


def _file_fields(*records: dict[str, Any]) -> set[str]:
    """The artifact fields that name model files, as the records' backend types declare."""
    out: set[str] = set()
    for r in records:
        kind = (r.get("backend") or {}).get("type")
        out.update(model_file_fields(kind if isinstance(kind, str) else None))
    return out


def case_differences(ra: dict[str, Any], rb: dict[str, Any],
                     resolved_a: dict[str, Any] | None = None,
                     resolved_b: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """What differs between two records of one case: {part: [texts]}, parts without
    environment (see ``env_differences``)."""
    ma, mb = ra.get("model") or {}, rb.get("model") or {}
    (fa, hashed_a), (fb, hashed_b) = _model_facts(ma), _model_facts(mb)
    model = _section(fa, fb, set(), "model ") if fa is not None and fb is not None else []
    model += _section(ma.get("artifact"), mb.get("artifact"),
                      _file_fields(ra, rb) if hashed_a and hashed_b else set(), "model ")
    workload = _section(ra.get("workload"), rb.get("workload"), {"name"})
    ba, bb = ra.get("backend") or {}, rb.get("backend") or {}
    settings = _section(ba, bb, NOT_SETTINGS)
    oa, ob = _options(resolved_a, ba.get("name")), _options(resolved_b, bb.get("name"))
    unset = {k for k in oa if k in ob and (k in ba or k in bb) and (_empty(oa[k]) or _empty(ob[k]))}
    settings += [t for t in _section(oa, ob, unset) if t not in settings]
    settings += _section(_run_settings(ra, resolved_a), _run_settings(rb, resolved_b), set())
    return {"model": model, "workload": workload, "settings": settings}


def _firmware(v: Any) -> Any:
    if not isinstance(v, str):
        return v
    m = re.search(r"version ([0-9a-f]{7,})", v)
    return m.group(1)[:12] if m else v.strip().splitlines()[0] if v.strip() else None


def _system_facts(system: dict[str, Any]) -> dict[str, Any]:
    """The facts of environment.json ``system`` that compare looks at (SYSTEM_KEYS), reduced
    to what names the setup: the fan, not its speed when the run started; the PCIe link's
    speed and width; the HAT's product and vendor; the firmware's version hash."""
    out: dict[str, Any] = {}
    for key in SYSTEM_KEYS:
        v = system.get(key)
        if key == "cooler":
            v = v.get("fan") if isinstance(v, dict) else None
        elif key == "pcie" and isinstance(v, dict):
            v = f"{v.get('speed')} x{v.get('width')}"
        elif key == "hat" and isinstance(v, dict):
            v = " / ".join(str(v[k]) for k in ("product", "vendor") if v.get(k)) or None
        elif key == "hailo_driver" and isinstance(v, dict):
            v = f"{v.get('module')} {v.get('version')}"
        elif key in ("firmware", "bootloader"):
            v = _firmware(v)
        out[key] = v
    return out


def system_differences(sa: dict[str, Any], sb: dict[str, Any]) -> list[str]:
    """What differs between two environment.json ``system`` contexts (SYSTEM_KEYS), values in
    full (they are listed once, above the table)."""
    out: list[str] = []
    fa, fb = _system_facts(sa), _system_facts(sb)
    for key in SYSTEM_KEYS:
        a, b = fa[key], fb[key]
        if key == "memory_total_mb" and isinstance(a, int | float) \
                and isinstance(b, int | float) and abs(a - b) <= 0.02 * max(a, b):
            continue
        diff_value(SYSTEM_KEYS[key], a, b, out, long=LONG_SYSTEM)
    return out


def env_differences(env_a: dict[str, Any] | None, env_b: dict[str, Any] | None) -> list[str]:
    """What differs between two environment.json; an empty or missing one is a difference.
    When both have the ``system`` context, its facts (SYSTEM_KEYS) stand for the top-level
    ones it covers."""
    if not env_a or not env_b:
        missing = [side for side, env in (("A", env_a), ("B", env_b)) if not env]
        return [f"environment.json missing in {' and '.join(missing)}"]
    out: list[str] = []
    sa, sb = env_a.get("system"), env_b.get("system")
    both = isinstance(sa, dict) and isinstance(sb, dict)
    for k in ENV_KEYS:
        if k not in env_a or k not in env_b or (both and k in COVERED):
            continue
        a, b = env_a[k], env_b[k]
        if k == "firmware":
            a, b = _firmware(a), _firmware(b)
        if k == "memory_total_mb" and isinstance(a, int | float) and isinstance(b, int | float) \
                and abs(a - b) <= 0.02 * max(a, b):
            continue
        diff_value(k, a, b, out)
    if isinstance(sa, dict) and isinstance(sb, dict):
        out += system_differences(sa, sb)
    out += _section({k: v for k, v in (env_a.get("versions") or {}).items() if k in VERSION_KEYS},
                    env_b.get("versions"), set())
    return out


def mixed_summaries(record: dict[str, Any]) -> dict[str, Any]:
    """A mixed case's figures under load as summaries (mean, median, stddev, n): vision fps
    from its per-second frame counts (only the window's value, without spread, for records
    written before those were kept), the LLM's gen t/s and TTFT from its repetitions."""
    fps = dig(record, "mixed", "vision", "mixed", "fps") or {}
    if fps.get("per_second"):
        vision: dict[str, Any] | None = dict(summarize(fps["per_second"], "frames/s",
                                                       "per second"))
    elif fps.get("value") is not None:
        vision = {"mean": fps["value"], "median": fps["value"], "stddev": None, "n": 1}
    else:
        vision = None
    # the LLM's repetitions are rep records: summarized as an ordinary case's are
    llm = case_summary(dig(record, "mixed", "llm", "mixed", "per_run") or [], None)
    return {"vision_fps": vision, "llm_gen_tps": dict(llm["gen_tps"]),
            "llm_ttft_s": dict(llm["ttft_s"])}


def _interference(record: dict[str, Any]) -> float | None:
    v = dig(record, "mixed", "interference", "vision_fps", "value")
    return v if isinstance(v, int | float) else None


# -- the comparison -----------------------------------------------------------------------

@dataclass
class CaseResult:
    case_id: str
    where: str = "both"  # or "only in A", "only in B"
    failed: str = ""  # "", "A", "B", "A and B"
    diffs: dict[str, list[str]] = field(default_factory=dict)
    cells: list[str] = field(default_factory=list)  # ratio and verdict per KEYS entry
    disturbed: list[str] = field(default_factory=list)  # "A: busy host", "B: throttled"
    notes: list[str] = field(default_factory=list)  # per-round spread, thermal state
    mixed: bool = False  # a vision + LLM case: cells follow MIXED_KEYS, then interference

    @property
    def comparable(self) -> bool:
        return not any(self.diffs.get(p) for p in NOT_LIKE_FOR_LIKE)

    @property
    def differs(self) -> bool:
        return any(self.diffs.get(p) for p in PARTS)


def compare_case(ra: dict[str, Any], rb: dict[str, Any], env_diffs: list[str],
                 resolved_a: dict[str, Any] | None = None,
                 resolved_b: dict[str, Any] | None = None,
                 allow_different: bool = False) -> CaseResult:
    res = CaseResult(rb["case_id"])
    res.diffs = {**case_differences(ra, rb, resolved_a, resolved_b), "environment": env_diffs}
    res.failed = " and ".join(s for s, r in (("A", ra), ("B", rb)) if r.get("status") != "ok")
    res.disturbed = [f"{side}: {label}" for side, r in (("A", ra), ("B", rb))
                     for label in DISTURBED if label in (r.get("labels") or [])]
    res.mixed = bool(ra.get("mixed") or rb.get("mixed"))
    if res.mixed:
        sa, sb = mixed_summaries(ra), mixed_summaries(rb)
    else:  # per-round values where a run has rounds (bench.report.thermal)
        sa = {key: compared_summary(ra, key) for key, _, _ in KEYS}
        sb = {key: compared_summary(rb, key) for key, _, _ in KEYS}
        res.notes = [n for n in (thermal_note(ra, rb), rounds_note(ra, rb)) if n]
    for key, _label, hib in MIXED_KEYS if res.mixed else KEYS:
        if res.failed:
            res.cells += ["", f"failed in {res.failed}"]
            continue
        ratio, v = verdict(sa[key], sb[key], hib)
        if not res.comparable and not allow_different:
            v = "not comparable"
        res.cells += [NA if ratio is None else f"{ratio:.3f}", v]
    if res.mixed:
        ia, ib = _interference(ra), _interference(rb)
        res.cells.append(f"{'n/a' if ia is None else f'{ia:.2f}'}→"
                         f"{'n/a' if ib is None else f'{ib:.2f}'}")
    return res


def compare(a: list[dict[str, Any]], b: list[dict[str, Any]], *,
            env_a: dict[str, Any] | None = None, env_b: dict[str, Any] | None = None,
            resolved_a: dict[str, Any] | None = None, resolved_b: dict[str, Any] | None = None,
            allow_different: bool = False) -> list[CaseResult]:
    """One CaseResult per case id: B's order, then the cases only A has. The environments
    are compared when one is given ({} stands for a run without environment.json)."""
    env_diffs = [] if env_a is None and env_b is None else env_differences(env_a, env_b)
    by_a = {r["case_id"]: r for r in a}
    ids_b = {r["case_id"] for r in b}
    out = []
    for rb in b:
        ra = by_a.get(rb["case_id"])
        if ra is None:
            out.append(CaseResult(rb["case_id"], "only in B", cells=["", "only in B"] * len(KEYS)))
        else:
            out.append(compare_case(ra, rb, env_diffs, resolved_a, resolved_b, allow_different))
    out += [CaseResult(ca, "only in A", cells=["", "only in A"] * len(KEYS))
            for ca in by_a if ca not in ids_b]
    return out


def differs_cell(res: CaseResult) -> str:
    """The case's own differences; the environment's (the same for every case, printed once
    above the table) as the one word "environment"."""
    items = [*res.disturbed, *res.notes]
    items += [t for p in PARTS if p != "environment" for t in res.diffs.get(p, [])]
    if res.diffs.get("environment"):
        items.append("environment")
    return "; ".join(items).replace("|", "\\|")


def table_rows(results: list[CaseResult], mixed: bool = False) -> list[list[str]]:
    """Rows of the plain cases, or (``mixed``) of the mixed ones; a case in one run only has
    no record to tell which, and goes with the plain ones unless its id names a placement."""
    def is_mixed(r: CaseResult) -> bool:
        return r.mixed or (r.where != "both" and "@" in r.case_id)

    rows = []
    for r in results:
        if is_mixed(r) != mixed:
            continue
        cells = r.cells + ([""] if mixed and r.where != "both" else [])
        rows.append([r.case_id, *cells, differs_cell(r)])
    return rows


def strict_problem(results: list[CaseResult]) -> str | None:
    """One line saying what keeps the comparison from being like for like, or None."""
    matched = [r for r in results if r.where == "both"]
    differ = [r for r in matched if r.differs]
    parts = [f"{p} {n}" for p in PARTS if (n := sum(1 for r in differ if r.diffs.get(p)))]
    problems = []
    if differ:
        problems.append(f"{len(differ)} of {len(matched)} cases differ ({', '.join(parts)})")
    for where in ("only in A", "only in B"):
        if n := sum(1 for r in results if r.where == where):
            problems.append(f"{n} case{'s' if n > 1 else ''} {where}")
    if n := sum(1 for r in matched if r.failed):
        problems.append(f"{n} case{'s' if n > 1 else ''} failed")
    if n := sum(1 for r in matched if r.disturbed and not r.failed):
        problems.append(f"{n} case{'s' if n > 1 else ''} measured on a busy or throttled "
                        "machine")
    if n := sum(1 for r in matched if any(x.startswith("thermal") for x in r.notes)):
        problems.append(f"{n} case{'s' if n > 1 else ''} measured under different thermal "
                        "states")
    return "; ".join(problems) or None
