"""The Hailo-10H NPU in process, through HailoRT GenAI (``hailo_platform.genai.LLM``).

Prompts: ``LLM.generate`` takes a raw string (used as is) or a list of chat messages (the
model's template applied on the card). Throughput and completion requests send a raw string
(no template), counted exactly by ``tokenize()``; chat requests send the messages.

HailoRT has no timing or stats API: every item of the streaming ``generate`` is timed on the
backend's clock as ``read()`` returns it (``bench.backends.hailo.stream``: one item per token,
the final stop-token item and the recovery items after ``max_tokens`` are neither counted nor
timed). Exact length: throughput requests run with ``set_stop_tokens([])`` (HailoRT then never
ends a generation early, so exactly ``max_tokens`` tokens come); the model's own stop tokens
(saved with ``get_stop_tokens()`` after load) are put back for chat and completion requests.
Requires HailoRT >= 5.1.0 (the ``LLM`` signature used here).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from pathlib import Path
from types import ModuleType

from bench.backends.base import Generation, GenerationRequest, GenerationStats, ModelInfo, ModelRef
from bench.backends.hailo import device, errors
from bench.backends.hailo.api import LLM, Prompt
from bench.backends.hailo.config import CAPABILITIES, HailoArtifact, HailoOptions
from bench.backends.hailo.stream import GEN_TOKENS_METHOD, StreamResult, read_stream
from bench.backends.hailo.version import check_version, hailort_version
from bench.common import JsonObject, assert_never
from bench.errors import BackendError, GenerationTimeout
from bench.models.files import sha256_file
from bench.workloads.prompts import fit_prompt

log = logging.getLogger(__name__)



def _import_genai() -> ModuleType:
    try:
        return importlib.import_module("hailo_platform.genai")
    except Exception as e:  # MissingPyHRTLib, version mismatch ImportError, ...
        raise errors.import_error(e) from None


class HailoBackend(device.HailoDeviceBackend[HailoOptions]):
    name = "hailo"
    capabilities = CAPABILITIES
    _llm: LLM | None = None
    _hef: Path | None = None
    _broken: str | None = None
    """Why the card is unusable (an earlier read failed other than by a timeout)."""

    # ---- load / close -------------------------------------------------------------------

    def load(self, model: ModelRef) -> ModelInfo:
        artifact = self.artifact(model, HailoArtifact, "hef artifact")
        hef = device.hef_file(artifact.hef, "hailo backend", model.name)
        genai = _import_genai()
        check_version(hailort_version(), "hailo backend")
        sha = sha256_file(hef) if self.options.hash_model else None
        self.close()
        self._broken = None
        t0 = self.clock.now()
        try:
            self._vdevice = vdevice = device.open_vdevice(genai, self.options.group_id)
        except Exception as e:
            raise errors.load_error(e, hef, "creating the VDevice") from None
        try:
            self._llm = llm = genai.LLM(
                vdevice, str(hef), lora_name=self.options.lora_name,
                optimize_memory_on_device=self.options.optimize_memory_on_device)
        except TypeError as e:  # HailoRT 5.0.x: LLM(vdevice, model_path, lora_name="")
            self.close()
            raise errors.signature_error(e, "LLM") from None
        except Exception as e:
            self.close()
            raise errors.load_error(e, hef, f"loading {hef.name}") from None
        t1 = self.clock.now()
        self._hef = hef
        self._stops_removed = False
        try:
            self._stop_tokens = tuple(llm.get_stop_tokens())
        except Exception as e:
            self.close()
            raise BackendError(f"hailo backend: get_stop_tokens() failed: {e}") from None
        extra: JsonObject = {
            "hef_name": hef.name,
            "device_load_s": t1 - t0,
            "device_load_s_source": "VDevice() + LLM() on the run's clock (hashing excluded)",
        }
        try:
            extra["max_context_tokens"] = int(llm.max_context_capacity())
        except Exception as e:  # informative only
            log.warning("hailo: max_context_capacity() failed: %s", e)
        return ModelInfo(weights="real", path=str(hef), file_bytes=hef.stat().st_size,
                         sha256=sha, extra=extra)

    def close(self) -> None:
        llm, self._llm = self._llm, None
        self._release(llm)

    def reset(self) -> None:
        llm = self._require()
        try:
            llm.clear_context()
        except Exception as e:
            raise BackendError(f"hailo backend: clear_context() failed: {e}") from None

    def describe(self) -> JsonObject:
        return {
            "device": "Hailo-10H",
            "runtime": "HailoRT GenAI (hailo_platform.genai.LLM)",
            "hailort_version": hailort_version(),
            "group_id": self.options.group_id,
            "first_read_timeout_s": self.options.first_read_timeout_s,
            "read_timeout_s": self.options.read_timeout_s,
            "optimize_memory_on_device": self.options.optimize_memory_on_device,
            "lora_name": self.options.lora_name,
            "timing": "client side, each stream item timed as read() returns (HailoRT has no "
                      "timing API)",
            "gen_tokens_method": GEN_TOKENS_METHOD,
            "exact_gen_tokens": "throughput: set_stop_tokens([]) (no stop token, not even the "
                                "end of sentence), so exactly max_tokens are generated; chat and "
                                "completion: the model's stop tokens",
            "model_stop_tokens": self._stop_tokens,
            "throughput_prompt": "filler text as a raw string (no template), fitted by "
                                 "tokenize() on the card",
            "completion_prompt": "the prompt as a raw string (no template), counted by "
                                 "tokenize() on the card",
            "chat_prompt": "the messages, the model's template applied on the card (prompt "
                           "count unknown)",
            "sampling": "temperature 0 -> do_sample=False (greedy); otherwise temperature, "
                        "seed, top_k, top_p as given",
        }

    # ---- generation ---------------------------------------------------------------------

    def _require(self) -> LLM:
        if self._broken:
            raise BackendError(f"hailo backend: unusable after an earlier failure ({self._broken})")
        if self._llm is None:
            raise BackendError("hailo backend: no model loaded")
        return self._llm

    def _count(self, text: str) -> int:
        try:
            return len(self._require().tokenize(text))
        except BackendError:
            raise
        except Exception as e:
            raise BackendError(f"hailo backend: tokenize() failed: {e}") from None

    def generate(self, request: GenerationRequest) -> Generation:
        llm = self._require()
        prompt: Prompt
        prompt_tokens: int | None
        match request.kind:
            case "throughput":
                if request.prompt_tokens is None:
                    raise BackendError("hailo backend: a throughput request needs prompt_tokens")
                fitted = fit_prompt(self._count, request.prompt_tokens, request.variant,
                                    base=request.filler or None)
                prompt, prompt_tokens = fitted.text, fitted.tokens
                prompt_method = "tokenize() on the card, raw text prompt"
                if not fitted.exact:
                    prompt_method += f" (closest fit below the {fitted.target} asked)"
            case "completion":
                # a plain string is used as is by generate(): no chat template
                prompt = "".join(m.content for m in request.messages)
                prompt_tokens = self._count(prompt)
                prompt_method = "tokenize() on the card, raw text prompt"
            case "chat":
                prompt = [{"role": m.role, "content": m.content} for m in request.messages]
                prompt_tokens = None
                prompt_method = "unknown: the chat template is applied on the card"
            case _:
                assert_never(request.kind)
        self._set_stops(exact=request.kind == "throughput")
        kwargs = sampling_kwargs(request)
        t_request = self.clock.now()
        try:
            completion = llm.generate(prompt, **kwargs)
        except Exception as e:
            raise BackendError(f"hailo backend: generate() refused the request: {e}") from None

        def read(index: int) -> str:
            opts = self.options
            timeout_s = opts.first_read_timeout_s if index == 0 else opts.read_timeout_s
            try:
                return str(completion.read(timeout_ms=int(timeout_s * 1000)))
            except Exception as e:
                err = errors.read_error(e, index, timeout_s)
                if not isinstance(err, GenerationTimeout):
                    self._broken = str(err)  # the card is gone: fail fast from now on
                raise err from None

        with completion:
            result = yield from read_stream(completion, request.max_tokens, self.clock.now, read,
                                            StreamResult())
        return GenerationStats(
            t_request=t_request,
            prompt_tokens=prompt_tokens,
            prompt_tokens_method=prompt_method,
            gen_tokens=result.tokens,
            gen_tokens_method=GEN_TOKENS_METHOD,
            stop_reason=result.stop_reason,
            text=result.text,
        )

    def _set_stops(self, exact: bool) -> None:
        """Exact length: no stop token at all (throughput); otherwise the model's own."""
        self._exact_length(self._require(), exact)


def sampling_kwargs(request: GenerationRequest) -> dict[str, float | int | bool]:
    """HailoRT's generate() keywords. HailoRT checks temperature > 0, 0 <= top_p <= 1 and
    top_k >= 1 whatever do_sample says (llm.cpp/vlm.cpp validate_generator_params): greedy is
    ``do_sample=False`` with no temperature (the model's default, > 0, stays)."""
    s = request.sampling
    if s.top_k is not None and s.top_k < 1:
        raise BackendError(f"hailo backend: top_k {s.top_k}: HailoRT takes top_k >= 1")
    if s.top_p is not None and not 0 <= s.top_p <= 1:
        raise BackendError(f"hailo backend: top_p {s.top_p}: HailoRT takes 0 <= top_p <= 1")
    kwargs: dict[str, float | int | bool] = {
        "max_generated_tokens": request.max_tokens, "seed": s.seed, "do_sample": s.temperature > 0}
    if s.temperature > 0:
        kwargs["temperature"] = s.temperature
        kwargs.update({k: v for k, v in (("top_k", s.top_k), ("top_p", s.top_p)) if v is not None})
    return kwargs
