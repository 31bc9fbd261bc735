"""Fake of HailoRT's GenAI stream: LLMGeneratorCompletion, the generator parameters and their
checks, and the LLM classes of each HailoRT version. Used by ``pyhailort.LLM`` and by the fake
VLM (``hailo_platform._infer``).

Every behaviour below follows hailo-ai/hailort's source; citations name the tag, the file and
the function. Abbreviations:
  PY   hailort/libhailort/bindings/python/platform/hailo_platform/pyhailort/pyhailort.py
  LLM  hailort/libhailort/src/genai/llm/llm.cpp
  VLM  hailort/libhailort/src/genai/vlm/vlm.cpp
  SRV  hailort/hailort_server/genai/llm/llm_server.cpp (and llm_server.hpp: SRVH)
  TOK  hailort/common/genai/tokenizer/hailo_tokenizer.cpp
Simplification (not in HailoRT): a stop sequence is matched as one item's text (the built-in
stop tokens are single tokens); HailoRT matches token-id sequences (SRV check_stop_sequences).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from hailo_platform import _fake
from hailo_platform.pyhailort import pyhailort as _py
from hailo_platform.pyhailort._pyhailort import LLMGeneratorCompletionStatus

_Status = LLMGeneratorCompletionStatus

_TOKEN_RE = re.compile(r" ?\w+| ?[^\w\s]|\s+|<\|[^|]+\|>")


def tokens_of(text: str) -> list[str]:
    """The fake tokenizer's pieces: an end token like <|im_end|> is one piece, as in the
    model's vocabulary; otherwise words, punctuation and whitespace runs."""
    out: list[str] = []
    for special in re.split(r"(<\|[^|]+\|>)", text):
        if special.startswith("<|") and special.endswith("|>"):
            out.append(special)
        elif special:
            out.extend(_TOKEN_RE.findall(special))
    return out


def token_ids(text: str) -> list[int]:
    return [sum(piece.encode()) % 50000 for piece in tokens_of(text)]


@dataclass
class GeneratorParams:
    """LLMGeneratorParams with the server's defaults.

    v5.1.1 SRVH ``DEFAULT_GENERATION_TEMPERATURE = 0.7f``, TOP_P 0.8, TOP_K 20,
    FREQ_PENALTY 1.1, DO_SAMPLE true, MAX_GENERATED_TOKENS 1024 (llm_server.hpp ~46-51);
    LLM ``create_generator_params`` copies these defaults (llm.cpp ~519-523).
    """

    temperature: float = 0.7
    top_p: float = 0.8
    top_k: int = 20
    frequency_penalty: float = 1.1
    max_generated_tokens: int = 1024
    do_sample: bool = True
    seed: int | None = None

    def fill(self, **given: Any) -> GeneratorParams:
        """PY v5.1.1 ``LLM._fill_generator_params``: only the arguments that are not None
        replace a default."""
        for key, value in given.items():
            if value is not None:
                setattr(self, key, value)
        return self

    def validate(self, where: str = "LLM") -> None:
        """v5.1.1 LLM ``LLM::Impl::validate_generator_params`` (llm.cpp ~540-549) and VLM
        ``VLM::Impl::validate_generator_params`` (vlm.cpp ~493-500): temperature > 0 (also when
        do_sample is false), 0 <= top_p <= 1, top_k >= 1, frequency_penalty != 0,
        max_generated_tokens >= 1; HAILO_INVALID_ARGUMENT, which PY ``ExceptionWrapper`` turns
        into HailoRTInvalidArgumentException with its fixed message (detail in hailort.log)."""
        checks = [
            (self.temperature > 0,
             f"Temperature should be higher than '0'. received: '{self.temperature}'"),
            (0 <= self.top_p <= 1, f"top_p should be in range [0, 1]. received: '{self.top_p}'"),
            (self.top_k >= 1,
             f"top_k should be greater than or equal to '1'. received: '{self.top_k}'"),
            (self.frequency_penalty != 0,
             f"frequency_penalty must be a nonzero value. received: '{self.frequency_penalty}'"),
            (self.max_generated_tokens >= 1, "max_generated_tokens should be greater than or "
             f"equal to '1'. received: '{self.max_generated_tokens}'"),
        ]
        for ok, message in checks:
            if not ok:
                _py._raise(_py.HailoRTInvalidArgumentException, f"{where}: {message}")


class LLMGeneratorCompletion:
    """The stream of one generation (PY v5.1.1 ``LLMGeneratorCompletion``)."""

    def __init__(self, owner: Any, script: _fake.Script, params: GeneratorParams,
                 prompt_tokens: int) -> None:
        self._owner = owner
        self._script = script
        self._params = params
        self._generated = 0  # SRV m_generated_token_count
        self._waited = 0.0  # time already spent waiting for the next token (after a timeout)
        self._status = _Status.GENERATING
        self._released = False
        self._prompt_tokens = prompt_tokens
        self._buffered = b""  # TOK m_buffered_tokens: an incomplete UTF-8 piece
        self._recovery: list[str] = []  # SRV m_recovery.delivery_queue
        self._termination = _Status.GENERATING  # SRV m_recovery.termination_status
        self._end_emitted = False

    def release(self) -> None:
        # PY v5.1.1 ``LLMGeneratorCompletion.release``; a release while generating aborts it
        # (C++ ~LLMGeneratorCompletion::Impl, llm.cpp ~691-704)
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
        # PY v5.1.1 ``generation_status``: the status of the last item read (llm.cpp
        # ``LLMGeneratorCompletion::Impl::read`` sets m_generation_status from the queued pair)
        return self._status

    def read(self, timeout_ms: int = 10000) -> str:
        state = _fake.STATE
        state.record("read", timeout_ms=timeout_ms)
        # v5.1.1 LLM ``LLMGeneratorCompletion::Impl::read`` (llm.cpp ~855-861): HAILO_INVALID_
        # OPERATION "read() cannot be called after generation completed!"
        if self._released or self._status != _Status.GENERATING:
            _py._raise(_py.HailoRTInvalidOperationException,
                       "read() cannot be called after generation completed!")
        if self._recovery:
            # v5.1.1 SRV ``handle_read_request`` (~411-419): recovery tokens are delivered one
            # per read, at once (no inference); only the last carries the termination status
            item = self._recovery.pop(0)
            if not self._recovery:
                self._status = self._termination
            return item
        return self._next_token(state, timeout_ms)

    def _next_token(self, state: _fake.FakeHailo, timeout_ms: int) -> str:
        i = self._generated
        script = self._script
        if script.fail_at is not None and i >= script.fail_at:
            self._status = _Status.ABORTED
            cls = getattr(_py, script.fail_exc)
            _py._raise(cls, "device disappeared (scripted)")
        need = script.delay_for(i) - self._waited
        budget = timeout_ms / 1000.0
        if need > budget:
            # PY ``read(timeout_ms)``: HAILO_TIMEOUT -> HailoRTTimeout; the token still comes
            state.sleep(budget)
            self._waited += budget
            _py._raise(_py.HailoRTTimeout)
        state.sleep(need)
        self._waited = 0.0
        self._generated += 1
        self._owner._context += 1
        piece = self._piece(i)
        # v5.1.1 TOK ``HailoTokenizer::tokens_to_text`` (~45-55) buffers a token whose text is
        # not complete UTF-8 and returns HAILO_NOT_AVAILABLE; SRV ``handle_next_token``
        # (~715-731) then sends "" for that token. The next token's item has the joined text.
        self._buffered += piece if isinstance(piece, bytes) else piece.encode()
        try:
            text = self._buffered.decode()
            self._buffered = b""
        except UnicodeDecodeError:
            text = ""
        status = self._status_after(text)
        if status != _Status.GENERATING:
            # v5.1.1 SRV ``handle_generation_completion`` (~874-905): the tokenizer's buffer is
            # cleared; on MAX_TOKENS_REACHED or ABORTED the recovery tokens (by default the end
            # token, ``m_recovery.tokens = {m_end_of_sentence_token_id}`` ~339) are queued and
            # this item still says GENERATING
            self._buffered = b""
            recovery = tokens_of(self._owner._recovery_sequence)
            if status != _Status.LOGICAL_END_OF_GENERATION and recovery:
                self._recovery = recovery
                self._termination = status
                status = _Status.GENERATING
        self._status = status
        return text

    def _piece(self, i: int) -> str | bytes:
        tokens = self._script.tokens
        if i < len(tokens):
            return tokens[i]
        if self._script.eos and not self._end_emitted:
            self._end_emitted = True
            return _fake.STATE.end_token
        return " more"  # the model goes on (after its end token when that is no stop token)

    def _status_after(self, text: str) -> LLMGeneratorCompletionStatus:
        # v5.1.1 SRV ``get_current_generation_status`` (~784-794): the token limit is checked
        # before the stop sequences
        if self._generated >= self._params.max_generated_tokens:
            return _Status.MAX_TOKENS_REACHED
        if text and text in self._owner._stop_tokens:
            return _Status.LOGICAL_END_OF_GENERATION
        return _Status.GENERATING

    def read_all(self, timeout_ms: int = 10000) -> str:
        out = []
        while self._status == _Status.GENERATING:
            out.append(self.read(timeout_ms))
        return "".join(out)

    def __iter__(self) -> LLMGeneratorCompletion:
        return self

    def __next__(self) -> str:
        # PY v5.1.1 ``_get_next_token`` (~4105-4108): StopIteration once the status is not
        # GENERATING, else read() with its 10 s default
        if self.generation_status != _Status.GENERATING:
            raise StopIteration("Generation complete")
        return self.read()


def render_chat(messages: list[dict[str, Any]]) -> str:
    """A Qwen-like chat template (the model's own, applied on the card in HailoRT)."""
    def text_of(content: Any) -> str:
        if isinstance(content, list):  # VLM structured content
            return "".join(c.get("text", "<image>") for c in content if isinstance(c, dict))
        return str(content)

    return "".join(f"<|im_start|>{m['role']}\n{text_of(m['content'])}<|im_end|>\n"
                   for m in messages) + "<|im_start|>assistant\n"


class GenAIModel:
    """What LLM and VLM share: stop tokens, recovery sequence, context, tokenize."""

    _where = "LLM"

    def _setup(self) -> None:
        state = _fake.STATE
        self._released = False
        self._context = 0
        # v5.1.1 SRV ``parse_config_json`` (~111-121): the model's eos and stop token ids are
        # the default stop sequences
        self._stop_tokens: list[str] = [state.end_token]
        # v5.1.1 SRV ~339: the default recovery sequence is the end-of-sentence token
        self._recovery_sequence = state.end_token

    def _check(self) -> None:
        if self._released:
            _py._raise(_py.HailoRTInvalidOperationException, f"{self._where} already released")

    def _start(self, prompt: Any, params: GeneratorParams) -> LLMGeneratorCompletion:
        params.validate(self._where)
        state = _fake.STATE
        if isinstance(prompt, str):
            text = prompt  # PY ``generate``: a str is inserted to the model as is
        else:
            # PY v5.1.1 ``LLM._convert_messages_json`` (~4202-4210)
            if not isinstance(prompt, list) or not all(isinstance(m, dict) for m in prompt):
                raise _py.HailoRTException("prompt must be a list of dicts in chat format")
            messages = [json.loads(json.dumps(m)) for m in prompt]
            if self._context and any(m.get("role") == "system" for m in messages):
                _py._raise(_py.HailoRTInvalidOperationException,
                           "system message is only allowed on a fresh context")
            text = render_chat(messages)
        n_prompt = len(token_ids(text))
        if self._context + n_prompt >= state.max_context:
            _py._raise(_py.HailoRTInvalidOperationException, "context capacity exceeded (assumed)")
        self._context += n_prompt
        return LLMGeneratorCompletion(self, state.next_script(), params, n_prompt)

    def tokenize(self, text: str) -> list[int]:
        self._check()
        _fake.STATE.record("tokenize", chars=len(text))
        return token_ids(text)

    def clear_context(self) -> None:
        self._check()
        _fake.STATE.record("clear_context")
        self._context = 0

    def prompt_template(self) -> str:
        return ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
                "{% endfor %}<|im_start|>assistant\n")

    def get_stop_tokens(self) -> list[str]:
        # PY v5.1.1 ``get_stop_tokens`` (~4483): the current stop tokens as strings
        self._check()
        return list(self._stop_tokens)

    def set_stop_tokens(self, stop_tokens: list[str]) -> None:
        # PY v5.1.1 ``set_stop_tokens`` (~4463-4481) "Setting empty list will remove all stop
        # tokens"; SRV ``handle_set_stop_tokens_request`` (~553-561) replaces them all,
        # end-of-sentence included
        self._check()
        _fake.STATE.record("set_stop_tokens", stop_tokens=list(stop_tokens))
        self._stop_tokens = list(stop_tokens)

    def get_generation_recovery_sequence(self) -> str:
        self._check()
        return self._recovery_sequence

    def set_generation_recovery_sequence(self, sequence: str) -> None:
        # PY v5.1.1 ``set_generation_recovery_sequence`` (~4423); "" queues nothing
        # (SRV ``apply_recovery_sequence`` ~857-870)
        self._check()
        _fake.STATE.record("set_generation_recovery_sequence", sequence=sequence)
        self._recovery_sequence = sequence


class LLM(GenAIModel):
    """PY v5.1.0-v5.2.0 ``LLM(vdevice, model_path, lora_name="",
    optimize_memory_on_device=False)`` (v5.1.1 ~4148)."""

    def __init__(self, vdevice: Any, model_path: str, lora_name: str = "",
                 optimize_memory_on_device: bool = False) -> None:
        self._load(vdevice, model_path, lora_name=lora_name,
                   optimize_memory_on_device=optimize_memory_on_device)

    def _load(self, vdevice: Any, model_path: str, **kwargs: Any) -> None:
        state = _fake.STATE
        state.record("LLM", model_path=model_path, **kwargs)
        if vdevice._released:
            _py._raise(_py.HailoRTInvalidOperationException, "VDevice already released")
        if not os.path.isfile(model_path):
            raise _py._status_error(13, "HAILO_OPEN_FILE_FAILURE", f"Failed to open {model_path}")
        arch = _fake.read_hef_arch(model_path)
        if arch is None:
            _py._raise(_py.HailoRTInvalidHEFException, f"{model_path}: invalid HEF magic")
        if arch != state.arch:
            _py._raise(_py.HailoRTHEFNotCompatibleWithDevice,
                       f"HEF arch {arch} is not compatible with device arch {state.arch}")
        # hailort_server.cpp ~119-124: "KV-Cache is already in use by another model!"
        if state.kv_cache_external is not None or state.kv_cache_holder is not None:
            _py._raise(_py.HailoRTInvalidOperationException,
                       "Failed to acquire KV-Cache. KV-Cache is already in use by another model!")
        state.sleep(state.load_delay)
        state.kv_cache_holder = self
        state.open_llms += 1
        self._setup()

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

    def generate(self, prompt: str | list[dict[str, Any]], temperature: float | None = None,
                 top_p: float | None = None, top_k: int | None = None,
                 frequency_penalty: float | None = None, max_generated_tokens: int | None = None,
                 do_sample: bool | None = None, seed: int | None = None) -> LLMGeneratorCompletion:
        # PY v5.1.1 ``LLM.generate`` (~4211): positional order without ``tools``
        return self._generate(prompt, temperature=temperature, top_p=top_p, top_k=top_k,
                              frequency_penalty=frequency_penalty,
                              max_generated_tokens=max_generated_tokens, do_sample=do_sample,
                              seed=seed)

    def _generate(self, prompt: Any, **kwargs: Any) -> LLMGeneratorCompletion:
        self._check()
        _fake.STATE.record("generate", prompt=prompt, **kwargs)
        return self._start(prompt, GeneratorParams().fill(**kwargs))

    def generate_all(self, prompt: Any, timeout_ms: int = 600000, **kwargs: Any) -> str:
        with self._generate(prompt, **kwargs) as completion:
            return completion.read_all(timeout_ms)

    def get_context_usage_size(self) -> int:
        self._check()
        return self._context

    def max_context_capacity(self) -> int:
        self._check()
        return _fake.STATE.max_context


class LLM520(LLM):
    """PY v5.2.0 ``LLM.generate(prompt, tools=None, temperature=None, ...)`` (~4209): ``tools``
    is the second positional parameter."""

    def generate(self, prompt: str | list[dict[str, Any]],  # type: ignore[override]
                 tools: Any = None, temperature: float | None = None,
                 top_p: float | None = None, top_k: int | None = None,
                 frequency_penalty: float | None = None, max_generated_tokens: int | None = None,
                 do_sample: bool | None = None, seed: int | None = None) -> LLMGeneratorCompletion:
        return self._generate(prompt, temperature=temperature, top_p=top_p, top_k=top_k,
                              frequency_penalty=frequency_penalty,
                              max_generated_tokens=max_generated_tokens, do_sample=do_sample,
                              seed=seed)


class LLM501(LLM):
    """PY v5.0.1 ``LLM(vdevice, model_path, lora_name="")`` (~4273): no 4th argument (a
    TypeError for ``optimize_memory_on_device``), and no ``get_context_usage_size`` nor
    ``max_context_capacity`` (absent from the v5.0.1 class)."""

    def __init__(self, vdevice: Any, model_path: str,  # type: ignore[override]
                 lora_name: str = "") -> None:
        self._load(vdevice, model_path, lora_name=lora_name)

    def __getattribute__(self, name: str) -> Any:
        if name in ("max_context_capacity", "get_context_usage_size"):
            raise AttributeError(f"'LLM' object has no attribute {name!r}")
        return super().__getattribute__(name)


def llm_class() -> type[LLM]:
    """The LLM class of the HailoRT version faked (``STATE.version``)."""
    version = _fake.STATE.version
    if version.startswith("5.0"):
        return LLM501
    if version >= "5.2":
        return LLM520
    return LLM
