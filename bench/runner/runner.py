"""Run the cases of a plan: load once per (backend, model), warm up, measure, record.

One failing case is recorded with its error and the run goes on. Ctrl-C (or SIGTERM)
stops the current generation; finished cases are already on disk, and the case under way is
recorded with the repetitions it finished (status "interrupted"; ``--resume`` measures it
again in full and readers take the complete record, bench.results.reader.replaces).
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from bench.backends.base import Backend, ModelInfo, ModelRef, TokenEvent
from bench.clock import Clock
from bench.config.loader import ResolvedConfig
from bench.errors import BackendError, PibenchError
from bench.registry import backend_entry
from bench.results.metrics import rep_record
from bench.results.record import CaseRecord, ErrorRecord
from bench.results.schema import RepRecord
from bench.results.store import RunDir, utc_now
from bench.runner import memory
from bench.runner.hostload import HostLoad
from bench.runner.mixed import MixedCase, MixedRun, mixed_options, run_mixed_case
from bench.runner.plan import Case
from bench.runner.plan import Visit as Planned
from bench.runner.progress import Progress
from bench.runner.record import Measured, build_record, error_record
from bench.runner.record import one_line as _one_line
from bench.runner.requests import make_request
from bench.runner.rounds import CaseState, RoundLoop
from bench.runner.thermal import Probe, case_thermal, probe_for, reading, wait_ready


@dataclass
class Outcome:
    ok: int = 0
    failed: int = 0
    partial: int = 0
    """Cases stopped by an interrupt, recorded with the repetitions they finished."""
    interrupted: bool = False
    records: list[dict[str, Any]] = field(default_factory=list)


class CaseFailure(Exception):
    def __init__(self, error: BaseException, phase: str, rep: int | None) -> None:
        super().__init__(str(error))
        self.error, self.phase, self.rep = error, phase, rep


@dataclass
class Visit:
    """What one stretch of a case's repetitions gave (the whole case, or one round)."""

    started: str
    t0: float
    reps: list[RepRecord] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    """power, health (the case's instruments) and host_load."""
    failure: CaseFailure | None = None
    stop: KeyboardInterrupt | None = None
    probe: Probe | None = None
    elapsed_s: float = 0.0
    finished: str = ""

    def thermal_summary(self) -> dict[str, Any] | None:
        p = self.probe
        return case_thermal(self.reps, p.source if p else None, bool(p and p.simulated))

    def error(self, planned: int, done: int | None = None) -> ErrorRecord | None:
        """The failure or the interrupt as the record's error (None: neither)."""
        done = len(self.reps) if done is None else done
        if self.failure is not None:
            f = self.failure
            return error_record(f.error, f.phase, f.rep, self.elapsed_s)
        if self.stop is not None:
            return error_record(self.stop, "rep", done, self.elapsed_s,
                                message=f"interrupted during rep {done + 1} of {planned}; "
                                        f"{done} kept")
        return None

    def interrupted_label(self, planned: int, done: int | None = None) -> str | None:
        done = len(self.reps) if done is None else done
        return None if self.stop is None else f"interrupted: {done} of {planned} reps"


def _case(item: Case | MixedCase) -> Case:
    return item.case if isinstance(item, MixedCase) else item


class Runner:
    def __init__(self, cfg: ResolvedConfig, run_dir: RunDir, clock: Clock,
                 progress: Progress, metering: Any = None) -> None:
        self.cfg = cfg
        self.run_dir = run_dir
        self.clock = clock
        self.progress = progress
        self.metering = metering  # bench.runner.instruments.Instruments or None
        self.base_dir = cfg.folder
        self.outcome = Outcome()
        self._index = 0
        self._units_left = 0
        """Progress units of the current case not yet advanced (its repetitions)."""

    # -- the loop ---------------------------------------------------------------------
    def run(self, cases: list[Case], mixed: list[MixedCase] | None = None,
            visits: list[Planned] | None = None,
            restored: dict[str, CaseState] | None = None) -> Outcome:
        """Run the cases in the plan's order, or (``visits``: a run with rounds) the
        schedule's visits, ``restored`` holding the rounds a resumed run already has
        (bench.runner.rounds); mixed cases after them."""
        items: list[Case | MixedCase] = [*cases, *(mixed or [])]
        if visits is not None:
            units = sum((self.cfg.run.warmup if v.opens_round else 0) + v.n_reps
                        for v in visits)
            self.progress.start(len(visits) + len(mixed or []),
                                units + sum(self._units(m) for m in mixed or []))
            items = list(mixed or [])
        else:
            self.progress.start(len(items), sum(self._units(c) for c in items))
        try:
            if visits is not None:
                RoundLoop(self, visits, restored or {}).run()
            groups = groupby(items, key=lambda c: (type(c), _case(c).backend.name,
                                                   _case(c).model.name))
            for _, group in groups:
                self._run_group(list(group))
        except KeyboardInterrupt:
            self.outcome.interrupted = True
        finally:
            self.progress.stop()
        return self.outcome

    def _units(self, item: Case | MixedCase) -> int:
        """Progress units of a case: its warm-ups and repetitions (generations of about the
        same length); a mixed case's three phases."""
        run = self.cfg.run
        return 3 if isinstance(item, MixedCase) else run.warmup + run.repetitions

    def _advance(self, n: int = 1) -> None:
        n = min(n, self._units_left)
        if n > 0:
            self._units_left -= n
            self.progress.advance(n)

    def _make_backend(self, case: Case) -> Backend:
        cls = backend_entry(case.backend.type).backend_cls()
        backend: Backend = cls(self.cfg.backend_options[case.backend.name], clock=self.clock)
        return backend

    def _run_group(self, cases: list[Case | MixedCase]) -> None:
        first = _case(cases[0])
        self._index += 1
        self.progress.case(self._index, first.case_id, "loading")
        started = utc_now()
        try:
            backend = self._make_backend(first)
        except (ImportError, PibenchError) as exc:
            # a backend whose library is missing: every case of the group fails the same way
            for i, case in enumerate(cases):
                if i:
                    self._index += 1
                self._record_failure(case, None, started, CaseFailure(exc, "load", None))
            return
        with backend:
            ref = ModelRef(first.model.name, first.model.family, first.model.params_b,
                           first.artifact)
            t0 = self.clock.now()
            try:
                info: ModelInfo | None = backend.load(ref)
                load_s: float | None = self.clock.now() - t0
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                for i, case in enumerate(cases):
                    if i:
                        self._index += 1
                    self._record_failure(case, backend, started,
                                         CaseFailure(exc, "load", None))
                return
            for i, case in enumerate(cases):
                if i:
                    self._index += 1
                    if self.cfg.run.cooldown_s:
                        self.progress.case(self._index, case.case_id,
                                           f"cooling {self.cfg.run.cooldown_s:g} s")
                        self.clock.sleep(self.cfg.run.cooldown_s)
                self.progress.case(self._index, case.case_id)
                when = utc_now() if i else started
                if isinstance(case, MixedCase):
                    self._run_mixed(case, backend, info, load_s, when)
                else:
                    self._run_case(case, backend, info, load_s, when)

    def _mixed_run(self) -> MixedRun:
        options = mixed_options(self.cfg)
        if options is None:
            raise ValueError("a mixed case without a mixed: section")

        def phase(name: str, figures: str | None) -> None:
            if figures:  # the phase that ended: its vision figures
                self.progress.figures(figures)
            if name != "start":
                self._advance()
            if name != "done":
                self.progress.rep(name)

        return MixedRun(self._generate, self.clock, self.cfg.run.repetitions,
                        self.cfg.run.warmup, options,
                        self.metering.meters if self.metering is not None else (),
                        status=self.progress.rep, on_phase=phase)

    def _run_mixed(self, mc: MixedCase, backend: Backend, info: ModelInfo | None,
                   load_s: float | None, started: str) -> None:
        t_case = self.clock.now()
        self._units_left = self._units(mc)
        try:
            result = run_mixed_case(self._mixed_run(), mc, backend)
        except CaseFailure as exc:  # the warm-up failed: no mixed figures
            self._record_failure(mc, backend, started, exc)
            return
        error = None
        failures = result.get("failures") or []
        if failures:
            f = failures[0]
            error = error_record(None, "mixed", None, round(self.clock.now() - t_case, 3),
                                 kind=f"{f['side']} side: {f['kind']}",
                                 message=str(f["message"]).splitlines()[0] if f["message"]
                                 else f["kind"])
        measured = Measured(backend, info, load_s, self.cfg.run.warmup, mixed=result)
        self._write(build_record(mc.case, mc.case_id, started, measured, error,
                                 warn=self.progress.message))

    # -- one case ---------------------------------------------------------------------
    def _run_case(self, case: Case, backend: Backend, info: ModelInfo | None,
                  load_s: float | None, started: str) -> None:
        run = self.cfg.run
        self._units_left = self._units(case)
        v = self._measure(case, backend, run.repetitions, 0, None, warmup=run.warmup)
        measured = Measured(backend, info, load_s, run.warmup, v.reps, v.extra.get("power", []),
                            v.extra.get("health"), v.extra["host_load"],
                            thermal=v.thermal_summary())
        self._write(build_record(case, case.case_id, started, measured,
                                 v.error(run.repetitions), warn=self.progress.message,
                                 interrupted=v.interrupted_label(run.repetitions)))
        if v.stop is not None:
            raise v.stop

    def _measure(self, case: Case, backend: Backend, n_reps: int, first: int,
                 rnd: int | None, warmup: int, baseline: bool = True) -> Visit:
        """``warmup`` warm-ups, then ``n_reps`` measured repetitions numbered from
        ``first`` (in round ``rnd``, None without rounds), with the case's meters, host load
        and thermal readings around them (``baseline``: the meters' cooling and idle
        baseline first). A failure or Ctrl-C is kept in the result."""
        v = Visit(started=utc_now(), t0=self.clock.now())
        instruments = self.metering.for_case() if self.metering else None
        health = self.metering.health if self.metering is not None else None
        probe = probe_for(self.clock, health)
        if probe is not None and probe.simulated != backend.capabilities.simulated:
            probe = None  # a simulated board says nothing about real hardware, and back
        v.probe = probe
        cool_below = getattr(self.cfg.health, "cool_below_c", None)
        cool_timeout = float(getattr(self.cfg.health, "cool_timeout_s", 300.0))
        host = HostLoad(backend.server())
        memory.reset_peak()
        keep_text = case.workload.kind != "throughput"
        call = 0
        windows: list[Any] = []
        try:
            if instruments is not None and baseline:
                self.progress.rep("cooling / idle baseline")
                instruments.before_case()
            for w in range(warmup):
                self.progress.rep(f"warm-up {w + 1}/{warmup}")
                self._generate(backend, case, call, w, "warmup")
                call += 1
                self._advance()
            with host, instruments.track() if instruments is not None else nullcontext():
                for r in range(n_reps):
                    index = first + r
                    cooled = None
                    if probe is not None and cool_below is not None:
                        self.progress.rep(f"cooling below {cool_below:g} C")
                        cooled = wait_ready(probe, self.clock, cool_below, cool_timeout)
                    before = reading(probe) if probe is not None else None
                    self.progress.rep(f"rep {r + 1}/{n_reps}" + (f" (round {rnd})" if rnd
                                                                   else ""))
                    stats, events = self._generate(backend, case, call, index, "rep")
                    call += 1
                    rec = rep_record(index, stats, events, keep_text)
                    if keep_text:
                        rec["prompt"] = make_request(case.workload, call - 1, index,
                                                     self.base_dir).messages[-1].content[:500]
                    if rnd is not None:
                        rec["round"] = rnd
                    if probe is not None and before is not None:
                        after = reading(probe)
                        rec["thermal"] = {"temp_start_c": before[0], "temp_end_c": after[0],
                                          "arm_mhz_start": before[1], "arm_mhz_end": after[1],
                                          **({"cooled": cooled} if cooled is not None else {})}
                    v.reps.append(rec)
                    windows.append((stats, events))
                    self._advance()
        except CaseFailure as exc:
            v.failure = exc
        except KeyboardInterrupt as exc:
            if not v.reps:
                raise  # nothing measured yet: nothing to keep
            v.stop = exc
        if instruments is not None:
            try:
                v.extra = instruments.summary(windows)
            except Exception as exc:
                v.extra = {"power": [], "health": None}
                self.progress.message(f"warning: power summary failed: {_one_line(exc)}")
                traceback.print_exc()
        v.extra["host_load"] = host.summary()
        v.elapsed_s = round(self.clock.now() - v.t0, 3)
        v.finished = utc_now()
        return v

    def _generate(self, backend: Backend, case: Case, call: int, index: int,
                  phase: str) -> tuple[Any, list[TokenEvent]]:
        request = make_request(case.workload, call, index, self.base_dir)
        why = backend.capabilities.refusal(request.kind, bool(request.images), request.depth)
        if why is not None:  # the plan leaves such cases out; a backend may still say no
            raise CaseFailure(BackendError(
                f"backend {case.backend.name!r} ({backend.name}) {why}: workload "
                f"{case.workload.name!r}"), phase, index)
        events: list[TokenEvent] = []
        append = events.append
        n = 0
        try:
            backend.reset()
            gen = backend.generate(request)
            while True:
                try:
                    ev = next(gen)
                except StopIteration as stop:
                    stats = stop.value
                    break
                append(ev)
                n += ev.n
                if n > 1:
                    span = ev.t - events[0].t
                    self.progress.token(n, (n - events[0].n) / span if span > 0 else None)
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            with suppress(Exception):
                backend.reset()
            raise CaseFailure(exc, phase, index) from exc
        if stats is None:
            raise CaseFailure(BackendError(f"{backend.name}: generate() returned no stats"),
                              phase, index)
        return stats, events

    # -- records ----------------------------------------------------------------------
    def _record_failure(self, item: Case | MixedCase, backend: Backend | None, started: str,
                        failure: CaseFailure) -> None:
        self.progress.case(self._index, item.case_id)
        self._units_left = self._units(item)
        error = error_record(failure.error, failure.phase, failure.rep, None)
        simulated = backend is not None and backend.capabilities.simulated
        self._write(build_record(_case(item), item.case_id, started, None, error, simulated,
                                 self.progress.message))

    def _write(self, built: CaseRecord) -> None:
        self._advance(self._units_left)  # a failed case's missing reps: the bar goes on
        record = built.to_line_dict()
        self.run_dir.append_case(record)
        self.outcome.records.append(record)
        if record["status"] == "ok":
            self.outcome.ok += 1
        elif record["status"] == "interrupted":
            self.outcome.partial += 1
        else:
            self.outcome.failed += 1
        self.progress.case_done(record)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a run the way Ctrl-C does: finished cases stay, status 'interrupted'."""
    import signal

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


