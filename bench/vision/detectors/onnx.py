"""A YOLOv8-style ONNX model through onnxruntime on the CPU, where the user has one.

onnxruntime is optional; without it this detector says how to install it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import JsonObject
from bench.errors import BackendUnavailable, ModelLoadError, UserError
from bench.vision.config import OnnxDetectorOptions
from bench.vision.detectors import Detection, Detector

if TYPE_CHECKING:
    from bench.vision.detectors import Image
from bench.vision.detectors.nms import decode_yolov8


class OnnxDetector(Detector[OnnxDetectorOptions]):
    kind = "onnx"
    _session: Any = None
    _input_name = ""
    _cv2: Any = None

    def load(self) -> JsonObject:
        path = Path(self.options.model).expanduser()
        if not path.is_file():
            raise UserError(f"vision detector: ONNX model {str(path)!r} not found; "
                            "fix detector.model")
        try:
            import onnxruntime as ort
        except ImportError:
            raise BackendUnavailable("onnxruntime is not installed: pip install onnxruntime") \
                from None
        import cv2

        self._cv2 = cv2
        so = ort.SessionOptions()
        if self.options.threads is not None:
            so.intra_op_num_threads = self.options.threads
        try:
            self._session = ort.InferenceSession(str(path), so,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelLoadError(f"onnxruntime could not load {str(path)!r}: {exc}") from exc
        self._input_name = self._session.get_inputs()[0].name
        return {"detector": "onnxruntime (CPU)", "model": str(path),
                "onnxruntime": ort.__version__, "input_size": self.options.input_size}

    def detect(self, image: Image) -> list[Detection]:
        import numpy as np

        size = self.options.input_size
        height, width = image.shape[:2]
        rgb = self._cv2.cvtColor(self._cv2.resize(image, (size, size)), self._cv2.COLOR_BGR2RGB)
        blob = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
        (output, *_) = self._session.run(None, {self._input_name: blob})
        return decode_yolov8(output, self.options.score_threshold, width / size, height / size)

    def close(self) -> None:
        self._session = None
