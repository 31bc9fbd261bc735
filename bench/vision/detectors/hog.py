"""OpenCV's HOG people detector on the CPU: a real detector that needs no download.

OpenCV 5 moved HOGDescriptor out of the main module; this needs OpenCV 4
(opencv-python-headless>=4.8,<5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench.common import JsonObject
from bench.errors import BackendUnavailable
from bench.vision.config import HogDetectorOptions
from bench.vision.detectors import Detection, Detector

if TYPE_CHECKING:
    from bench.vision.detectors import Image


class HogDetector(Detector[HogDetectorOptions]):
    kind = "hog"
    _cv2: Any = None  # OpenCV's stubs vary between 4.x releases
    _hog: Any = None

    def load(self) -> JsonObject:
        try:
            import cv2 as cv2_typed
        except ImportError:
            raise BackendUnavailable(
                "OpenCV is not installed: pip install 'opencv-python-headless>=4.8,<5'"
            ) from None
        cv2: Any = cv2_typed  # OpenCV's stubs vary between 4.x releases
        if not hasattr(cv2, "HOGDescriptor"):
            raise BackendUnavailable(
                f"OpenCV {cv2.__version__} has no HOGDescriptor (OpenCV 5 moved it out): "
                "pip install 'opencv-python-headless>=4.8,<5'"
            )
        if self.options.threads is not None:
            cv2.setNumThreads(self.options.threads)
        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self._cv2, self._hog = cv2, hog
        return {"detector": "OpenCV HOG + linear SVM (default people detector)",
                "opencv": cv2.__version__, "threads": cv2.getNumThreads(),
                "resize_width": self.options.resize_width}

    def detect(self, image: Image) -> list[Detection]:
        o = self.options
        factor = 1.0
        if o.resize_width is not None and image.shape[1] != o.resize_width:
            factor = image.shape[1] / o.resize_width
            height = max(1, round(image.shape[0] / factor))
            image = self._cv2.resize(image, (o.resize_width, height))
        rects, weights = self._hog.detectMultiScale(
            image, hitThreshold=o.hit_threshold, winStride=(o.win_stride, o.win_stride),
            padding=(o.padding, o.padding), scale=o.scale,
        )
        import numpy as np

        out = []
        for (x, y, w, h), score in zip(rects, np.ravel(weights), strict=False):
            out.append(Detection(x * factor, y * factor, (x + w) * factor, (y + h) * factor,
                                 float(score), 0))
        return out
