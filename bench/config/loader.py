"""Load a YAML run config: parse, validate typed, resolve backends/meters. No side effects.

Errors name the file, the line and the field, e.g.
``configs/x.yaml:14: workloads[1].gen_tokens: expected a positive integer, got "many"``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bench.backends.base import Options
from bench.config.errors import Loc, field_path, messages
from bench.config.overrides import Overrides, apply
from bench.config.schema import RunConfig
from bench.config.yamlfile import YamlRefused, line_map, line_of, read_text, safe_parse
from bench.errors import ConfigError, UserError
from bench.registry import BACKENDS, METERS, backend_capabilities, did_you_mean


class ConfigErrors(ConfigError):
    """One or more config errors; ``str()`` is the first, ``lines`` all of them."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        more = f" (+{len(lines) - 1} more: run `pibench validate`)" if len(lines) > 1 else ""
        super().__init__(lines[0] + more)


def _optional_model(path: str) -> type[BaseModel] | None:
    """A config model of an optional part (health, mixed); None if that part is absent."""
    module, _, attr = path.partition(":")
    try:
        cls: type[BaseModel] = getattr(importlib.import_module(module), attr)
        return cls
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


@dataclass
class ResolvedConfig:
    path: Path
    run: RunConfig
    backend_options: dict[str, Options]
    """backend name -> validated options"""
    artifacts: dict[tuple[str, str], Options]
    """(model name, backend name) -> validated artifact; absent pairs are not cases"""
    meters: list[Options] = field(default_factory=list)
    health: Options | None = None
    mixed: Options | None = None
    lines: dict[Loc, int] = field(default_factory=dict)
    """Path of every value of the file -> its line (for messages about a field)."""
    overrides: Overrides = field(default_factory=Overrides)
    """What the command line changed (bench.config.overrides), recorded in run.json."""
    base_dir: Path | None = None
    """Where relative paths of the config (prompt files, images) are taken from: the config's
    folder, or the original config's folder when a run is resumed from its saved copy."""

    @property
    def folder(self) -> Path:
        return self.base_dir if self.base_dir is not None else self.path.parent

    def where(self, loc: Loc) -> str:
        """``PATH:LINE: field`` of a value of this config."""
        return f"{self.path}:{line_of(self.lines, loc)}: {field_path(loc)}"

    def to_dict(self) -> dict[str, Any]:
        """The config with every default filled in, as saved in the run folder."""
        data = self.run.model_dump(mode="json")
        for w in data["workloads"]:
            if not w.get("depth"):  # a field added later: configs without it keep their
                w.pop("depth", None)  # fingerprint (older run folders still resume)
        for key, default in (("rounds", 1), ("order", "blocks"), ("order_seed", None),
                             ("reload_per_round", False)):
            if data.get(key) == default:  # added later: the same for older configs
                data.pop(key, None)
        for b in data["backends"]:
            b["options"] = self.backend_options[b["name"]].model_dump(mode="json")
        for m in data["models"]:
            m["artifacts"] = {
                backend: art.model_dump(mode="json")
                for (model, backend), art in self.artifacts.items()
                if model == m["name"]
            }
        data["meters"] = [m.model_dump(mode="json") for m in self.meters]
        data["health"] = self.health.model_dump(mode="json") if self.health else {}
        data["mixed"] = self.mixed.model_dump(mode="json") if self.mixed else None
        return data

    def fingerprint(self) -> str:
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _validate(cls: type[BaseModel], data: Any, loc: Loc, errors: list[tuple[Loc, str]]) -> Any:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        errors.extend(messages(exc, cls, loc))
        return None


def _resolve(run: RunConfig, errors: list[tuple[Loc, str]]) -> dict[str, Any]:
    backend_options: dict[str, Options] = {}
    artifact_cls: dict[str, type[BaseModel]] = {}
    for i, b in enumerate(run.backends):
        if b.type not in BACKENDS:
            errors.append((("backends", i, "type"), BACKENDS.unknown(b.type)))
            continue
        entry = BACKENDS.get(b.type)
        opts = _validate(entry.options_cls(), b.options, ("backends", i, "options"), errors)
        if opts is not None:
            backend_options[b.name] = opts
        artifact_cls[b.name] = entry.artifact_cls()

    if run.clock == "virtual":
        for i, b in enumerate(run.backends):
            if b.type in BACKENDS and not backend_capabilities(b.type).simulated:
                errors.append((("backends", i, "type"),
                               "clock: virtual needs every backend to be simulated (mock) "
                               f"(this one is {b.type!r}); set clock: real"))

    _check_rounds(run, errors)
    _check_workloads(run, backend_options, errors)
    _check_context(run, backend_options, errors)

    by_type: dict[str, list[str]] = {}
    for b in run.backends:
        by_type.setdefault(b.type, []).append(b.name)
    artifacts: dict[tuple[str, str], Options] = {}
    for mi, m in enumerate(run.models):
        for named in m.artifacts:
            if named not in artifact_cls and named not in by_type:
                choices = [b.name for b in run.backends] + list(by_type)
                errors.append((("models", mi, "artifacts", named),
                               f"no backend named {named!r} in this config: "
                               f"{did_you_mean(named, choices)}"))
        for b in run.backends:
            if b.name not in artifact_cls:
                continue
            key: str | None = (b.name if b.name in m.artifacts
                               else b.type if b.type in m.artifacts else None)
            data = m.artifacts.get(key, {}) if key is not None else {}
            cls = artifact_cls[b.name]
            if key is None and (m.artifacts or any(
                    f.is_required() for f in cls.model_fields.values())):
                # a model runs on the backends its artifacts name; a model with no
                # artifacts at all runs on every backend that needs none (mock)
                continue
            loc: Loc = ("models", mi, "artifacts", key) if key else ("models", mi)
            art = _validate(cls, data, loc, errors)
            if art is not None:
                artifacts[(m.name, b.name)] = art

    meters: list[Options] = []
    for i, raw in enumerate(run.meters):
        kind = raw.get("type") if isinstance(raw, dict) else None
        if not isinstance(kind, str):
            errors.append((("meters", i), "each meter needs a type, e.g. {type: pi5-pmic}"))
            continue
        if kind not in METERS:
            errors.append((("meters", i, "type"), METERS.unknown(kind)))
            continue
        opts = _validate(METERS.get(kind).options_cls(), raw, ("meters", i), errors)
        if opts is not None:
            meters.append(opts)

    health = None
    health_cls = _optional_model("bench.meters.health:HealthOptions")
    if health_cls is not None:
        health = _validate(health_cls, run.health, ("health",), errors)
    mixed = None
    if run.mixed is not None:
        mixed_cls = _optional_model("bench.vision.config:MixedOptions")
        if mixed_cls is None:
            errors.append((("mixed",), "mixed mode is not available in this build"))
        else:
            mixed = _validate(mixed_cls, run.mixed, ("mixed",), errors)
            if mixed is not None:
                _check_mixed(run, mixed, errors)
    return {"backend_options": backend_options, "artifacts": artifacts,
            "meters": meters, "health": health, "mixed": mixed}


def _check_rounds(run: RunConfig, errors: list[tuple[Loc, str]]) -> None:
    if run.repetitions < run.rounds:
        errors.append((("rounds",), f"{run.rounds} rounds need at least as many repetitions "
                       f"(repetitions is {run.repetitions}): every round measures one or more; "
                       "raise repetitions or lower rounds"))
    if run.order_seed is not None and run.order != "shuffle":
        errors.append((("order_seed",), f"order_seed is for order: shuffle (order is "
                       f"{run.order}); drop it or set order: shuffle"))
    if run.mixed is not None and run.rounds > 1:
        errors.append((("rounds",), "rounds > 1 is not supported with mixed: (vision + LLM "
                       "cases run once, in full); set rounds: 1 or run mixed mode apart"))


def _check_workloads(run: RunConfig, options: dict[str, Options],
                     errors: list[tuple[Loc, str]]) -> None:
    """A workload that no backend of the config can take is a mistake (one that only some
    can take is fine: the plan skips the others, saying why)."""
    caps = [(b.type, backend_capabilities(b.type, options.get(b.name)))
            for b in run.backends if b.type in BACKENDS]
    if not caps:
        return
    for i, w in enumerate(run.workloads):
        images = bool(w.images)
        whys = [(t, c.refusal(w.kind, images, w.depth)) for t, c in caps]
        if any(why is None for _t, why in whys):
            continue
        refusals = list(dict.fromkeys(f"{t} {why}" for t, why in whys))
        takers = [t for t in BACKENDS
                  if backend_capabilities(t).refusal(w.kind, images, w.depth) is None]
        # blame the images when the same workload without them would have run
        field = "images" if images and any(
            c.refusal(w.kind, False, w.depth) is None for _t, c in caps) else "kind"
        if w.depth and any(c.refusal(w.kind, images, 0) is None for _t, c in caps):
            field = "depth"
        errors.append((("workloads", i, field),
                       f"no backend in this config can take it ({'; '.join(refusals)}): add "
                       f"a backend of type {' or '.join(takers)}, or drop the workload"))


def _check_context(run: RunConfig, options: dict[str, Options],
                   errors: list[tuple[Loc, str]]) -> None:
    """Token counts that cannot fit in a backend's fixed context are refused before a run
    (a chat prompt's length is unknown here: only gen_tokens is checked for it)."""
    for i, w in enumerate(run.workloads):
        need = w.depth + (w.prompt_tokens or 0) + w.gen_tokens
        for name, opts in options.items():
            ctx = opts.context_tokens()
            if ctx is not None and need > ctx:
                what = "prompt_tokens + gen_tokens" if w.prompt_tokens else "gen_tokens"
                what = f"depth + {what}" if w.depth else what
                errors.append((("workloads", i, "gen_tokens"),
                               f"{what} = {need} does not fit the context of backend "
                               f"{name!r} (n_ctx {ctx}): lower the counts or raise its n_ctx"))
                break


def _check_mixed(run: RunConfig, mixed: Any, errors: list[tuple[Loc, str]]) -> None:
    backends = [b.name for b in run.backends]
    workloads = {w.name: w for w in run.workloads}
    for i, p in enumerate(mixed.placements):
        if p.backend not in backends:
            errors.append((("mixed", "placements", i, "backend"),
                           f"no backend named {p.backend!r}: {did_you_mean(p.backend, backends)}"))
    for i, name in enumerate(mixed.workloads or []):
        if name not in workloads:
            errors.append((("mixed", "workloads", i),
                           f"no workload named {name!r}: {did_you_mean(name, list(workloads))}"))


def load_config(path: str | Path, base_dir: Path | None = None,
                overrides: Overrides | None = None) -> ResolvedConfig:
    """Read, validate and resolve a config. Raises ConfigErrors (exit 2) on any mistake.
    ``base_dir``: the folder relative paths are taken from (default: the config's);
    ``overrides``: command-line changes applied before validation (bench.config.overrides)."""
    p = Path(path)
    if "\x00" in str(path):
        raise UserError(f"{str(path)!r}: a NUL byte in the config path")
    if not p.exists():
        raise UserError(f"{p}: config file not found")
    try:
        text = read_text(p, "config")
        data, node = safe_parse(text, p)
    except YamlRefused as exc:
        raise ConfigErrors([str(exc)]) from None
    if not isinstance(data, dict) or node is None:
        raise ConfigErrors([f"{p}:1: expected a mapping with name, models, backends, workloads"])
    lines = line_map(node)
    overrides = overrides or Overrides()
    applied = apply(data, overrides)
    data = applied.data

    def where(loc: Loc) -> str:
        origin = applied.origin(loc)
        return f"{origin} (command line)" if origin else f"{p}:{line_of(lines, loc)}"

    def fail(errors: list[tuple[Loc, str]]) -> ConfigErrors:
        return ConfigErrors([f"{where(loc)}: {field_path(loc)}: {msg}" for loc, msg in errors])

    errors: list[tuple[Loc, str]] = []
    run = _validate(RunConfig, data, (), errors)
    if run is None:
        raise fail(errors)
    parts = _resolve(run, errors)
    if errors:
        raise fail(errors)
    return ResolvedConfig(path=p, run=run, lines=lines, base_dir=base_dir, overrides=overrides,
                          **parts)
