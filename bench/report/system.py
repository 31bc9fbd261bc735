"""The report's System section, from each run's environment.json (``system``: see
bench.results.system). One run: one line per fact. Several runs: the facts they share, then
one line per run naming what differs. A fact that could not be read shows "n/a (why)"."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.report.rows import NA, run_names

Env = dict[str, Any]


def _value(env: Env, field: str) -> tuple[Any, str | None]:
    """(value, reason it is null). environment.json of an older pibench has no ``system``."""
    system = env.get("system")
    if not isinstance(system, dict):
        return None, "recorded by an older pibench: no system context"
    reason = (system.get("unavailable") or {}).get(field)
    return system.get(field), str(reason) if reason else None


def _board(env: Env) -> str | None:
    model, _ = _value(env, "board_model")
    code, _ = _value(env, "board_revision")
    rev, _ = _value(env, "revision")
    if model is None:
        return None
    if not code:
        return str(model)
    fields = ""
    if isinstance(rev, dict):
        fields = ": " + ", ".join(str(rev.get(k)) for k in
                                  ("type", "memory", "processor", "manufacturer"))
        fields += f", rev {rev.get('revision')}"
    return f"{model} ({code}{fields})"


def _ram(env: Env) -> str | None:
    mb, _ = _value(env, "memory_total_mb")
    return None if mb is None else f"{mb} MB"


def _os(env: Env) -> str | None:
    os_release, _ = _value(env, "os_release")
    issue, _ = _value(env, "rpi_issue")
    if os_release is None:
        return None
    return f"{os_release} ({issue})" if issue else str(os_release)


def _config(env: Env) -> str | None:
    config, _ = _value(env, "config")
    if not isinstance(config, dict):
        return None
    return ", ".join(f"{k}={v}" for k, v in config.items())


def _cooler(env: Env) -> str | None:
    c, _ = _value(env, "cooler")
    if not isinstance(c, dict):
        return None
    rpm = NA if c.get("rpm") is None else f"{c['rpm']} RPM"
    pwm = NA if c.get("pwm") is None else f"{c['pwm']}/255"
    return f"fan ({c.get('fan')}): {rpm}, PWM {pwm} when the run started"


def _pcie(env: Env) -> str | None:
    p, _ = _value(env, "pcie")
    if not isinstance(p, dict):
        return None
    top = ""
    if p.get("max_speed") and (p.get("max_speed"), p.get("max_width")) != (p.get("speed"),
                                                                          p.get("width")):
        top = f", can do {p.get('max_speed')} x{p.get('max_width')}"
    return f"{p.get('speed')} x{p.get('width')} ({p.get('of')} {p.get('device')}{top})"


def _hat(env: Env) -> str | None:
    h, _ = _value(env, "hat")
    if not isinstance(h, dict):
        return None
    extra = ", ".join(f"{k} {h[k]}" for k in ("vendor", "product_id", "product_ver") if h.get(k))
    return f"{h.get('product', NA)}" + (f" ({extra})" if extra else "")


def _driver(env: Env) -> str | None:
    d, _ = _value(env, "hailo_driver")
    if not isinstance(d, dict):
        return None
    return f"{d.get('module')} {d.get('version') or '(version unknown)'}"


def _pibench(env: Env) -> str | None:
    version, _ = _value(env, "pibench_version")
    commit, _ = _value(env, "pibench_commit")
    if version is None and commit is None:
        return None
    return " ".join(x for x in (version, f"commit {commit}" if commit else None) if x)


def _command(env: Env) -> str | None:
    cmd, _ = _value(env, "command_line")
    return None if cmd is None else f"`{cmd}`"


def _plain(field: str) -> Callable[[Env], str | None]:
    def get(env: Env) -> str | None:
        v, _ = _value(env, field)
        return None if v is None else str(v)
    return get


FACTS: list[tuple[str, Callable[[Env], str | None], tuple[str, ...]]] = [
    ("host", lambda env: env.get("host"), ()),
    ("board", _board, ("board_model",)),
    ("SoC", _plain("soc"), ("soc",)),
    ("CPU", _plain("cpu"), ("cpu",)),
    ("RAM", _ram, ("memory_total_mb",)),
    ("OS", _os, ("os_release",)),
    ("kernel", _plain("kernel"), ("kernel",)),
    ("firmware", _plain("firmware"), ("firmware",)),
    ("bootloader", _plain("bootloader"), ("bootloader",)),
    ("config", _config, ("config",)),
    ("governor", _plain("cpu_governor"), ("cpu_governor",)),
    ("cooler", _cooler, ("cooler",)),
    ("PCIe link", _pcie, ("pcie",)),
    ("HAT", _hat, ("hat",)),
    ("HailoRT", _plain("hailort"), ("hailort",)),
    ("Hailo driver", _driver, ("hailo_driver",)),
    ("Hailo firmware", _plain("hailo_firmware"), ("hailo_firmware",)),
    ("pibench", _pibench, ("pibench_version",)),
    ("command line", _command, ("command_line",)),
]
"""(label, how to render it, the system fields whose reason explains an n/a)."""


def facts(env: Env) -> dict[str, str]:
    """label -> text, "n/a (why)" where the value could not be read."""
    out: dict[str, str] = {}
    for label, render, fields in FACTS:
        text = render(env)
        if text is None:
            reasons = [r for f in fields if (r := _value(env, f)[1])]
            text = f"{NA} ({reasons[0]})" if reasons else NA
        out[label] = text
    return out


def differences(envs: Sequence[Env]) -> list[str]:
    """The labels whose text is not the same in every run."""
    texts = [facts(e) for e in envs]
    return [label for label, _, _ in FACTS if len({t[label] for t in texts}) > 1]


def system_section(runs: Sequence[tuple[str, Env]]) -> str:
    """Markdown: "## System" and its lines, for one run or several (name, environment)."""
    lines = ["## System", ""]
    missing = [name for name, env in runs if not env]
    present = [(name, env) for name, env in runs if env]
    if present:
        texts = {name: facts(env) for name, env in present}
        first = texts[present[0][0]]
        if len(present) == 1:
            lines += [f"- {label}: {text}" for label, text in first.items()]
        else:
            differ = differences([env for _, env in present])
            same = [label for label, _, _ in FACTS if label not in differ]
            if same:
                lines += ["Same in every run:", ""]
                lines += [f"- {label}: {first[label]}" for label in same]
                lines.append("")
            lines += ["What differs, per run:", ""]
            if not differ:
                lines.append("- nothing: " + ", ".join(f"`{name}`" for name, _ in present))
            for name, _ in present if differ else ():
                lines.append(f"- `{name}`: " + "; ".join(f"{label} {texts[name][label]}"
                                                         for label in differ))
    lines += [f"- `{name}`: no environment.json (system context not recorded)"
              for name in missing]
    return "\n".join(lines) + "\n"


def envs_of_runs(paths: Sequence[Path],
                 warn: Callable[[str], None] | None = None) -> list[tuple[str, Env]]:
    """(name, environment.json) of the run folders ``paths``; {} where it is missing."""
    from bench.results.reader import read_json

    names = run_names(list(paths))  # two hosts' runs of the same second: their whole paths
    return [(n, read_json(p / "environment.json", warn)) for n, p in zip(names, paths,
                                                                         strict=True)]


def system_of_runs(paths: Sequence[Path], warn: Callable[[str], None] | None = None) -> str:
    """The System section of the run folders ``paths`` (their environment.json)."""
    return system_section(envs_of_runs(paths, warn))
