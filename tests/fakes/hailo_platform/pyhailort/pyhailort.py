"""Fake of hailo_platform.pyhailort.pyhailort: the names, signatures and behaviour of HailoRT
5.x's Python layer that pibench uses (VDevice, LLM, LLMGeneratorCompletion, the exceptions).

Behaviour follows HailoRT's public sources and docs: exceptions carry the Python layer's fixed
messages (the detail, e.g. "KV-Cache is already in use by another model!", only goes to
hailort.log, here ``STATE.log``); ``LLMGeneratorCompletion.__next__`` checks
``generation_status`` then calls ``read()`` with its 10 s default; the end token arrives as the
last item; an incomplete UTF-8 piece is held back and merged into the next item; only one LLM
may hold the KV cache. Where the real behaviour is not documented the fake says "assumed".
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from hailo_platform import _fake
from hailo_platform.pyhailort._pyhailort import LLMGeneratorCompletionStatus, SchedulingAlgorithm

_Status = LLMGeneratorCompletionStatus


HailoSchedulingAlgorithm = SchedulingAlgorithm


class HailoRTException(Exception):
    pass


class HailoRTTimeout(HailoRTException):
    pass


class HailoRTInvalidOperationException(HailoRTException):
    pass


class HailoRTInvalidArgumentException(HailoRTException):
    pass


class HailoRTNotFoundException(HailoRTException):
    pass


class HailoRTInvalidHEFException(HailoRTException):
    pass


class HailoRTHEFNotCompatibleWithDevice(HailoRTException):
    pass


class HailoRTDriverOperationFailedException(HailoRTException):
    pass


class HailoCommunicationClosedException(HailoRTException):
    pass


# The fixed messages of the real ExceptionWrapper.create_exception_from_status.
_MESSAGES: dict[type[HailoRTException], str] = {
    HailoRTTimeout: "Received a timeout - hailort has failed because a timeout had occurred",
    HailoRTInvalidOperationException: "Invalid operation. See hailort.log for more information",
    HailoRTInvalidArgumentException: "Invalid argument. See hailort.log for more information",
    HailoRTInvalidHEFException: "Invalid HEF. See hailort.log for more information",
    HailoRTHEFNotCompatibleWithDevice:
        "HEF file is not compatible with device. See hailort.log for more information",
    HailoRTDriverOperationFailedException:
        "Failure in hailort driver ioctl. run 'dmesg | grep hailo' for more information",
    HailoCommunicationClosedException:
        "Communication closed failure. Check server-client connection",
}


def _raise(cls: type[HailoRTException], log: str | None = None) -> None:
    if log:
        _fake.STATE.log.append(log)
    raise cls(_MESSAGES[cls])


def _status_error(code: int, name: str, log: str | None = None) -> HailoRTException:
    if log:
        _fake.STATE.log.append(log)
    return HailoRTException(f"libhailort failed with error: {code} ({name})")


_TOKEN_RE = re.compile(r" ?\w+| ?[^\w\s]|\s+")


def _tokens(text: str) -> list[int]:
    """The fake tokenizer: words, punctuation and whitespace runs; ids are stable."""
    return [sum(piece.encode()) % 50000 for piece in _TOKEN_RE.findall(text)]


class _VDeviceParams:
    def __init__(self) -> None:
        self.device_count = 1
        self.scheduling_algorithm = SchedulingAlgorithm.ROUND_ROBIN
        self.group_id = "UNIQUE"
        self.multi_process_service = False


class VDevice:
    def __init__(self, params: _VDeviceParams | None = None, *, device_ids: Any = None) -> None:
        state = _fake.STATE
        params = params or VDevice.create_params()
        state.record("VDevice", group_id=params.group_id,
                     scheduling_algorithm=params.scheduling_algorithm)
        other = state.other_process_group
        busy = other is not None and (other == "UNIQUE" or other != params.group_id)
        if state.devices < 1 or busy:
            raise _status_error(74, "HAILO_OUT_OF_PHYSICAL_DEVICES",
                                "Failed to create vdevice. there are not enough free devices.")
        self._params = params
        self._released = False
        state.open_vdevices += 1

    @staticmethod
    def create_params() -> _VDeviceParams:
        return _VDeviceParams()

    def create_infer_model(self, hef_source: str, name: str = "") -> Any:
        from hailo_platform import _infer  # the vision fake, written separately

        return _infer.create_infer_model(self, hef_source, name)

    def release(self) -> None:
        if not self._released:
            self._released = True
            _fake.STATE.open_vdevices -= 1
            _fake.STATE.record("VDevice.release")

    def __enter__(self) -> VDevice:
        return self

    def __exit__(self, *args: object) -> bool:
        self.release()
        return False


class LLMGeneratorCompletion:
    """The stream of one generation. Iterate it, or call ``read(timeout_ms)``."""

    def __init__(self, llm: LLM, script: _fake.Script, max_tokens: int, prompt_tokens: int):
        self._llm = llm
        self._script = script
        self._max = max_tokens
        self._next = 0  # index of the next model token (the end token is index len(tokens))
        self._waited = 0.0  # time already spent waiting for the next token (after a timeout)
        self._status = _Status.GENERATING
        self._released = False
        self._prompt_tokens = prompt_tokens
        self._held = b""  # an incomplete UTF-8 piece waiting for the next token

    def release(self) -> None:
        if not self._released:
            self._released = True
            _fake.STATE.record("completion.release")

    def __enter__(self) -> LLMGeneratorCompletion:
        return self

    def __exit__(self, *args: object) -> bool:
        self.release()
        return False

    @property
    def generation_status(self) -> LLMGeneratorCompletionStatus:
        return self._status

    def read(self, timeout_ms: int = 10000) -> str:
        state = _fake.STATE
        state.record("read", timeout_ms=timeout_ms)
        if self._released or self._status != _Status.GENERATING:
            _raise(HailoRTInvalidOperationException, "read() after the generation ended (assumed)")
        while True:
            i = self._next
            if self._script.fail_at is not None and i >= self._script.fail_at:
                self._status = _Status.ABORTED
                cls = globals()[self._script.fail_exc]
                _raise(cls, "device disappeared (scripted)")
            need = self._script.delay_for(i) - self._waited
            budget = timeout_ms / 1000.0
            if need > budget:
                state.sleep(budget)
                self._waited += budget
                _raise(HailoRTTimeout)
            state.sleep(need)
            self._waited = 0.0
            self._next += 1
            self._llm._context += 1
            tokens = self._script.tokens
            if i < len(tokens):
                piece = tokens[i]
            elif not self._script.eos:
                piece = " more"  # the model keeps going until max_generated_tokens
            else:
                self._status = _Status.LOGICAL_END_OF_GENERATION
                held, self._held = self._held, b""
                return held.decode(errors="replace") + state.end_token
            self._held += piece if isinstance(piece, bytes) else piece.encode()
            if self._next >= self._max:
                self._status = _Status.MAX_TOKENS_REACHED
            try:
                item = self._held.decode()
            except UnicodeDecodeError:
                if self._status != _Status.GENERATING:
                    item = self._held.decode(errors="replace")
                else:
                    continue  # an incomplete UTF-8 character: held back for the next token
            self._held = b""
            return item

    def read_all(self, timeout_ms: int = 10000) -> str:
        out = []
        while self._status == _Status.GENERATING:
            out.append(self.read(timeout_ms))
        return "".join(out)

    def __iter__(self) -> LLMGeneratorCompletion:
        return self

    def __next__(self) -> str:
        if self.generation_status != _Status.GENERATING:
            raise StopIteration("Generation complete")
        return self.read()


class LLM:
    def __init__(self, vdevice: VDevice, model_path: str, lora_name: str = "",
                 optimize_memory_on_device: bool = False) -> None:
        state = _fake.STATE
        state.record("LLM", model_path=model_path, lora_name=lora_name,
                     optimize_memory_on_device=optimize_memory_on_device)
        if vdevice._released:
            _raise(HailoRTInvalidOperationException, "VDevice already released")
        if not os.path.isfile(model_path):
            raise _status_error(13, "HAILO_OPEN_FILE_FAILURE", f"Failed to open {model_path}")
        arch = _fake.read_hef_arch(model_path)
        if arch is None:
            _raise(HailoRTInvalidHEFException, f"{model_path}: invalid HEF magic")
        if arch != state.arch:
            _raise(HailoRTHEFNotCompatibleWithDevice,
                   f"HEF arch {arch} is not compatible with device arch {state.arch}")
        if state.kv_cache_external is not None or state.kv_cache_holder is not None:
            _raise(HailoRTInvalidOperationException,
                   "Failed to acquire KV-Cache. KV-Cache is already in use by another model!")
        state.sleep(state.load_delay)
        state.kv_cache_holder = self
        state.open_llms += 1
        self._released = False
        self._context = 0

    def release(self) -> None:
        state = _fake.STATE
        if not self._released:
            self._released = True
            state.open_llms -= 1
            if state.kv_cache_holder is self:
                state.kv_cache_holder = None
            state.record("LLM.release")

    def __enter__(self) -> LLM:
        return self

    def __exit__(self, *args: object) -> bool:
        self.release()
        return False

    def _check(self) -> None:
        if self._released:
            _raise(HailoRTInvalidOperationException, "LLM already released")

    def generate(self, prompt: str | list[dict[str, Any]], temperature: float | None = None,
                 top_p: float | None = None, top_k: int | None = None,
                 frequency_penalty: float | None = None, max_generated_tokens: int | None = None,
                 do_sample: bool | None = None, seed: int | None = None) -> LLMGeneratorCompletion:
        self._check()
        state = _fake.STATE
        state.record("generate", prompt=prompt, temperature=temperature, top_p=top_p,
                     top_k=top_k, frequency_penalty=frequency_penalty,
                     max_generated_tokens=max_generated_tokens, do_sample=do_sample, seed=seed)
        if isinstance(prompt, str):
            text = prompt
        else:
            if not isinstance(prompt, list) or not all(isinstance(m, dict) for m in prompt):
                raise HailoRTException("prompt must be a list of dicts in chat format")
            messages = [json.loads(json.dumps(m)) for m in prompt]
            if self._context and any(m.get("role") == "system" for m in messages):
                _raise(HailoRTInvalidOperationException,
                       "system message is only allowed on a fresh context")
            text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n"
                           for m in messages) + "<|im_start|>assistant\n"
        n_prompt = len(_tokens(text))
        if self._context + n_prompt >= state.max_context:
            _raise(HailoRTInvalidOperationException, "context capacity exceeded (assumed)")
        self._context += n_prompt
        script = state.next_script()
        max_tokens = max_generated_tokens if max_generated_tokens is not None else 512
        return LLMGeneratorCompletion(self, script, max_tokens, n_prompt)

    def generate_all(self, prompt: str | list[dict[str, Any]], temperature: float | None = None,
                     top_p: float | None = None, top_k: int | None = None,
                     frequency_penalty: float | None = None,
                     max_generated_tokens: int | None = None, do_sample: bool | None = None,
                     seed: int | None = None, timeout_ms: int = 600000) -> str:
        with self.generate(prompt, temperature, top_p, top_k, frequency_penalty,
                           max_generated_tokens, do_sample, seed) as completion:
            return completion.read_all(timeout_ms)

    def tokenize(self, text: str) -> list[int]:
        self._check()
        _fake.STATE.record("tokenize", chars=len(text))
        return _tokens(text)

    def get_context_usage_size(self) -> int:
        self._check()
        return self._context

    def max_context_capacity(self) -> int:
        self._check()
        return _fake.STATE.max_context

    def clear_context(self) -> None:
        self._check()
        _fake.STATE.record("clear_context")
        self._context = 0

    def prompt_template(self) -> str:
        return ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
                "{% endfor %}<|im_start|>assistant\n")

    def get_stop_tokens(self) -> list[str]:
        return []

    def set_stop_tokens(self, stop_tokens: list[str]) -> None:
        self._check()
