"""The Hailo-10H NPU in process, through HailoRT GenAI (``hailo_platform.genai.LLM``).

Prompts: ``LLM.generate`` takes a raw string (used as is) or a list of chat messages (the
model's template applied on the card). Throughput and completion requests send a raw string
(no template), counted exactly by ``tokenize()``; chat requests send the messages.

HailoRT has no timing or stats API: every item of the streaming ``generate`` is timed on the
backend's clock as ``read()`` returns it. The per-read timeout is explicit (HailoRT's 10 s
default also covers the first token, i.e. the whole prefill). Token counts: the prompt by
``tokenize()`` (runs on the card); generated tokens are the stream items minus the end token,
which arrives as the last item in text form (e.g. ``<|im_end|>``) and is stripped. One item is
about one token: HailoRT holds back an incomplete UTF-8 piece and merges it into the next
item, so the item count can be lower than the tokens generated; the method says so.

The end of generation cannot be suppressed (no ``ignore_eos``, no ``abort()`` in Python):
throughput runs stop at ``max_generated_tokens`` or earlier at the model's end token, and the
runner records the tokens actually produced.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import re
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any, ClassVar

from bench.backends.base import (
    Backend,
    Capabilities,
    GenerationRequest,
    GenerationStats,
    ModelInfo,
    ModelRef,
    TokenEvent,
)
from bench.backends.hailo import errors
from bench.backends.hailo.config import CAPABILITIES, HailoArtifact, HailoOptions
from bench.clock import Clock
from bench.errors import BackendError, GenerationTimeout, ModelLoadError
from bench.models.files import sha256_file
from bench.workloads.prompts import fit_prompt

log = logging.getLogger(__name__)

GEN_TOKENS_METHOD = (
    "stream items minus the end token (HailoRT merges a held-back incomplete UTF-8 piece "
    "into the next item, so this can undercount)"
)
# The end token as text: <|im_end|>, <|eot_id|>, <|endoftext|>, <｜end▁of▁sentence｜>, ...
_END_TOKEN = re.compile(r"<[|｜][^<>]{1,48}[|｜]>\s*$")


def _import_genai() -> Any:
    try:
        return importlib.import_module("hailo_platform.genai")
    except Exception as e:  # MissingPyHRTLib, version mismatch ImportError, ...
        raise errors.import_error(e) from None


def hailort_version() -> str | None:
    """HailoRT's version from the wheel's metadata ("hailort"), else hailo_platform.__version__.

    Never imports hailo_platform: None until something else has imported it.
    """
    try:
        return importlib.metadata.version("hailort")
    except importlib.metadata.PackageNotFoundError:
        pass
    module = sys.modules.get("hailo_platform")
    version = getattr(module, "__version__", None)
    return str(version) if version is not None else None


def _status(completion: Any) -> str:
    status = completion.generation_status
    return str(getattr(status, "name", status)).rsplit(".", 1)[-1]


class HailoBackend(Backend):
    name = "hailo"
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    runs_on = "npu"

    def __init__(self, options: HailoOptions, *, clock: Clock | None = None) -> None:
        super().__init__(options, clock=clock)
        self.opts = options
        self._genai: Any = None
        self._vdevice: Any = None
        self._llm: Any = None
        self._hef: Path | None = None
        self._broken: str | None = None

    # ---- load / close -------------------------------------------------------------------

    def load(self, model: ModelRef) -> ModelInfo:
        artifact = model.artifact
        if not isinstance(artifact, HailoArtifact):
            raise ModelLoadError(f"hailo backend: model {model.name!r} has no hef artifact")
        hef = Path(artifact.hef).expanduser()
        if not hef.is_file():
            raise ModelLoadError(
                f"hailo backend: HEF for {model.name} not found: {hef} "
                "(download it with scripts/fetch-pi-models.sh)"
            )
        genai = self._genai = _import_genai()
        sha = sha256_file(hef) if self.opts.hash_model else None
        self.close()
        self._broken = None
        t0 = self.clock.now()
        try:
            params = genai.VDevice.create_params()
            params.group_id = self.opts.group_id
            self._vdevice = genai.VDevice(params)
        except Exception as e:
            raise errors.load_error(e, hef, "creating the VDevice") from None
        try:
            self._llm = genai.LLM(self._vdevice, str(hef), self.opts.lora_name,
                                  self.opts.optimize_memory_on_device)
        except Exception as e:
            self.close()
            raise errors.load_error(e, hef, f"loading {hef.name}") from None
        t1 = self.clock.now()
        self._hef = hef
        extra: dict[str, Any] = {
            "hef_name": hef.name,
            "device_load_s": t1 - t0,
            "device_load_s_source": "VDevice() + LLM() on the run's clock (hashing excluded)",
        }
        try:
            extra["max_context_tokens"] = int(self._llm.max_context_capacity())
        except Exception as e:  # informative only
            log.warning("hailo: max_context_capacity() failed: %s", e)
        return ModelInfo(weights="real", path=str(hef), file_bytes=hef.stat().st_size,
                         sha256=sha, extra=extra)

    def close(self) -> None:
        llm, vdevice = self._llm, self._vdevice
        self._llm = self._vdevice = None
        for obj, what in ((llm, "LLM"), (vdevice, "VDevice")):
            if obj is None:
                continue
            try:
                obj.release()
            except Exception as e:  # the card may be gone: releasing must not stop the run
                log.warning("hailo: %s.release() failed: %s", what, e)

    def reset(self) -> None:
        llm = self._require()
        try:
            llm.clear_context()
        except Exception as e:
            raise BackendError(f"hailo backend: clear_context() failed: {e}") from None

    def describe(self) -> dict[str, Any]:
        return {
            "device": "Hailo-10H",
            "runtime": "HailoRT GenAI (hailo_platform.genai.LLM)",
            "hailort_version": hailort_version(),
            "group_id": self.opts.group_id,
            "first_read_timeout_s": self.opts.first_read_timeout_s,
            "read_timeout_s": self.opts.read_timeout_s,
            "optimize_memory_on_device": self.opts.optimize_memory_on_device,
            "lora_name": self.opts.lora_name,
            "timing": "client side, each stream item timed as read() returns (HailoRT has no "
                      "timing API)",
            "gen_tokens_method": GEN_TOKENS_METHOD,
            "exact_gen_tokens": "no: HailoRT cannot suppress the end token",
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

    def _require(self) -> Any:
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

    def generate(self, request: GenerationRequest) -> Generator[TokenEvent, None, GenerationStats]:
        llm = self._require()
        prompt: str | list[dict[str, str]]
        if request.kind == "throughput":
            if request.prompt_tokens is None:
                raise BackendError("hailo backend: a throughput request needs prompt_tokens")
            fitted = fit_prompt(self._count, request.prompt_tokens, request.variant,
                                base=request.filler or None)
            prompt, prompt_tokens = fitted.text, fitted.tokens
            prompt_method = "tokenize() on the card, raw text prompt"
            if not fitted.exact:
                prompt_method += f" (closest fit below the {fitted.target} asked)"
        elif request.kind == "completion":
            # a plain string is used as is by generate(): no chat template
            prompt = "".join(m.content for m in request.messages)
            prompt_tokens = self._count(prompt)
            prompt_method = "tokenize() on the card, raw text prompt"
        else:
            prompt = [{"role": m.role, "content": m.content} for m in request.messages]
            prompt_tokens = None
            prompt_method = "unknown: the chat template is applied on the card"
        s = request.sampling
        kwargs: dict[str, Any] = {"max_generated_tokens": request.max_tokens, "seed": s.seed,
                                  "do_sample": s.temperature > 0}
        if s.temperature > 0:
            kwargs["temperature"] = s.temperature
            if s.top_k is not None:
                kwargs["top_k"] = s.top_k
            if s.top_p is not None:
                kwargs["top_p"] = s.top_p

        t_request = self.clock.now()
        try:
            completion = llm.generate(prompt, **kwargs)
        except Exception as e:
            raise BackendError(f"hailo backend: generate() refused the request: {e}") from None
        items, parts, status = 0, [], "GENERATING"
        with completion:
            while status == "GENERATING":
                timeout_s = self.opts.first_read_timeout_s if items == 0 else \
                    self.opts.read_timeout_s
                try:
                    item = completion.read(timeout_ms=int(timeout_s * 1000))
                except Exception as e:
                    err = errors.read_error(e, items, timeout_s)
                    if not isinstance(err, GenerationTimeout):
                        self._broken = str(err)  # the card is gone: fail fast from now on
                    raise err from None
                t = self.clock.now()
                status = _status(completion)
                if status == "LOGICAL_END_OF_GENERATION":
                    # the last item is the end token as text; anything before it is a
                    # held-back piece that HailoRT merged into it
                    match = _END_TOKEN.search(item)
                    rest = item[: match.start()] if match else ""
                    if rest:
                        items += 1
                        parts.append(rest)
                        yield TokenEvent(t=t, n=1, text=rest)
                    break
                items += 1
                parts.append(item)
                yield TokenEvent(t=t, n=1, text=item)
        stop = {"LOGICAL_END_OF_GENERATION": "eos", "MAX_TOKENS_REACHED": "length"}.get(
            status, "error")
        return GenerationStats(
            t_request=t_request,
            prompt_tokens=prompt_tokens,
            prompt_tokens_method=prompt_method,
            gen_tokens=items,
            gen_tokens_method=GEN_TOKENS_METHOD,
            stop_reason=stop,
            text="".join(parts),
        )
