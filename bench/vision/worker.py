"""The vision side in its own process, watched from the benchmark process.

The child (started with multiprocessing's "spawn", so it shares no state and no device
handle with the parent) opens the source, loads the detector, then loops, sending per-frame
records in batches over a pipe as JSON (at most 0.1 s old), and a heartbeat at least every
0.5 s. The parent
reads the pipe on a thread and watches:

- a crash (segfault, abort, uncaught error): the process is gone without saying "done";
  recorded with its time, exit code or signal, and the last error the child sent;
- a hang (a device call that never returns): no message for ``heartbeat_timeout_s``; the
  process is killed (SIGKILL) and that is recorded.

Either way the frames received until then are kept, and the parent goes on. The device is
released because the process that held it is gone: the kernel closes every file descriptor
of a dead process, /dev/hailo* included (expected HailoRT behaviour, not verified on
hardware here). Times are ``time.perf_counter()`` in the child, the clock ``RealClock``
reads in the parent (CLOCK_MONOTONIC on Linux: one timebase for both processes).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event

from bench.clock import Clock, RealClock
from bench.common import Json, JsonObject
from bench.errors import UserError
from bench.vision.config import VisionOptions
from bench.vision.loop import FrameRecord

HEARTBEAT_S = 0.5
"""The child says something at least this often (frames, or a heartbeat)."""
MAX_BATCH_AGE_S = 0.1
"""Frame records wait at most this long to be sent: a crash loses at most the last 0.1 s."""


@dataclass
class VisionFailure:
    t: float
    """Clock time the failure was seen, seconds."""
    kind: str
    """"crash" (process died), "hang" (silent, killed), "error" (exception), "start"."""
    message: str
    exitcode: int | None = None


@dataclass
class VisionRun:
    records: list[FrameRecord] = field(default_factory=list)
    info: JsonObject = field(default_factory=dict)
    failure: VisionFailure | None = None
    ended: str = "not started"
    """"stopped", "source ended", "failed"."""
    device_released: str | None = None
    simulated: bool = False


class VisionWorker:
    """Start with ``start()``; ``stop()`` returns the VisionRun. A failure never raises here,
    except a ``UserError`` at start (a bad path in the config: exit 2 for the user)."""

    def __init__(self, options: VisionOptions, *, clock: Clock | None = None) -> None:
        self.options = options
        self.clock: Clock = clock or RealClock()
        if self.clock.virtual:
            raise UserError("mixed mode and the vision worker need the real clock "
                            "(clock: real): a separate process cannot share a virtual clock")
        self.run = VisionRun(simulated=options.simulated)
        self._ctx = mp.get_context("spawn")
        self._stop = self._ctx.Event()
        self._llm_busy = self._ctx.Event()
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None
        self._reader: threading.Thread | None = None
        self._ready = threading.Event()
        self._finished = threading.Event()
        self._lock = threading.Lock()
        self._last_msg = 0.0
        self._child_error: tuple[str, str] | None = None
        self._user_error: str | None = None
        self._stopping = False

    @property
    def _process(self) -> BaseProcess:
        assert self._proc is not None, "start() first"
        return self._proc

    @property
    def _pipe(self) -> Connection:
        assert self._conn is not None, "start() first"
        return self._conn

    # ---- parent API ------------------------------------------------------------------------

    def start(self) -> bool:
        """Spawn the process and wait until it is ready; False if it failed (see run.failure)."""
        parent_conn, child_conn = self._ctx.Pipe(duplex=False)
        self._conn = parent_conn
        self._proc = proc = self._ctx.Process(
            target=child_main, name="pibench-vision", daemon=True,
            args=(self.options.model_dump_json(), child_conn, self._stop, self._llm_busy),
        )
        self._last_msg = self.clock.now()
        proc.start()
        child_conn.close()
        self._reader = threading.Thread(target=self._read, name="vision-reader", daemon=True)
        self._reader.start()
        while not (self._ready.is_set() or self._finished.is_set()):
            self._ready.wait(0.05)
        if self._user_error is not None:
            raise UserError(self._user_error)
        return self._ready.is_set() and self.run.failure is None

    def set_llm_busy(self, busy: bool) -> None:
        (self._llm_busy.set if busy else self._llm_busy.clear)()

    @property
    def failure(self) -> VisionFailure | None:
        return self.run.failure

    @property
    def alive(self) -> bool:
        return not self._finished.is_set()

    def records(self) -> list[FrameRecord]:
        with self._lock:
            return list(self.run.records)

    def stop(self) -> VisionRun:
        """Ask the loop to end, wait for it (killing it if it does not end), return the run."""
        self._stopping = True
        self._stop.set()
        if self._proc is not None:
            self._finished.wait(self.options.heartbeat_timeout_s + 5.0)
            if not self._finished.is_set():
                self._kill("hang", "vision process did not stop within "
                           f"{self.options.heartbeat_timeout_s + 5.0:.0f} s after the stop request")
            if self._reader is not None:
                self._reader.join(5.0)
        return self.run

    def __enter__(self) -> VisionWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5.0)

    # ---- the reader thread -----------------------------------------------------------------

    def _read(self) -> None:
        try:
            while not self._finished.is_set():
                if self._pipe.poll(0.1):
                    try:
                        msg = json.loads(self._pipe.recv_bytes())
                    except (EOFError, OSError):
                        self._ended_without_done()
                        return
                    self._last_msg = self.clock.now()
                    self._handle(msg)
                    continue
                if not self._process.is_alive():
                    self._drain()
                    if not self._finished.is_set():
                        self._ended_without_done()
                    return
                limit = (self.options.heartbeat_timeout_s if self._ready.is_set()
                         else self.options.start_timeout_s)
                silent = self.clock.now() - self._last_msg
                if silent > limit:
                    what = "running" if self._ready.is_set() else "starting (source/model load)"
                    self._kill("hang", f"no heartbeat from the vision process for {silent:.1f} s "
                               f"while {what} (limit {limit:g} s); killed")
                    return
        finally:
            self._pipe.close()

    def _drain(self) -> None:
        try:
            while self._pipe.poll(0):
                self._handle(json.loads(self._pipe.recv_bytes()))
        except (EOFError, OSError):
            pass

    def _handle(self, msg: JsonObject) -> None:
        """One message of the vision process (``child_main``'s ``send``)."""
        kind = msg.get("type")
        if kind == "frames":
            rows = msg.get("rows")
            with self._lock:
                self.run.records.extend(FrameRecord.from_row(_floats(r))
                                        for r in (rows if isinstance(rows, list) else []))
        elif kind == "ready":
            self.run.info = {k: v for k, v in msg.items() if k != "type"}
            self._ready.set()
        elif kind == "error":
            message = str(msg.get("message"))
            self._child_error = (str(msg.get("where", "run")), message)
            if msg.get("user_error"):
                self._user_error = message
        elif kind == "done":
            self.run.ended = str(msg.get("reason", "stopped"))
            self._process.join(10.0)
            self._released()
            self._finished.set()

    def _ended_without_done(self) -> None:
        """The process is gone (or its pipe closed) without saying done: a crash."""
        self._process.join(5.0)
        code = self._process.exitcode
        if code is not None and code < 0:
            try:
                how = f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        where, message = self._child_error or ("run", "")
        kind = "start" if not self._ready.is_set() or where == "start" else (
            "error" if message and code is not None and code > 0 else "crash")
        text = f"vision process {how}" + (f": {message}" if message else "")
        self._fail(kind, text, code)

    def _kill(self, kind: str, message: str) -> None:
        if self._process.is_alive():
            self._process.kill()
        self._process.join(5.0)
        self._fail(kind, message, self._process.exitcode)

    def _fail(self, kind: str, message: str, code: int | None) -> None:
        if self.run.failure is None:
            self.run.failure = VisionFailure(self.clock.now(), kind, message, code)
        self.run.ended = "failed"
        self._released()
        self._finished.set()

    def _released(self) -> None:
        code = self._process.exitcode
        if code is None:
            self.run.device_released = "unknown: the vision process could not be ended"
        else:
            self.run.device_released = (
                f"vision process exited (exit code {code}); its device handles are closed "
                "with it" if code >= 0 else
                f"vision process ended by signal {-code}; the kernel closed its device handles")


# ---- the child process ---------------------------------------------------------------------


def _floats(row: Json) -> list[float]:
    """A frame row as sent (numbers); a damaged row fails in FrameRecord.from_row."""
    return [float(v) for v in row if isinstance(v, int | float)] if isinstance(row, list) else []


def child_main(options_json: str, conn: Connection, stop: Event, llm_busy: Event) -> None:
    """Entry point of the vision process (spawned: imports everything itself)."""
    from bench.errors import UserError as _UserError
    from bench.vision.detectors import make_detector
    from bench.vision.detectors import mock as mock_detector
    from bench.vision.frames import make_source
    from bench.vision.loop import run_vision_loop

    mock_detector.IN_WORKER = True
    clock = RealClock()
    options = VisionOptions.model_validate_json(options_json)

    def send(msg: JsonObject) -> None:
        conn.send_bytes(json.dumps(msg).encode())

    def error(where: str, exc: BaseException) -> None:
        send({"type": "error", "where": where, "t": clock.now(),
              "message": f"{type(exc).__name__}: {exc}",
              "user_error": isinstance(exc, _UserError)})

    t0 = clock.now()
    source = detector = None
    try:
        source = make_source(options.source, clock)
        source.open()
        detector = make_detector(options.detector, clock=clock)
        info = detector.load()
    except Exception as exc:
        error("start", exc)
        for part in (detector, source):
            if part is not None:
                part.close()
        conn.close()
        sys.exit(3)
    send({"type": "ready", "t": clock.now(), "load_s": clock.now() - t0, "pid": os.getpid(),
          "device": detector.device, "simulated": detector.simulated,
          "source": source.describe(), "detector": info})

    rows: list[list[float]] = []
    last_send = [clock.now()]

    def flush() -> None:
        send({"type": "frames", "rows": rows[:]} if rows else {"type": "hb", "t": clock.now()})
        rows.clear()
        last_send[0] = clock.now()

    def on_record(record: FrameRecord) -> None:
        rows.append(record.row())
        if len(rows) >= options.report_every or clock.now() - last_send[0] > MAX_BATCH_AGE_S:
            flush()

    def should_stop() -> bool:
        if clock.now() - last_send[0] > HEARTBEAT_S:
            flush()
        return bool(stop.is_set())

    code = 0
    reason = "stopped"
    try:
        reason = run_vision_loop(source, detector, clock, should_stop=should_stop,
                                 on_record=on_record, shared_load=llm_busy.is_set)
    except Exception as exc:
        flush()
        error("run", exc)
        code = 4
    finally:
        detector.close()
        source.close()
    if code == 0:
        flush()
        send({"type": "done", "reason": reason, "t": clock.now()})
    conn.close()
    sys.exit(code)
