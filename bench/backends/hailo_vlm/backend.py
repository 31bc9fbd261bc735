"""A VLM (e.g. Qwen2-VL-2B-Instruct) on the Hailo-10H: images and a question, timed per token.

``request.images`` are image files: read with OpenCV, resized to the model's
``input_frame_shape()`` (height, width, channels) and given as RGB uint8 frames. HailoRT has
no timing API: time to first token and tokens/s are timed here around each ``read()`` (HailoRT's
own 10 s timeout per read). The stream is read as the LLM's (``bench.backends.hailo.stream``):
one item per token, the final stop-token item and the recovery items after ``max_tokens`` not
counted. Throughput requests run with ``set_stop_tokens([])`` (exactly ``max_tokens``
tokens); the model's stop tokens are put back for chat. Greedy requests send
``do_sample=False`` and no temperature: the VLM refuses temperature <= 0 (vlm.cpp
validate_generator_params). Prompt tokens are counted with
``tokenize()`` on the text only: the image's tokens are not included.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from bench.backends.base import Generation, GenerationRequest, GenerationStats, ModelInfo, ModelRef
from bench.backends.hailo import device
from bench.backends.hailo.api import VLM
from bench.backends.hailo.backend import sampling_kwargs
from bench.backends.hailo.stream import GEN_TOKENS_METHOD, StreamResult, read_stream
from bench.backends.hailo.version import check_version, hailort_version
from bench.backends.hailo_vlm.config import CAPABILITIES, HailoVLMArtifact, HailoVLMOptions
from bench.common import Json, JsonObject, assert_never
from bench.errors import BackendError, BackendUnavailable, ModelLoadError, UserError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

NO_GENAI = (
    "hailo_platform.genai (HailoRT >= 5.1.0) is not installed: on Raspberry Pi OS, "
    "sudo apt install dkms hailo-h10-all (it brings python3-h10-hailort)"
)


def load_frame(path: str, shape: list[int] | tuple[int, ...]) -> NDArray[np.uint8]:
    """An image file as an RGB uint8 array of ``shape`` (height, width, 3)."""
    import cv2
    import numpy as np

    p = Path(path).expanduser()
    image = cv2.imread(str(p), cv2.IMREAD_COLOR) if p.is_file() else None
    if image is None:
        raise UserError(f"image {str(p)!r} not found or not readable; fix the workload's images")
    height, width = int(shape[0]), int(shape[1])
    resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(cv2.cvtColor(resized, cv2.COLOR_BGR2RGB), dtype=np.uint8)


class HailoVLMBackend(device.HailoDeviceBackend[HailoVLMOptions]):
    name = "hailo_vlm"
    capabilities = CAPABILITIES
    _vlm: VLM | None = None
    _shape: tuple[int, ...] = ()
    """The VLM's input frame shape (height, width, channels), as loaded."""

    def load(self, model: ModelRef) -> ModelInfo:
        artifact = self.artifact(model, HailoVLMArtifact, "hef artifact")
        hef = device.hef_file(artifact.hef, "hailo_vlm backend", model.name)
        try:
            genai = importlib.import_module("hailo_platform.genai")
        except ImportError:
            raise BackendUnavailable(NO_GENAI) from None
        check_version(hailort_version(), "hailo_vlm backend")
        try:
            self._vdevice = vdevice = device.open_vdevice(genai, self.options.group_id)
            self._vlm = vlm = genai.VLM(
                vdevice, str(hef), optimize_memory_on_device=self.options.optimize_memory_on_device)
            self._shape = tuple(int(v) for v in vlm.input_frame_shape())
            self._stop_tokens = tuple(vlm.get_stop_tokens())
            self._stops_removed = False
        except TypeError as exc:  # HailoRT 5.0.x: VLM(vdevice, model_path)
            self.close()
            from bench.backends.hailo.errors import signature_error

            raise signature_error(exc, "VLM") from None
        except Exception as exc:
            self.close()
            raise ModelLoadError(f"HailoRT could not load the VLM {str(hef)!r}: {exc}") from exc
        return ModelInfo(weights="real", path=str(hef), file_bytes=hef.stat().st_size,
                         architecture="vlm", extra={"input_frame_shape": list(self._shape)})

    def _prompt(self, request: GenerationRequest) -> tuple[list[JsonObject], str]:
        """Structured chat messages (images first in the first user message) and their text."""
        images: list[Json] = [{"type": "image"} for _ in request.images]
        match request.kind:
            case "chat":
                turns = [(m.role, m.content) for m in request.messages]
            case "throughput":
                turns = [("user", self._filler(request))]
            case "completion":  # declared: completion=False, so the plan never sends one
                raise BackendError("hailo_vlm takes no completion workloads")
            case _:
                assert_never(request.kind)
        out: list[JsonObject] = []
        text = []
        for role, said in turns:
            content: list[Json] = [{"type": "text", "text": said}]
            if role == "user" and images:
                content, images = images + content, []
            out.append({"role": role, "content": content})
            text.append(said)
        return out, "\n".join(text)

    def _filler(self, request: GenerationRequest) -> str:
        """A text of at least ``prompt_tokens`` tokens (by the model's tokenizer) from filler."""
        vlm = self._require()
        words = (request.filler or "Describe what you see in this picture.").split()
        target = request.prompt_tokens or 1
        text: list[str] = []
        i = request.variant
        while len(vlm.tokenize(" ".join(text))) < target:
            text.append(words[i % len(words)])
            i += 1
        return " ".join(text)

    def generate(self, request: GenerationRequest) -> Generation:
        vlm = self._require()
        frames = [load_frame(p, self._shape) for p in request.images]
        prompt, text = self._prompt(request)
        exact = request.kind == "throughput"  # exact length: no stop token at all
        self._exact_length(vlm, exact)
        t_request = self.clock.now()
        try:
            completion = vlm.generate(prompt, frames=frames, **sampling_kwargs(request))
        except Exception as exc:
            raise BackendError(f"hailo_vlm: generate() refused the request: {exc}") from None

        def read(index: int) -> str:
            try:
                return str(completion.read(timeout_ms=int(self.options.read_timeout_s * 1000)))
            except Exception as exc:
                raise BackendError(f"hailo_vlm: generation failed at token {index + 1}: "
                                   f"{type(exc).__name__}: {exc}") from None

        with completion:
            result = yield from read_stream(completion, request.max_tokens, self.clock.now, read,
                                            StreamResult())
        return GenerationStats(
            t_request=t_request,
            prompt_tokens=len(vlm.tokenize(text)),
            prompt_tokens_method="VLM.tokenize() on the prompt text; image tokens not counted",
            gen_tokens=result.tokens,
            gen_tokens_method=GEN_TOKENS_METHOD,
            stop_reason=result.stop_reason,
            text=result.text,
        )

    def reset(self) -> None:
        if self._vlm is not None:
            self._vlm.clear_context()

    def close(self) -> None:
        vlm, self._vlm = self._vlm, None
        self._release(vlm)

    def _require(self) -> VLM:
        if self._vlm is None:
            raise BackendError("hailo_vlm: generate() before load()")
        return self._vlm

    def describe(self) -> JsonObject:
        return {"device": "Hailo-10H NPU", "api": "hailo_platform.genai.VLM",
                "group_id": self.options.group_id, "input_frame_shape": list(self._shape),
                "per_token_read_timeout_s": self.options.read_timeout_s,
                "sampling": "temperature 0 -> do_sample=False and no temperature sent (the VLM "
                            "refuses temperature <= 0)",
                "gen_tokens_method": GEN_TOKENS_METHOD}
