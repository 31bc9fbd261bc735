"""Mixed mode: vision and an LLM at the same time, and what each costs the other.

``run_mixed`` runs three phases for one placement:

(a) vision alone for ``vision_alone_s`` (after ``settle_s`` of warm-up);
(b) the LLM alone (``llm_case()``);
(c) both: vision starts, runs ``settle_s``, then ``llm_case()`` runs while it goes on; the
    vision figures of (c) are cut to the LLM's window.

It returns a dict of figures (each with unit and n), the interference ratios (mixed / alone),
power per phase when meters are given, and the failures of either side with their time. A
failure of one side never loses the other side's figures, and run_mixed returns normally;
only a ``UserError`` (a bad path in the config) propagates.

Simulated contention: when both sides run on the same device (the detector's ``device`` and
the backend's declared ``runs_on``), during (c) the vision process is told an LLM is busy
there (a multiprocessing Event the simulated detector reads before each frame) and the LLM
side is told a vision load shares its device (``llm_co_tenant``, given a predicate that is
true while the vision process runs; the mock backend reads it before each token). Each
simulated side then slows down by the factor its profile states as an assumption; real
detectors and real backends ignore both signals, their contention is real.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from bench.clock import Clock
from bench.common import Json, JsonObject, json_number, json_object
from bench.errors import UserError
from bench.meters.base import PowerMeter, Recording
from bench.vision.config import MockDetectorOptions, VisionOptions
from bench.vision.llm_side import LLMSideResult
from bench.vision.stats import figure, summarize
from bench.vision.worker import VisionRun, VisionWorker


@dataclass
class _Phase:
    """A phase with the vision side running: its worker (started, settled), the meters'
    recordings, and the VisionRun its ``worker.stop()`` returned (set by the phase)."""

    t_start: float
    worker: VisionWorker
    recordings: list[Recording]
    run: VisionRun | None = None


@contextlib.contextmanager
def _vision_phase(vision: VisionOptions, meters: Sequence[PowerMeter], clock: Clock,
                  settle_s: float) -> Iterator[_Phase]:
    """Meters running, the vision worker started and given ``settle_s``; the body sets
    ``phase.run = phase.worker.stop()``. After the worker, a mock detector's frames are drawn
    on the simulated device before the meters stop."""
    with _simulated_vision_power(vision) as add_frames, _metered(meters) as recordings:
        phase = _Phase(clock.now(), VisionWorker(vision, clock=clock), recordings)
        with phase.worker:
            phase.worker.start()
            clock.sleep(settle_s)
            yield phase
        if phase.run is not None:
            add_frames(phase.run)


def _call_llm(llm_case: Callable[[], LLMSideResult], clock: Clock) -> LLMSideResult:
    t0 = clock.now()
    try:
        result = llm_case()
    except UserError:
        raise
    except Exception as exc:  # the LLM side failed: keep the vision side's figures
        now = clock.now()
        return LLMSideResult(None, None, None, 0, ok=False, error=f"{type(exc).__name__}: {exc}",
                             error_t=now, t_start=t0, t_end=now)
    if result.t_start is None:
        result.t_start = t0
    if result.t_end is None:
        result.t_end = clock.now()
    return result


@contextlib.contextmanager
def _metered(meters: Sequence[PowerMeter]) -> Iterator[list[Recording]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(m.track()) for m in meters]


def _power(recordings: list[Recording], t0: float, t1: float) -> list[JsonObject]:
    out = []
    for rec in recordings:
        watts = [s.watts for s in rec.samples if s.watts is not None and t0 <= s.t <= t1]
        mean = sum(watts) / len(watts) if watts else None
        out.append(figure(mean, "W", len(watts), source=rec.source, covers=rec.covers,
                          simulated=rec.simulated, method="mean of samples in the window",
                          gaps=sum(1 for s in rec.samples if s.watts is None)))
    return out


@contextlib.contextmanager
def _simulated_vision_power(vision: VisionOptions) -> Iterator[Callable[[VisionRun], None]]:
    """A mock detector's power, for the mock meter: a simulated device busy at the profile's
    ``power_w`` during each frame's detector call, idle (0 W) between frames. The detector runs
    in the vision process, so the parent draws the busy segments from the frame records the
    worker sent back (both processes read CLOCK_MONOTONIC): call the yielded function with the
    phase's VisionRun before the meters stop (the mock meter builds its samples on exit).
    Frames after a crash never come back: a dead detector draws nothing. On the mock LLM's
    device the two draw from one budget, capped at the LLM profile's busy watts."""
    detector = vision.detector
    watts = detector.resolved().get("power_w") if isinstance(detector, MockDetectorOptions) \
        else None
    if watts is None:
        yield lambda run: None
        return
    from bench import simdevice as simdev

    # kind: on the LLM's device, the two share one power budget (bench.simdevice)
    dev = simdev.SimulatedDevice(f"vision-mock-{vision.device}", idle_w=0.0, kind=vision.device)

    def add_frames(run: VisionRun) -> None:
        for r in run.records:
            dev.busy(r.t_start, r.t_end, watts)

    simdev.register(dev)
    try:
        yield add_frames
    finally:
        simdev.unregister(dev)


def same_device(vision_device: str, llm_device: str | None) -> bool | None:
    """Whether the two sides share one device; None when the LLM's device is not declared."""
    if llm_device not in ("cpu", "npu"):
        return None
    return llm_device == vision_device


def _vision_side(run: VisionRun, t0: float, t1: float) -> JsonObject:
    end = t1
    if run.failure is not None and run.failure.t < t1:
        end = max(t0, run.failure.t)
    out = summarize(run.records, t0, end, simulated=run.simulated)
    out["info"] = run.info
    out["ended"] = run.ended
    out["device_released"] = run.device_released
    return out


def _ratio(mixed: float | None, alone: float | None, unit: str, n: int) -> JsonObject:
    value = mixed / alone if mixed is not None and alone else None
    return figure(value, unit, n, method="mixed / alone")


def _value(side: JsonObject, name: str) -> float | None:
    """The value of the figure ``name`` of a phase's vision figures (None: not measured)."""
    return json_number(json_object(side.get(name)).get("value"))


def _count(value: Json) -> int:
    return value if isinstance(value, int) else 0


def _live(side: JsonObject, phase: str) -> str:
    """The vision figures of a phase for the live display: fps and detector latency."""
    fps, med = _value(side, "fps"), _value(side, "latency_median")
    text = f"vision {phase}: " + (f"{fps:.1f} fps" if fps is not None else "fps n/a")
    return text + (f", detector {med:.1f} ms (median)" if med is not None else "")


def run_mixed(
    vision: VisionOptions,
    llm_case: Callable[[], LLMSideResult],
    *,
    clock: Clock,
    placement: str,
    llm_device: str | None = None,
    vision_alone_s: float = 10.0,
    settle_s: float = 1.0,
    meters: Sequence[PowerMeter] = (),
    llm_alone: LLMSideResult | None = None,
    llm_co_tenant: Callable[[Callable[[], bool] | None], None] | None = None,
    on_phase: Callable[[str, str | None], None] | None = None,
) -> JsonObject:
    """One placement through phases (a), (b), (c). ``llm_device`` ("npu", "cpu", or
    "unknown"/None: not declared) is where the LLM runs, compared with the detector's device
    to simulate contention; ``llm_co_tenant`` (the backend's ``set_co_tenant``) is told when a
    vision load shares the LLM's device in (c), and None after; ``llm_alone`` skips phase (b)
    when the LLM-alone figures were measured already. ``on_phase(name, figures)`` is told
    when a phase starts ("vision alone", "LLM alone", "vision + LLM", then "done"), with the
    vision figures of the phase that ended (fps, detector latency) or None."""
    tell = on_phase or (lambda name, figures: None)
    shared = same_device(vision.device, llm_device)
    failures: list[Json] = []
    phases: dict[str, Json] = {}
    power: dict[str, Json] = {}

    def note(side: str, phase: str, t: float | None, t_phase: float, kind: str, msg: str) -> None:
        failures.append({"side": side, "phase": phase, "t": t,
                         "t_in_phase_s": None if t is None else t - t_phase,
                         "kind": kind, "message": msg})

    # (a) vision alone
    tell("vision alone", None)
    with _vision_phase(vision, meters, clock, settle_s) as phase_a:
        worker = phase_a.worker
        a0 = clock.now()
        while clock.now() - a0 < vision_alone_s and worker.alive:
            clock.sleep(min(0.1, vision_alone_s - (clock.now() - a0)))
        a1 = clock.now()
        run_a = phase_a.run = worker.stop()
    phases["vision_alone"] = [a0, a1]
    power["vision_alone"] = _power(phase_a.recordings, a0, a1)
    if run_a.failure:
        f = run_a.failure
        note("vision", "vision_alone", f.t, phase_a.t_start, f.kind, f.message)

    # (b) LLM alone
    tell("LLM alone", _live(_vision_side(run_a, a0, a1), "alone"))
    if llm_alone is None:
        with _metered(meters) as recs:
            llm_b = _call_llm(llm_case, clock)
        power["llm_alone"] = _power(recs, llm_b.t_start or 0.0, llm_b.t_end or 0.0)
    else:
        llm_b = llm_alone
    phases["llm_alone"] = [llm_b.t_start or 0.0, llm_b.t_end or 0.0]
    if not llm_b.ok:
        note("llm", "llm_alone", llm_b.error_t, llm_b.t_start or 0.0, "error", llm_b.error or "")

    # (c) both
    tell("vision + LLM", None)
    with _vision_phase(vision, meters, clock, settle_s) as phase_c:
        both = phase_c.worker
        if shared:
            both.set_llm_busy(True)
            if llm_co_tenant is not None:
                llm_co_tenant(lambda: both.alive)
        try:
            llm_c = _call_llm(llm_case, clock)
        finally:
            both.set_llm_busy(False)
            if shared and llm_co_tenant is not None:
                llm_co_tenant(None)
        run_c = phase_c.run = both.stop()
    tc = phase_c.t_start
    c0, c1 = llm_c.t_start or tc, llm_c.t_end or clock.now()
    phases["mixed"] = [c0, c1]
    power["mixed"] = _power(phase_c.recordings, c0, c1)
    if run_c.failure:
        f = run_c.failure
        note("vision", "mixed", f.t, tc, f.kind, f.message)
    if not llm_c.ok:
        note("llm", "mixed", llm_c.error_t, c0, "error", llm_c.error or "")

    vision_a = _vision_side(run_a, a0, a1)
    vision_c = _vision_side(run_c, c0, c1)
    tell("done", _live(vision_c, "mixed"))
    return {
        "placement": placement,
        "vision_device": vision.device,
        "llm_device": llm_device or "unknown",
        "same_device": shared,
        "simulated": {"vision": vision.simulated, "llm": llm_b.simulated or llm_c.simulated},
        "vision": {"alone": vision_a, "mixed": vision_c},
        "llm": {"alone": llm_b.to_dict(), "mixed": llm_c.to_dict()},
        "interference": {
            "vision_fps": _ratio(_value(vision_c, "fps"), _value(vision_a, "fps"), "ratio",
                                 _count(vision_c.get("frames"))),
            "llm_gen_tps": _ratio(llm_c.gen_tps_median, llm_b.gen_tps_median, "ratio", llm_c.n),
            "llm_prompt_tps": _ratio(llm_c.prompt_tps_median, llm_b.prompt_tps_median, "ratio",
                                     llm_c.n),
            "llm_ttft": _ratio(llm_c.ttft_median, llm_b.ttft_median, "ratio", llm_c.n),
        },
        "power": power,
        "phases": phases,
        "failures": failures,
    }
