"""Fake of HailoRT's InferModel side (vision) and of genai.VLM, shaped like hailo_platform 5.x.

Names and signatures follow hailo_platform/pyhailort/pyhailort.py (HailoRT 5.1-5.2):
``VDevice.create_infer_model(hef_source, name="") -> InferModel``; ``InferModel.set_batch_size``,
``input(name="")``, ``output(name="")``, ``input_names``, ``output_names``, ``configure()``;
``ConfiguredInferModel`` (a context manager) ``create_bindings(input_buffers=None,
output_buffers=None)``, ``run(bindings, timeout)``, ``run_async(bindings, callback=None)``,
``wait_for_async_ready(timeout_ms=1000, frames_count=1)``; ``Bindings.input(name="")`` /
``output(name="")`` -> stream with ``set_buffer(buffer)`` and ``get_buffer(tf_format=False)``;
``VLM(vdevice, model_path, optimize_memory_on_device=False)`` with ``generate(prompt, frames,
...)`` and ``input_frame_shape()``.

The fake model is scripted by its file: a "HEF" that is a JSON document, e.g.::

    {"fake_hef": "infer", "input_shape": [640, 640, 3], "classes": 80,
     "boxes": [[0, 0.9, 0.1, 0.2, 0.8, 0.4]],      # class, score, y0, x0, y1, x1 (0..1)
     "latency_ms": 5, "fail": {"kind": "segfault", "after_runs": 3}}

    {"fake_hef": "vlm", "frame_shape": [336, 336, 3], "reply": "A person.", "token_ms": 1}

so a spawned vision process sees the same script as the test that wrote the file.
``fail.kind``: "timeout" (raises HailoRTTimeout), "segfault", "abort", "hang" (sleeps forever).
"""

from __future__ import annotations

import enum
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np

NMS_OUTPUT = "yolov8s/yolov8_nms_postprocess"
INPUT = "yolov8s/input_layer1"


class HailoRTException(Exception):
    pass


class HailoRTTimeout(HailoRTException):
    pass


class FormatType(enum.Enum):
    AUTO = 0
    UINT8 = 1
    UINT16 = 2
    FLOAT32 = 3


class FormatOrder(enum.Enum):
    NHWC = 1
    NC = 2
    HAILO_NMS_BY_CLASS = 22
    HAILO_NMS_BY_SCORE = 23


class _Format:
    def __init__(self, type: FormatType, order: FormatOrder) -> None:
        self.type = type
        self.order = order


def load_spec(path: str | bytes, expect: str) -> dict[str, Any]:
    """The script of a fake HEF file; the real error text when the file is missing."""
    if isinstance(path, bytes):
        text = path.decode()
    else:
        p = Path(path)
        if not p.is_file():
            raise HailoRTException(f"Failed to open HEF file {path}")
        text = p.read_text()
    try:
        spec = json.loads(text)
    except ValueError:
        raise HailoRTException("Invalid HEF. See hailort.log for more information") from None
    if spec.get("fake_hef") != expect:
        raise HailoRTException(f"fake HEF {path!r} is not a {expect!r} model")
    return dict(spec)


class FakeInferStream:
    """InferModel.InferStream: an edge's name, shape and format."""

    def __init__(self, name: str, shape: list[int], order: FormatOrder, nms: bool) -> None:
        self.name = name
        self.shape = list(shape)
        self.format = _Format(FormatType.AUTO, order)
        self._nms = nms
        self.thresholds: dict[str, float] = {}

    @property
    def is_nms(self) -> bool:
        return self._nms

    def set_format_type(self, type: FormatType) -> None:
        self.format.type = type

    def set_format_order(self, order: FormatOrder) -> None:
        self.format.order = order

    def set_nms_score_threshold(self, threshold: float) -> None:
        self.thresholds["score"] = threshold

    def set_nms_iou_threshold(self, threshold: float) -> None:
        self.thresholds["iou"] = threshold

    def set_nms_max_proposals_per_class(self, max_proposals: int) -> None:
        self.thresholds["max_proposals"] = max_proposals


class FakeInferModel:
    """What ``VDevice.create_infer_model(hef_source, name="")`` returns."""

    def __init__(self, hef_source: str | bytes, name: str = "") -> None:
        self.spec = load_spec(hef_source, "infer")
        self.hef_source = hef_source
        self.name = name
        self.batch_size: int | None = None
        self.classes = int(self.spec.get("classes", 80))
        self.max_boxes = int(self.spec.get("max_boxes", 100))
        self._input = FakeInferStream(INPUT, self.spec.get("input_shape", [640, 640, 3]),
                                      FormatOrder.NHWC, False)
        size = self.classes * (1 + 5 * self.max_boxes)
        self._output = FakeInferStream(NMS_OUTPUT, [size], FormatOrder.HAILO_NMS_BY_CLASS, True)
        self.runs = 0

    def set_batch_size(self, batch_size: int) -> None:
        self.batch_size = batch_size

    @property
    def input_names(self) -> list[str]:
        return [INPUT]

    @property
    def output_names(self) -> list[str]:
        return [NMS_OUTPUT]

    @property
    def inputs(self) -> list[FakeInferStream]:
        return [self._input]

    @property
    def outputs(self) -> list[FakeInferStream]:
        return [self._output]

    def input(self, name: str = "") -> FakeInferStream:
        if name not in ("", INPUT):
            raise HailoRTException(f"Item not found: input {name!r}")
        return self._input

    def output(self, name: str = "") -> FakeInferStream:
        if name not in ("", NMS_OUTPUT):
            raise HailoRTException(f"Item not found: output {name!r}")
        return self._output

    def configure(self) -> FakeConfiguredInferModel:
        return FakeConfiguredInferModel(self)


def create_infer_model(vdevice: Any, hef_source: str | bytes, name: str = "") -> FakeInferModel:
    """What the fake ``VDevice.create_infer_model(hef_source, name="")`` calls."""
    if getattr(vdevice, "_released", False):
        raise HailoRTException("VDevice used after release()")
    try:
        from hailo_platform import _fake

        _fake.STATE.record("create_infer_model", hef=str(hef_source), model_name=name)
    except (ImportError, AttributeError):
        pass
    return FakeInferModel(hef_source, name)


class FakeBindingStream:
    def __init__(self, model: FakeInferModel, stream: FakeInferStream) -> None:
        self._model = model
        self._stream = stream
        self._buffer: Any = None

    def set_buffer(self, buffer: Any) -> None:
        if not buffer.flags.c_contiguous:
            raise HailoRTException("Buffer must be C_CONTIGUOUS")
        self._buffer = buffer

    def get_buffer(self, tf_format: bool | None = False) -> Any:
        if tf_format is None or not self._stream.is_nms:
            return self._buffer
        flat = self._buffer.reshape(-1)
        per_class, i = [], 0
        for _ in range(self._model.classes):
            count = int(flat[i])
            per_class.append(flat[i + 1 : i + 1 + 5 * count].reshape(count, 5).copy())
            i += 1 + 5 * count
        if not tf_format:
            return per_class
        tf = np.zeros((self._model.classes, 5, self._model.max_boxes), dtype=np.float32)
        for c, boxes in enumerate(per_class):
            tf[c, :, : len(boxes)] = boxes.T
        return tf


class FakeBindings:
    def __init__(self, model: FakeInferModel) -> None:
        self._in = FakeBindingStream(model, model._input)
        self._out = FakeBindingStream(model, model._output)

    def input(self, name: str = "") -> FakeBindingStream:
        self._in._model.input(name)
        return self._in

    def output(self, name: str = "") -> FakeBindingStream:
        self._out._model.output(name)
        return self._out

    def get(self) -> FakeBindings:
        return self


class FakeAsyncInferJob:
    def wait(self, timeout_ms: int) -> None:
        return None


class FakeConfiguredInferModel:
    def __init__(self, model: FakeInferModel) -> None:
        self._model = model
        self.closed = False

    def __enter__(self) -> FakeConfiguredInferModel:
        return self

    def __exit__(self, *args: object) -> None:
        self.closed = True

    def create_bindings(self, input_buffers: dict[str, Any] | None = None,
                        output_buffers: dict[str, Any] | None = None) -> FakeBindings:
        bindings = FakeBindings(self._model)
        for name, buf in (input_buffers or {}).items():
            bindings.input(name).set_buffer(buf)
        for name, buf in (output_buffers or {}).items():
            bindings.output(name).set_buffer(buf)
        return bindings

    def wait_for_async_ready(self, timeout_ms: int = 1000, frames_count: int = 1) -> None:
        return None

    def get_async_queue_size(self) -> int:
        return 4

    def run(self, bindings: list[FakeBindings], timeout: int) -> None:
        self.run_async(bindings).wait(timeout)

    def run_async(self, bindings: list[FakeBindings], callback: Any = None) -> FakeAsyncInferJob:
        if self.closed:
            raise HailoRTException("ConfiguredInferModel used after its context ended")
        for b in bindings:
            self._infer(b)
        if callback is not None:
            callback(completion_info=None)
        return FakeAsyncInferJob()

    def _infer(self, b: FakeBindings) -> None:
        m = self._model
        fail = m.spec.get("fail")
        if fail and m.runs >= int(fail.get("after_runs", 0)):
            kind = fail["kind"]
            if kind == "timeout":
                raise HailoRTTimeout("Received a timeout - hailort has failed because a timeout "
                                     "had occurred")
            if kind == "segfault":
                os.kill(os.getpid(), signal.SIGSEGV)
            if kind == "abort":
                os.abort()
            while kind == "hang":
                time.sleep(3600)
        frame = b._in._buffer
        if frame is None or list(frame.shape) != m._input.shape or frame.dtype != np.uint8:
            got = None if frame is None else (list(frame.shape), str(frame.dtype))
            raise HailoRTException(f"Invalid argument: input buffer {got}, expected "
                                   f"{m._input.shape} uint8")
        out = b._out._buffer
        if out is None or out.size < m.classes * (1 + 5 * m.max_boxes):
            raise HailoRTException("Invalid argument: output buffer missing or too small")
        flat = out.reshape(-1)
        flat[:] = 0
        i = 0
        boxes = m.spec.get("boxes", [])
        for c in range(m.classes):
            mine = [[*bx[2:6], bx[1]] for bx in boxes if int(bx[0]) == c]
            flat[i] = len(mine)
            for k, box in enumerate(mine):
                flat[i + 1 + 5 * k : i + 6 + 5 * k] = box
            i += 1 + 5 * len(mine)
        time.sleep(float(m.spec.get("latency_ms", 0)) / 1000.0)
        m.runs += 1


# ---- genai.VLM -----------------------------------------------------------------------------


class FakeVLM:
    """PY v5.1.1 ``VLM(vdevice, model_path, optimize_memory_on_device=False)`` (~4596). Its
    stream is the LLM's (``_llm.LLMGeneratorCompletion``: the VLM server is an LLMServer with the
    same recovery, v5.1.1 hailort/hailort_server/genai/vlm/vlm_server.cpp ~227 and ~347), and its
    parameters are checked the same way (vlm.cpp ``VLM::Impl::validate_generator_params``
    ~493-500: temperature > 0, so a greedy request must leave temperature out)."""

    def __init__(self, vdevice: Any, model_path: str, optimize_memory_on_device: bool = False):
        self._load(vdevice, model_path)

    def _load(self, vdevice: Any, model_path: str) -> None:
        from hailo_platform.pyhailort import _llm

        self.spec = load_spec(model_path, "vlm")
        self.vdevice = vdevice
        self.calls: list[dict[str, Any]] = []
        self._llm = _llm.GenAIModel()
        self._llm._where = "VLM"
        self._llm._setup()

    @property
    def released(self) -> bool:
        return bool(self._llm._released)

    def __enter__(self) -> FakeVLM:
        return self

    def __exit__(self, *args: object) -> None:
        self.release()

    def release(self) -> None:
        self._llm._released = True

    def input_frame_shape(self) -> list[int]:
        return list(self.spec.get("frame_shape", [336, 336, 3]))

    def input_frame_size(self) -> int:
        return int(np.prod(self.input_frame_shape()))

    def input_frame_format_type(self) -> Any:
        return np.uint8

    def input_frame_format_order(self) -> FormatOrder:
        return FormatOrder.NHWC

    def tokenize(self, text: str) -> list[int]:
        return self._llm.tokenize(text)

    def max_context_capacity(self) -> int:
        return 2048

    def get_context_usage_size(self) -> int:
        return int(self._llm._context)

    def clear_context(self) -> None:
        self._llm.clear_context()

    def prompt_template(self) -> str:
        return self._llm.prompt_template()

    def get_stop_tokens(self) -> list[str]:
        return self._llm.get_stop_tokens()

    def set_stop_tokens(self, stop_tokens: list[str]) -> None:
        self._llm.set_stop_tokens(stop_tokens)

    def set_generation_recovery_sequence(self, sequence: str) -> None:
        self._llm.set_generation_recovery_sequence(sequence)

    def generate(self, prompt: Any, frames: list[Any], temperature: float | None = None,
                 top_p: float | None = None, top_k: int | None = None,
                 frequency_penalty: float | None = None, max_generated_tokens: int | None = None,
                 do_sample: bool | None = None, seed: int | None = None) -> Any:
        return self._generate(prompt, frames, temperature=temperature, top_p=top_p, top_k=top_k,
                              frequency_penalty=frequency_penalty,
                              max_generated_tokens=max_generated_tokens, do_sample=do_sample,
                              seed=seed)

    def _generate(self, prompt: Any, frames: list[Any], **kwargs: Any) -> Any:
        from hailo_platform import _fake
        from hailo_platform.pyhailort import _llm

        if self.released:
            raise HailoRTException("VLM used after release()")
        # PY v5.1.1 ``VLM._ensure_frames``: a list of numpy arrays of the model's frame shape
        if not isinstance(frames, list):
            raise HailoRTException("frames must be a list of numpy arrays")
        shape = self.input_frame_shape()
        for f in frames:
            if list(f.shape) != shape or f.dtype != np.uint8:
                raise HailoRTException(f"Invalid argument: frame {list(f.shape)} {f.dtype}, "
                                       f"expected {shape} uint8")
        self.calls.append({"prompt": prompt, "frames": len(frames), **kwargs})
        params = _llm.GeneratorParams().fill(**kwargs)
        words = [w + " " for w in str(self.spec.get("reply", "A person is walking.")).split()]
        delay = float(self.spec.get("token_ms", 0)) / 1000
        _fake.STATE.scripts.appendleft(_fake.Script(tokens=list(words), eos=True,
                                                    first_delay=delay, delay=delay))
        return self._llm._start(prompt, params)

    def generate_all(self, prompt: Any, frames: list[Any], timeout_ms: int = 600000,
                     **kw: Any) -> str:
        with self._generate(prompt, frames, **kw) as gen:
            return str(gen.read_all(timeout_ms))


class FakeVLM520(FakeVLM):
    """PY v5.2.0 ``VLM.generate(prompt, frames, videos=None, temperature=None, ...)`` (~4668)."""

    def generate(self, prompt: Any, frames: list[Any],  # type: ignore[override]
                 videos: Any = None, temperature: float | None = None,
                 top_p: float | None = None, top_k: int | None = None,
                 frequency_penalty: float | None = None, max_generated_tokens: int | None = None,
                 do_sample: bool | None = None, seed: int | None = None) -> Any:
        return self._generate(prompt, frames, temperature=temperature, top_p=top_p, top_k=top_k,
                              frequency_penalty=frequency_penalty,
                              max_generated_tokens=max_generated_tokens, do_sample=do_sample,
                              seed=seed)


class FakeVLM501(FakeVLM):
    """PY v5.0.1 ``VLM(vdevice, model_path)`` (~4621): no ``optimize_memory_on_device``."""

    def __init__(self, vdevice: Any, model_path: str) -> None:  # type: ignore[override]
        self._load(vdevice, model_path)


def vlm_class() -> type[FakeVLM]:
    from hailo_platform import _fake

    version = _fake.STATE.version
    if version.startswith("5.0"):
        return FakeVLM501
    return FakeVLM520 if version >= "5.2" else FakeVLM


VLM = FakeVLM
"""The name genai exports (the 5.1 class; ``genai.VLM`` follows ``STATE.version``)."""
