"""Every file a config names, checked before a run folder exists, and their content hashes.

``check_inputs`` is the file part of the one pre-flight of ``pibench validate`` and ``pibench
run`` (and of a resume), ``preflight_problems``, which adds the servers (bench.runner.servers)
for run and ``validate --online``: prompt sets (builtin name, or a file that must be a
readable, non-empty, UTF-8 text or YAML list of prompts), images, mock profiles, synth
presets, model files (present, a file, readable). It returns every problem at once, one
line each, ordered by the config's line.
Model files may live only on the machine that runs a config: validate shows their problems
as notes, run refuses them.

``input_hashes`` is the sha256 of each of those files (model files through the cached
``sha256_file``): stored in run.json, so that a resume refuses inputs that changed since the
run started and names them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench.backends.base import require_file
from bench.config.errors import Loc
from bench.config.loader import ResolvedConfig
from bench.config.yamlfile import line_of
from bench.errors import UserError
from bench.runner.plan import Case


def _prompts(spec: str | list[str], folder: Path) -> None:
    from bench.workloads.prompts import load_prompt_set

    if isinstance(spec, list):
        if not spec:
            raise UserError("an empty list of prompts: give at least one")
        for i, p in enumerate(spec):
            if not p.strip():
                raise UserError(f"prompt {i + 1} is empty")
        return
    load_prompt_set(spec, folder)


def _synth(value: str) -> None:
    from bench.models.store import parse_synth_spec

    parse_synth_spec(value)


def _artifact_loc(cfg: ResolvedConfig, case: Case) -> Loc:
    mi = next(i for i, m in enumerate(cfg.run.models) if m.name == case.model.name)
    arts = case.model.artifacts
    key = (case.backend.name if case.backend.name in arts
           else case.backend.type if case.backend.type in arts else None)
    return ("models", mi, "artifacts", key) if key else ("models", mi)


@dataclass(frozen=True)
class Problem:
    line: int
    text: str
    """``PATH:LINE: field: what is wrong``"""
    model_file: bool
    """A model file (GGUF, HEF...): it may exist only on the machine that runs the config, so
    ``pibench validate`` shows it as a note; ``pibench run`` refuses."""


def check_inputs(cfg: ResolvedConfig, cases: list[Case]) -> list[Problem]:
    """Every problem with a file the cases need, ordered by line: [] when all is well."""
    found: list[Problem] = []

    def check(loc: Loc, fn: Callable[[], None], model_file: bool = False) -> None:
        try:
            fn()
        except UserError as exc:
            found.append(Problem(line_of(cfg.lines, loc), f"{cfg.where(loc)}: {exc}",
                                 model_file))

    workloads = {c.workload.name for c in cases}
    for i, w in enumerate(cfg.run.workloads):
        if w.name not in workloads:
            continue
        if w.prompts is not None:
            check(("workloads", i, "prompts"), partial(_prompts, w.prompts, cfg.folder))
        for j, spec in enumerate(w.images):
            if not spec.strip().startswith("generated:"):
                path = _image_path(spec, cfg.folder)
                check(("workloads", i, "images", j), partial(require_file, str(path), "image"))
    backends = {c.backend.name for c in cases}
    for i, b in enumerate(cfg.run.backends):
        opts = cfg.backend_options.get(b.name)
        check_opts = getattr(opts, "preflight", None)
        if b.name in backends and check_opts is not None:
            check(("backends", i, "options"), check_opts)
    seen: set[int] = set()
    for case in cases:
        art = case.artifact
        if id(art) in seen:
            continue
        seen.add(id(art))
        loc = _artifact_loc(cfg, case)
        own = getattr(art, "preflight", None)  # the artifact checks its own files
        if own is not None:
            check(loc, own, model_file=True)
        for key, value in art.named_files().items():
            if value.startswith("synth:"):
                check((*loc, key), partial(_synth, value))
            elif own is None and not value.startswith("pypi:"):
                check((*loc, key), partial(require_file, value, f"{key} file"),
                      model_file=True)
    found.sort(key=lambda p: p.line)
    return list(dict.fromkeys(found))


def preflight_problems(cfg: ResolvedConfig, cases: list[Case], online: bool) -> list[Problem]:
    """The one pre-flight of `pibench run` (online) and `pibench validate` (online with
    ``--online``): every file problem and, online, every server that does not answer
    (bench.runner.servers), all ordered by the config's line."""
    found = check_inputs(cfg, cases)
    if online:
        from bench.runner.servers import check_servers

        found += check_servers(cfg, cases)
    found.sort(key=lambda p: p.line)
    return found


def _image_path(spec: str, folder: Path) -> Path:
    path = Path(spec).expanduser()
    return path if path.is_absolute() else folder / path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def input_hashes(cfg: ResolvedConfig, cases: list[Case]) -> dict[str, dict[str, Any]]:
    """absolute path -> {"what", "sha256"} of every input file of the cases (prompt files, images,
    mock profiles, model files). Files that are not there are left out (check_inputs says)."""
    from bench.models.files import sha256_file

    files: dict[str, tuple[str, bool]] = {}  # path -> (what, is a model file)
    workloads = {c.workload.name: c.workload for c in cases}
    for w in workloads.values():
        if isinstance(w.prompts, str) and not w.prompts.startswith("builtin:"):
            path = Path(w.prompts).expanduser()
            files[os.path.abspath(path if path.is_absolute() else cfg.folder / path)] = (
                f"prompt file of workload {w.name!r}", False)
        for spec in w.images:
            if not spec.strip().startswith("generated:"):
                files[os.path.abspath(_image_path(spec, cfg.folder))] = (
                    f"image of workload {w.name!r}", False)
    for name in {c.backend.name for c in cases}:
        profile = getattr(cfg.backend_options.get(name), "profile_file", None)
        if callable(profile) and (p := profile()) is not None:
            files[os.path.abspath(p)] = (f"mock profile of backend {name!r}", False)
    for case in cases:
        for key, value in case.artifact.named_files().items():
            if not value.startswith(("synth:", "pypi:")):
                files.setdefault(os.path.abspath(Path(value).expanduser()),
                                 (f"{key} of model {case.model.name!r}", True))
    out: dict[str, dict[str, Any]] = {}
    for name, (what, is_model) in sorted(files.items()):
        p = Path(name)
        if not p.is_file():
            continue
        try:
            digest = sha256_file(p) if is_model else _sha256(p)
        except OSError:
            continue
        out[name] = {"what": what, "sha256": digest}
    return out


def changed_inputs(stored: dict[str, Any], now: dict[str, dict[str, Any]]) -> list[str]:
    """What differs between the inputs stored in run.json and those of today."""
    out = []
    for path, entry in stored.items():
        what = entry.get("what", "file") if isinstance(entry, dict) else "file"
        if path not in now:
            out.append(f"{what} {path} is gone")
        elif not isinstance(entry, dict) or entry.get("sha256") != now[path]["sha256"]:
            out.append(f"{what} {path} changed")
    for path, entry in now.items():
        if path not in stored:
            out.append(f"{entry['what']} {path} is new")
    return out
