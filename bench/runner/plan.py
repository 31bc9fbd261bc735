"""The matrix of a run: models x backends x workloads, filtered from the command line."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from bench.backends.base import Options
from bench.config.loader import ResolvedConfig
from bench.config.schema import BackendConfig, ModelConfig, WorkloadConfig
from bench.errors import UserError
from bench.registry import backend_capabilities


@dataclass(frozen=True)
class Case:
    model: ModelConfig
    backend: BackendConfig
    workload: WorkloadConfig
    artifact: Options

    @property
    def case_id(self) -> str:
        return f"{self.model.name}/{self.backend.name}/{self.workload.name}"


@dataclass(frozen=True)
class Skipped:
    case_id: str
    reason: str


def _match(name: str, patterns: list[str] | None) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _check_patterns(kind: str, patterns: list[str] | None, names: list[str]) -> None:
    for p in patterns or []:
        if not any(fnmatch.fnmatchcase(n, p) for n in names):
            raise UserError(f"--{kind} {p!r} matches no {kind[:-1]} in the config "
                            f"(there are: {', '.join(names)})")


def build_plan(cfg: ResolvedConfig, models: list[str] | None = None,
               backends: list[str] | None = None,
               workloads: list[str] | None = None) -> tuple[list[Case], list[Skipped]]:
    """Cases in run order: backend by backend, model by model (one load per pair). A pair
    without an artifact, or a workload the backend cannot take (images on a text-only
    backend, say), is skipped with its reason."""
    run = cfg.run
    _check_patterns("models", models, [m.name for m in run.models])
    _check_patterns("backends", backends, [b.name for b in run.backends])
    _check_patterns("workloads", workloads, [w.name for w in run.workloads])
    cases: list[Case] = []
    skipped: list[Skipped] = []
    for b in run.backends:
        if not _match(b.name, backends):
            continue
        caps = backend_capabilities(b.type, cfg.backend_options.get(b.name))
        for m in run.models:
            if not _match(m.name, models):
                continue
            artifact = cfg.artifacts.get((m.name, b.name))
            for w in run.workloads:
                if not _match(w.name, workloads):
                    continue
                cid = f"{m.name}/{b.name}/{w.name}"
                if artifact is None:
                    skipped.append(Skipped(cid, f"model has no artifact for backend {b.name!r}"))
                    continue
                why = caps.refusal(w.kind, bool(w.images), w.depth)
                if why is not None:
                    skipped.append(Skipped(cid, f"backend {b.name!r} ({b.type}) {why}"))
                    continue
                cases.append(Case(m, b, w, artifact))
    if not cases:
        reasons = sorted({sk.reason for sk in skipped})
        raise UserError("nothing to run: the filters leave no case"
                        + (f" (skipped: {'; '.join(reasons[:3])})" if reasons else ""))
    return cases, skipped


def skipped_lines(skipped: list[Skipped]) -> list[str]:
    """One line per reason: "2 case(s) skipped (a, b): backend 'cpu' (llama_cpp) takes ..."."""
    by_reason: dict[str, list[str]] = {}
    for sk in skipped:
        by_reason.setdefault(sk.reason, []).append(sk.case_id)
    lines = []
    for reason, ids in by_reason.items():
        shown = ", ".join(ids[:3]) + (f", +{len(ids) - 3} more" if len(ids) > 3 else "")
        lines.append(f"{len(ids)} case(s) skipped ({shown}): {reason}")
    return lines
