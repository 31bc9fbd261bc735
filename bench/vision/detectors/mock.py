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
from typing import TYPE_CHECKING

from bench.clock import Clock
from bench.common import JsonObject
from bench.vision.config import MockDetectorOptions
from bench.vision.detectors import Detection, Detector

if TYPE_CHECKING:
    from bench.vision.detectors import Image

IN_WORKER = False
"""Set by the vision worker process: fatal faults are allowed only there."""


class MockDetector(Detector[MockDetectorOptions]):
    kind = "mock"
    simulated = True

    def __init__(self, options: MockDetectorOptions, *, clock: Clock | None = None) -> None:
        super().__init__(options, clock=clock)
        self.profile = options.resolved()
        self._rng = random.Random(options.seed)
        self._shared = False
        self.frames = 0

    @property
    def device(self) -> str:
        return self.profile["device"]

    def load(self) -> JsonObject:
        p = self.profile
        return {"detector": f"mock ({self.options.profile})", "simulated": True,
                "latency_ms": p["latency_ms"], "jitter_ms": p["jitter_ms"],
                "power_w": p["power_w"], "device": p["device"],
                "shared_slowdown": p["shared_slowdown"], "source": p["source"],
                "assumption": p["assumption"]}

    def set_shared_load(self, busy: bool) -> None:
        self._shared = busy

    def latency_s(self) -> float:
        """This frame's simulated latency, seconds."""
        latency = self.profile["latency_ms"]
        jitter = self.profile["jitter_ms"]
        if self._shared:
            latency *= self.profile["shared_slowdown"]
        if jitter > 0:
            latency += self._rng.gauss(0.0, jitter)
        return max(0.0, latency) / 1000.0

    def detect(self, image: Image) -> list[Detection]:
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
