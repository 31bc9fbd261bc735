"""A run with rounds: the schedule's visits (bench.runner.plan.schedule) in order, one record
per case when its last round is done.

Each visit warms up (``warmup`` generations: the model may have been reloaded, or other
cases ran since), measures its share of the repetitions with the case's meters, and is kept
as a ``RoundRecord`` (bench.results.record). Until its last round a case's record on disk is
a partial one (status ``interrupted``, labelled "rounds K of R done"), rewritten after every
visit: kill the run at any moment and every finished round is on disk; ``--resume`` reads the
last partial record of each case (``restore``), skips the rounds it holds, and measures a
round that was under way again in full (its finished repetitions stay in the partial record
until the complete one replaces it, as for a run without rounds: bench.results.reader).

Models: a (backend, model) pair is loaded at its first visit and closed after its last visit
of the round (``reload_per_round``) or of the run (otherwise: several pairs stay loaded at
once when the order interleaves them). A pair that fails to load fails every case on it.

The visits of a round, and the rounds of a case, are pooled by bench.runner.pooled; each
round's own figures, raw power samples included, stay in ``rounds``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.backends.base import Backend, ModelInfo, ModelRef
from bench.errors import PibenchError
from bench.results.metrics import case_summary
from bench.results.schema import RepRecord
from bench.results.store import utc_now
from bench.runner.plan import Visit as Planned
from bench.runner.pooled import merge_health, merge_host, merge_power
from bench.runner.record import Measured, build_record, error_record

if TYPE_CHECKING:
    from bench.runner.runner import Runner, Visit


@dataclass
class CaseState:
    """What a case has so far: its finished rounds, and the visits of the round under way."""

    reps: list[RepRecord] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    open: list[dict[str, Any]] = field(default_factory=list)
    """Visits of the current round (folded into one round entry when it ends)."""
    load_s: float | None = None
    warmup: int = 0
    started: str = ""
    info: ModelInfo | None = None
    done: bool = False
    skip: set[int] = field(default_factory=set)
    """Rounds a resumed run already has."""
    probe: tuple[str | None, bool] = (None, False)


def restore(record: dict[str, Any], planned: list[int]) -> CaseState | None:
    """The complete rounds of a partial record (a resumed run): a round is kept when it is
    marked complete and holds its ``planned`` repetitions; None if none is."""
    counts: dict[int, int] = {}
    for r in record.get("reps") or []:
        if isinstance(r.get("round"), int):
            counts[r["round"]] = counts.get(r["round"], 0) + 1
    rounds = [r for r in record.get("rounds") or [] if r.get("complete")
              and 1 <= r.get("round", 0) <= len(planned)
              and counts.get(r["round"]) == planned[r["round"] - 1]]
    if not rounds:
        return None
    keep = {r["round"] for r in rounds}
    st = CaseState(reps=[r for r in record.get("reps") or [] if r.get("round") in keep],
                   rounds=rounds, load_s=record.get("load_s"),
                   warmup=sum(int(r.get("warmup") or 0) for r in rounds),
                   started=str(record.get("started") or ""), skip=keep)
    th = record.get("thermal") or {}
    st.probe = (th.get("source"), bool(th.get("simulated")))
    return st


def fold(visits: list[dict[str, Any]], reps: list[RepRecord], complete: bool) -> dict[str, Any]:
    """The visits of a case in one round as its round entry (bench.results.record
    .RoundRecord); ``reps``: the round's repetitions."""
    first = visits[0]
    loads = [v["load_s"] for v in visits if v["load_s"] is not None]
    return {"round": first["round"], "first_rep": first["first_rep"], "n_reps": len(reps),
            "complete": complete, "started": first["started"],
            "finished": visits[-1]["finished"], "load_s": loads[0] if loads else None,
            "warmup": sum(v["warmup"] for v in visits),
            "summary": case_summary(reps, None) if reps else {},
            "health": merge_health([v["health"] for v in visits]),
            "power": merge_power([v["power"] for v in visits]),
            "host_load": merge_host([v["host_load"] for v in visits])}


class RoundLoop:
    """Runs the visits of a schedule through a Runner's measuring code."""

    def __init__(self, runner: Runner, visits: list[Planned],
                 restored: dict[str, CaseState]) -> None:
        self.r = runner
        self.visits = visits
        self.states = restored
        self.rounds = runner.cfg.run.rounds
        self.reload = runner.cfg.run.reload_per_round
        self.last: dict[tuple[str, str, int], int] = {}
        self.closes_round: dict[tuple[str, int], int] = {}
        for i, v in enumerate(visits):
            self.last[self._key(v, self.reload)] = i
            self.closes_round[(v.case.case_id, v.round)] = i
        self.open: dict[tuple[str, str], tuple[Backend, ModelInfo | None]] = {}
        self.broken: dict[tuple[str, str], tuple[Any, Backend | None]] = {}
        """A pair that did not load: its failure, and the backend (for its capabilities)."""

    @staticmethod
    def _key(v: Planned, reload: bool) -> tuple[str, str, int]:
        return (v.case.backend.name, v.case.model.name, v.round if reload else 0)

    def run(self) -> None:
        try:
            for i, v in enumerate(self.visits):
                self._visit(i, v)
                if self.last.get(self._key(v, self.reload)) == i:
                    self._close((v.case.backend.name, v.case.model.name))
        except KeyboardInterrupt:
            self._flush()
            raise
        finally:
            for pair in list(self.open):
                self._close(pair)

    def _close(self, pair: tuple[str, str]) -> None:
        item = self.open.pop(pair, None)
        if item is not None:
            item[0].close()

    def _load(self, v: Planned) -> tuple[Backend, ModelInfo | None, float | None]:
        """The pair's backend, loaded at its first visit (load time), open since (None)."""
        from bench.runner.runner import CaseFailure

        pair = (v.case.backend.name, v.case.model.name)
        if pair in self.open:
            b, info = self.open[pair]
            return b, info, None
        if pair in self.broken:
            raise self.broken[pair][0]
        try:
            backend = self.r._make_backend(v.case)
        except (ImportError, PibenchError) as exc:
            self.broken[pair] = (CaseFailure(exc, "load", None), None)
            raise self.broken[pair][0] from None
        backend.__enter__()
        m = v.case.model
        t0 = self.r.clock.now()
        try:
            info = backend.load(ModelRef(m.name, m.family, m.params_b, v.case.artifact))
        except KeyboardInterrupt:
            backend.close()
            raise
        except Exception as exc:
            backend.close()
            self.broken[pair] = (CaseFailure(exc, "load", None), backend)
            raise self.broken[pair][0] from None
        load_s = self.r.clock.now() - t0
        self.open[pair] = (backend, info)
        return backend, info, load_s

    def _visit(self, i: int, v: Planned) -> None:
        from bench.runner.runner import CaseFailure

        r, case, run = self.r, v.case, self.r.cfg.run
        st = self.states.setdefault(case.case_id, CaseState())
        warmup = run.warmup if v.opens_round else 0
        r._index += 1
        r._units_left = warmup + v.n_reps
        if st.done or v.round in st.skip:
            r._advance(r._units_left)
            return
        r.progress.case(r._index, case.case_id, f"round {v.round}/{self.rounds}")
        if not st.started:
            st.started = utc_now()
        if i and v.opens_round and run.cooldown_s:
            r.progress.case(r._index, case.case_id, f"cooling {run.cooldown_s:g} s")
            r.clock.sleep(run.cooldown_s)
        try:
            backend, info, load_s = self._load(v)
        except CaseFailure as exc:
            st.done = True
            pair = (case.backend.name, case.model.name)
            r._record_failure(case, self.broken.get(pair, (None, None))[1], st.started, exc)
            return
        if st.info is None:
            st.info = info
        if st.load_s is None and load_s is not None:
            st.load_s = load_s
        got = r._measure(case, backend, v.n_reps, v.first_rep, v.round, warmup=warmup,
                         baseline=v.opens_round)
        self._keep(st, v, got, load_s, warmup)
        broke = got.failure is not None or got.stop is not None
        if not broke and self.closes_round[(case.case_id, v.round)] != i:
            return  # more visits of this case in this round
        self._end_round(st, v.round, complete=not broke)
        planned = run.repetitions
        measured = self._measured(backend, st)
        if broke:
            st.done = got.failure is not None
            done = len(st.reps)
            r._write(build_record(case, case.case_id, st.started, measured,
                                  got.error(planned, done), warn=r.progress.message,
                                  interrupted=got.interrupted_label(planned, done)))
            if got.stop is not None:
                raise got.stop
            return
        if v.round == self.rounds:
            st.done = True
            r._write(build_record(case, case.case_id, st.started, measured, None,
                                  warn=r.progress.message))
            return
        n = len([x for x in st.rounds if x["complete"]])
        pending = error_record(None, "rep", None, None, kind="rounds pending",
                               message=f"{n} of {self.rounds} rounds measured; the others "
                                       "come later in the run (or with --resume)")
        built = build_record(case, case.case_id, st.started, measured, pending,
                             warn=r.progress.message,
                             interrupted=f"rounds {n} of {self.rounds} done")
        r.run_dir.append_case(built.to_line_dict())  # not counted: the case goes on

    def _flush(self) -> None:
        """Ctrl-C: every case with visits of an unfinished round gets a partial record
        (the case that was stopped already has one)."""
        planned = self.r.cfg.run.repetitions
        for cid, st in self.states.items():
            if st.done or not st.open:
                continue
            rnd = st.open[0]["round"]
            case = next(v.case for v in self.visits if v.case.case_id == cid)
            item = self.open.get((case.backend.name, case.model.name))
            if item is None:
                continue
            self._end_round(st, rnd, complete=False)
            done = len(st.reps)
            stop = error_record(KeyboardInterrupt(), "rep", done, None,
                                message=f"interrupted in round {rnd}; {done} of {planned} "
                                        "reps kept")
            self.r._write(build_record(case, cid, st.started, self._measured(item[0], st),
                                       stop, warn=self.r.progress.message,
                                       interrupted=f"interrupted: {done} of {planned} reps"))

    def _keep(self, st: CaseState, v: Planned, got: Visit, load_s: float | None,
              warmup: int) -> None:
        st.reps += got.reps
        st.warmup += warmup
        if got.probe is not None:
            st.probe = (got.probe.source, got.probe.simulated)
        st.open.append({
            "round": v.round, "first_rep": v.first_rep, "started": got.started,
            "finished": got.finished, "load_s": None if load_s is None else round(load_s, 4),
            "warmup": warmup, "health": got.extra.get("health"),
            "power": got.extra.get("power", []), "host_load": got.extra.get("host_load")})

    def _end_round(self, st: CaseState, rnd: int, complete: bool) -> None:
        if st.open:
            reps = [x for x in st.reps if x.get("round") == rnd]
            st.rounds.append(fold(st.open, reps, complete))
            st.open = []

    def _measured(self, backend: Backend, st: CaseState) -> Measured:
        from bench.runner.thermal import case_thermal

        rounds = st.rounds
        return Measured(backend, st.info, st.load_s, st.warmup, list(st.reps),
                        merge_power([x["power"] for x in rounds]),
                        merge_health([x["health"] for x in rounds]),
                        merge_host([x["host_load"] for x in rounds]),
                        thermal=case_thermal(st.reps, *st.probe),
                        rounds=list(rounds))
