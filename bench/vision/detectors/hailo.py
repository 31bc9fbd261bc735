"""A YOLO HEF on the Hailo-10H through the InferModel API (the only vision API on the 10H).

The VDevice is created with ``group_id`` "SHARED" so an LLM's VDevice (in this or another
process) can use the same chip; HailoRT's scheduler then shares it round robin. Everything
is created in the process that runs detect(): HailoRT refuses an InferModel created from
another process than its VDevice's.
"""

from __future__ import annotations

import contextlib
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.clock import Clock
from bench.common import JsonObject
from bench.errors import BackendUnavailable, ModelLoadError, UserError
from bench.vision.config import HailoDetectorOptions
from bench.vision.detectors import Detection, Detector

if TYPE_CHECKING:
    from bench.vision.detectors import Image
from bench.vision.detectors.nms import parse_hailo_nms

NO_HAILORT = (
    "hailo_platform (HailoRT 5.x Python binding) is not installed: on Raspberry Pi OS, "
    "sudo apt install dkms hailo-h10-all (it brings python3-h10-hailort)"
)


def import_hailo_platform() -> Any:
    try:
        return importlib.import_module("hailo_platform")
    except ImportError:
        raise BackendUnavailable(NO_HAILORT) from None


class HailoDetector(Detector[HailoDetectorOptions]):
    kind = "hailo"

    def __init__(self, options: HailoDetectorOptions, *, clock: Clock | None = None) -> None:
        super().__init__(options, clock=clock)
        self._stack = contextlib.ExitStack()
        self._vdevice: Any = None
        self._configured: Any = None
        self._bindings: Any = None
        self._input_hw: tuple[int, int] = (0, 0)
        self._input_shape: tuple[int, ...] = ()
        self._outputs: list[str] = []
        self._cv2: Any = None

    @property
    def device(self) -> str:
        return "npu"

    def load(self) -> JsonObject:
        hef = Path(self.options.hef).expanduser()
        if not hef.is_file():
            raise UserError(f"vision detector: HEF {str(hef)!r} not found; fix detector.hef")
        hp = import_hailo_platform()
        import cv2
        import numpy as np

        self._cv2 = cv2
        try:
            params = hp.VDevice.create_params()
            params.group_id = self.options.group_id
            self._vdevice = hp.VDevice(params)
            infer_model = self._vdevice.create_infer_model(str(hef))
            infer_model.set_batch_size(self.options.batch_size)
            float32 = hp.FormatType.FLOAT32
            self._outputs = list(infer_model.output_names)
            for name in self._outputs:
                infer_model.output(name).set_format_type(float32)
            self._input_shape = tuple(int(v) for v in infer_model.input().shape)
            self._input_hw = (self._input_shape[0], self._input_shape[1])
            self._configured = self._stack.enter_context(infer_model.configure())
            output_buffers = {
                name: np.empty(infer_model.output(name).shape, dtype=np.float32)
                for name in self._outputs
            }
            self._bindings = self._configured.create_bindings(output_buffers=output_buffers)
        except (UserError, BackendUnavailable):
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise ModelLoadError(f"HailoRT could not load {str(hef)!r}: {exc}") from exc
        return {"detector": "HailoRT InferModel", "hef": str(hef),
                "input_shape": list(self._input_shape), "outputs": self._outputs,
                "batch_size": self.options.batch_size, "group_id": self.options.group_id}

    def detect(self, image: Image) -> list[Detection]:
        import numpy as np

        height, width = image.shape[:2]
        h, w = self._input_hw
        rgb = self._cv2.cvtColor(self._cv2.resize(image, (w, h)), self._cv2.COLOR_BGR2RGB)
        self._bindings.input().set_buffer(np.ascontiguousarray(rgb))
        self._configured.run([self._bindings], self.options.timeout_ms)
        out: list[Detection] = []
        for name in self._outputs:
            result = self._bindings.output(name).get_buffer()
            out.extend(parse_hailo_nms(result, width, height, self.options.score_threshold))
        return out

    def close(self) -> None:
        try:
            self._stack.close()
        finally:
            self._configured = self._bindings = None
            if self._vdevice is not None:
                vdevice, self._vdevice = self._vdevice, None
                vdevice.release()
