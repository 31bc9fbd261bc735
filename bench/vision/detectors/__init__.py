"""Detectors: one frame in, a list of detections out.

Each detector lives in its own module and imports its runtime (OpenCV, onnxruntime,
hailo_platform) only when it is made. ``load()`` opens the model and the device; ``close()``
releases them and is safe to call twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Generic, TypeAlias, TypeVar

from bench.clock import Clock, RealClock
from bench.common import JsonObject, Strict
from bench.registry import Registry

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from bench.vision.config import DetectorOptions

    Image: TypeAlias = NDArray[np.uint8]
    """One video frame: height x width x 3 (B, G, R) uint8 pixels."""

OptionsT = TypeVar("OptionsT", bound=Strict)


@dataclass(frozen=True)
class Detection:
    x0: float
    y0: float
    x1: float
    y1: float
    """Box corners in pixels of the frame given to detect()."""
    score: float
    label: int = 0
    """Class id (COCO for YOLO models; 0 = person for HOG)."""


class Detector(ABC, Generic[OptionsT]):
    """Base class, generic in the detector's options (``bench.vision.config``)."""

    kind: ClassVar[str]
    simulated: ClassVar[bool] = False

    def __init__(self, options: OptionsT, *, clock: Clock | None = None) -> None:
        self.options: OptionsT = options
        self.clock: Clock = clock or RealClock()

    @property
    def device(self) -> str:
        """"cpu" or "npu"."""
        return "cpu"

    @abstractmethod
    def load(self) -> JsonObject:
        """Open the model and device; return facts to record (model, input size, versions)."""

    @abstractmethod
    def detect(self, image: Image) -> list[Detection]:
        """Detections in one B, G, R uint8 frame."""

    def set_shared_load(self, busy: bool) -> None:
        """Told whether an LLM is running on this detector's device (only the mock uses it)."""

    def close(self) -> None:
        """Release the model and the device. Safe to call twice."""


DETECTORS: Registry[type[Detector]] = Registry("detector", {
    "hog": "bench.vision.detectors.hog:HogDetector",
    "onnx": "bench.vision.detectors.onnx:OnnxDetector",
    "hailo": "bench.vision.detectors.hailo:HailoDetector",
    "mock": "bench.vision.detectors.mock:MockDetector",
})


def make_detector(options: DetectorOptions, *, clock: Clock | None = None) -> Detector[Strict]:
    """The detector for validated options (``bench.vision.config``); imports its module only."""
    return DETECTORS.get(options.type)(options, clock=clock)
