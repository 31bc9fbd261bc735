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


# -- rounds ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Visit:
    """One case in one round: ``n_reps`` of its repetitions, from ``first_rep``."""

    case: Case
    round: int
    """From 1."""
    n_reps: int
    first_rep: int
    opens_round: bool = True
    """The case's first visit in this round: its warm-ups and idle baseline come first."""


def reps_per_round(repetitions: int, rounds: int) -> list[int]:
    """The repetitions of a case spread over the rounds, the first rounds taking one more
    when they do not divide evenly: 5 over 3 -> [2, 2, 1]."""
    base, extra = divmod(repetitions, rounds)
    return [base + (1 if r < extra else 0) for r in range(rounds)]


def _interleaved(cases: list[Case], rnd: int, n_reps: int, first: int) -> list[Visit]:
    """A model's backends take turns repetition by repetition for each workload (A B A B
    ...), model by model in the config's order; which backend goes first turns with the
    round, so that no device is always the one that meets the board after the other."""
    groups: dict[tuple[str, str], list[Case]] = {}
    for c in cases:
        groups.setdefault((c.model.name, c.workload.name), []).append(c)
    models = list(dict.fromkeys(c.model.name for c in cases))
    out: list[Visit] = []
    for m in models:
        for (gm, _w), group in groups.items():
            if gm != m:
                continue
            k = (rnd - 1) % len(group)
            turn = group[k:] + group[:k]
            out += [Visit(c, rnd, 1, first + i, opens_round=i == 0)
                    for i in range(n_reps) for c in turn]
    return out


def schedule(cases: list[Case], rounds: int, order: str, seed: int | None,
             repetitions: int) -> list[Visit]:
    """Every visit of a run, in run order. ``order``: blocks (the plan's order in every
    round), shuffle (each round shuffled by a generator seeded once with ``seed``),
    interleave-devices (``_interleaved``: one repetition per visit)."""
    import random

    counts = reps_per_round(repetitions, rounds)
    rng = random.Random(seed)
    visits: list[Visit] = []
    for rnd in range(1, rounds + 1):
        first = sum(counts[: rnd - 1])
        if order == "interleave-devices":
            visits += _interleaved(cases, rnd, counts[rnd - 1], first)
            continue
        ordered = list(cases)
        if order == "shuffle":
            rng.shuffle(ordered)
        visits += [Visit(c, rnd, counts[rnd - 1], first) for c in ordered]
    return visits
