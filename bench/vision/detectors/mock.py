"""A simulated detector: it sleeps a profile's latency on the run's clock. Simulated figures.

On a VirtualClock it is exact and instant (tests); on the real clock it occupies the vision
process like a detector would, without using the CPU. Its ``fault`` reproduces the reported
mixed-mode failures (segfault, abort, hang, exception) after a number of frames; the fatal
ones act only inside the vision worker process (``bench.vision.worker``), never in the
process that runs the benchmark.
"""

from __future__ import annotations

import os
import random
import signal
import time
from typing import Any

from bench.vision.config import MockDetectorOptions
from bench.vision.detectors import Detection, Detector

IN_WORKER = False
"""Set by the vision worker process: fatal faults are allowed only there."""


class MockDetector(Detector):
    kind = "mock"
    simulated = True
    options: MockDetectorOptions

    def __init__(self, options: MockDetectorOptions, **kw: Any) -> None:
        super().__init__(options, **kw)
        self.profile = options.resolved()
        self._rng = random.Random(options.seed)
        self._shared = False
        self.frames = 0

    @property
    def device(self) -> str:
        return str(self.profile["device"])

    def load(self) -> dict[str, Any]:
        return {"detector": f"mock ({self.options.profile})", "simulated": True,
                **{k: v for k, v in self.profile.items()}}

    def set_shared_load(self, busy: bool) -> None:
        self._shared = busy

    def latency_s(self) -> float:
        """This frame's simulated latency, seconds."""
        latency = float(self.profile["latency_ms"])  # type: ignore[arg-type]
        jitter = float(self.profile["jitter_ms"])  # type: ignore[arg-type]
        if self._shared:
            latency *= float(self.profile["shared_slowdown"])  # type: ignore[arg-type]
        if jitter > 0:
            latency += self._rng.gauss(0.0, jitter)
        return max(0.0, latency) / 1000.0

    def detect(self, image: Any) -> list[Detection]:
        fault = self.options.fault
        if fault is not None and self.frames >= fault.after_frames:
            self._fail(fault.kind)
        self.frames += 1
        self.clock.sleep(self.latency_s())
        height, width = image.shape[:2]
        step = width / (self.options.detections + 1)
        return [Detection(step * (i + 0.5), height * 0.3, step * (i + 1.5), height * 0.9,
                          0.9, 0) for i in range(self.options.detections)]

    def _fail(self, kind: str) -> None:
        if kind == "raise":
            raise RuntimeError("simulated detector failure (mock fault 'raise')")
        if not IN_WORKER:
            raise RuntimeError(f"mock fault {kind!r} acts only inside the vision worker process")
        if kind == "segfault":
            os.kill(os.getpid(), signal.SIGSEGV)
        elif kind == "abort":
            os.abort()
        while kind == "hang":  # a hung device call: no progress, no heartbeat
            time.sleep(3600)
