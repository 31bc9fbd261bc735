"""The backend interface: load a model, generate timed token events, close.

A backend is a small class in its own folder (``bench/backends/<name>/``) with a
``config.py`` that imports nothing heavy (its options and per-model artifact as pydantic
models) and a ``backend.py`` that imports the runtime library. What a backend can do is
declared in ``capabilities``; shared code reads those flags and never asks which backend
it is talking to.

Timing contract: every timestamp (``TokenEvent.t``, ``GenerationStats.t_request``) is read
from the clock handed to the backend, the same clock the meters and the runner use.

``generate`` is a generator: it yields one ``TokenEvent`` per token (or per chunk, with
``n`` tokens) as it arrives, and *returns* a ``GenerationStats`` (PEP 380), which the
runner picks up from ``StopIteration.value``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Literal, TypedDict, TypeVar

from bench.clock import Clock, RealClock
from bench.common import JsonObject, Strict, WorkloadKind, assert_never

RunsOn = Literal["cpu", "npu", "unknown"]
"""Where a backend's generation runs: a CPU ("cpu"), the Hailo-10H NPU ("npu"), or
"unknown" (a server nobody said anything about). Declared, never guessed from names."""


class Options(Strict):
    """Base for a backend's options and artifacts: typed, unknown keys refused (Strict)."""

    model_files: ClassVar[tuple[str, ...]] = ()
    """Artifacts: the fields that name model files (checked before a run, hashed, left out
    of comparisons once the hashes match). Declared by each backend's artifact."""

    def named_files(self) -> dict[str, str]:
        """Artifacts: {field: value} of the declared model-file fields that are set."""
        out: dict[str, str] = {}
        for key in self.model_files:
            value = getattr(self, key, None)
            if isinstance(value, str):
                out[key] = value
        return out

    def context_tokens(self) -> int | None:
        """Backend options: the context size in tokens a request must fit in, when the
        options fix it (the config check refuses workloads that cannot fit); else None."""
        return None

    probe_path: ClassVar[str] = "/"
    """Backend options with a server: the path of a cheap GET its API answers with 200
    (the pre-flight of `pibench run` and `pibench validate --online`, bench.runner.servers)."""

    def server_url(self) -> str | None:
        """Backend options: the URL of the server the backend talks to, when it talks to
        one (`pibench run` sends it a GET of ``probe_path`` before making a run folder);
        else None."""
        return None


def require_file(path: str, what: str) -> None:
    """Pre-flight check of an artifact's file, before any model is loaded (exit 2): it must
    be a regular file this process can read."""
    from pathlib import Path

    from bench.errors import UserError
    from bench.models.files import check_file

    p = Path(path).expanduser()
    check_file(p, what, UserError)
    try:
        with open(p, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise UserError(f"cannot read the {what} {p}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class Capabilities:
    streams_tokens: bool = True
    """Tokens arrive one by one with their own timestamps (not one block at the end)."""
    exact_prompt_tokens: bool = False
    """The prompt's token count is known exactly (tokenizer of the model itself)."""
    exact_gen_tokens: bool = False
    """Can be forced to generate exactly N tokens (end-of-generation suppressed)."""
    chat: bool = True
    """Applies the model's chat template to messages."""
    completion: bool = False
    """Takes a raw text prompt (no template) and continues it: for base models."""
    vision: bool = False
    """Takes images with the prompt (VLM)."""
    internal_timings: bool = False
    """Reports the runtime's own prompt/generation timings beside the harness's clock."""
    simulated: bool = False
    """Numbers come from a simulated device, never from hardware."""
    depth: bool = False
    """Takes a throughput request with ``depth`` > 0: that many tokens of context decoded
    into the cache before the timed prompt (llama-bench's ``-d``)."""
    host_cpu: bool = False
    """Generation runs on this machine's CPU from its RAM: the memory-bandwidth roofline of
    this host applies (bench.roofline)."""

    def refusal(self, kind: WorkloadKind, images: bool, depth: int = 0) -> str | None:
        """Why a backend with these flags cannot take a workload of ``kind`` (with images or
        not, after ``depth`` tokens of context), or None when it can: e.g. "takes no
        completion workloads"."""
        if depth and not self.depth:
            return "takes no depth (context already in the cache before the prompt)"
        match kind:
            case "throughput":
                pass
            case "chat":
                if not self.chat:
                    return "takes no chat workloads"
            case "completion":
                if not self.completion:
                    return "takes no completion workloads (raw text prompts)"
            case _:
                assert_never(kind)
        if images and not self.vision:
            return "takes no images (not a vision-language backend)"
        return None


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.0
    seed: int = 0
    top_k: int | None = None
    top_p: float | None = None


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class GenerationRequest:
    """One generation.

    ``kind == "throughput"``: a prompt of exactly ``prompt_tokens`` tokens (the backend builds
    it, from ``filler`` text if it can only take text), then exactly ``max_tokens`` generated
    tokens when the backend has ``exact_gen_tokens`` (end-of-generation suppressed).
    ``kind == "chat"``: ``messages`` through the model's chat template, stop at end of
    generation or ``max_tokens``.
    ``kind == "completion"``: the content of the one message in ``messages`` as a raw prompt
    (no template), continued until end of generation or ``max_tokens``.
    ``variant`` differs per repetition, so servers that reuse a cached prompt prefix can be
    given a fresh prompt each time.
    """

    kind: WorkloadKind
    max_tokens: int
    prompt_tokens: int | None = None
    messages: tuple[Message, ...] = ()
    sampling: Sampling = field(default_factory=Sampling)
    variant: int = 0
    filler: str = ""
    images: tuple[str, ...] = ()
    """Image file paths for vision-language models (backends with ``vision``)."""
    depth: int = 0
    """throughput: tokens of context decoded into the cache before the prompt, outside the
    timed window (backends with the ``depth`` capability)."""


@dataclass(frozen=True)
class TokenEvent:
    t: float
    """Clock time the token (or chunk) became available to the caller, seconds."""
    n: int = 1
    """Tokens in this event: 1 for token streams, more for servers that send chunks."""
    text: str = ""


class InternalTimings(TypedDict, total=False):
    """A runtime's own view of one generation (``GenerationStats.internal``), beside the
    harness clock; a key is present only when the runtime gave the figure."""

    source: str  # where the figures come from, e.g. "llama.cpp perf counters"
    prompt_ms: int | float
    prompt_tokens: int
    cached_tokens: int  # llama-server: prompt tokens reused from the cache (cache_n)
    gen_ms: int | float
    gen_tokens: int
    total_ms: int | float  # Ollama total_duration
    load_ms: int | float  # Ollama load_duration
    fields_present: list[str]  # Ollama: the final chunk's duration/count fields it filled
    fields_missing: list[str]
    images: int  # llama_cpp_vlm: images in the prompt, their tokens and timings
    image_tokens: int
    text_tokens: int
    image_preprocess_ms: float
    image_encode_ms: float
    image_timing_source: str
    depth_context: str  # llama_cpp depth: "decoded" or "restored" (from the saved state)
    depth_context_tokens: int
    depth_context_ms: float  # building the depth context, outside the timed window


@dataclass
class GenerationStats:
    """What a backend knows after a generation. Counts are exact unless the method says."""

    t_request: float
    """Clock time just before the request was handed to the runtime."""
    prompt_tokens: int | None
    prompt_tokens_method: str
    gen_tokens: int
    gen_tokens_method: str
    stop_reason: str = "length"
    """"length" (max_tokens reached), "eos" (end of generation), "error"."""
    text: str | None = None
    internal: InternalTimings | None = None
    """The runtime's own timings, e.g. {"source": "llama.cpp perf counters",
    "prompt_ms": ..., "prompt_tokens": ..., "gen_ms": ..., "gen_tokens": ...}."""
    prompt_cached_tokens: int | None = None
    """Prompt tokens the runtime reused from its cache instead of processing them (a server's
    prompt cache); None when it does not say. More than 0: the prompt was not all processed,
    so no prompt speed is derived from this generation."""


Generation = Generator[TokenEvent, None, GenerationStats]
"""What ``Backend.generate`` returns: a generator of token events that returns the stats."""


@dataclass(frozen=True)
class ServerAddress:
    """Where a backend's server runs, so its processes can be found and their CPU time
    counted as the workload (bench.runner.serverproc). ``pid`` or ``process_name``, when
    given, name the processes directly; otherwise the process listening on ``port``."""

    url: str
    host: str
    port: int | None
    pid: int | None = None
    process_name: str | None = None


@dataclass
class ModelRef:
    """The model as the config names it, with this backend's validated artifact."""

    name: str
    family: str | None
    params_b: float | None
    artifact: Options


@dataclass
class ModelInfo:
    """Facts about the loaded model, recorded with every result."""

    weights: Literal["real", "synthetic", "simulated"]
    """"synthetic": random weights in a real model's shape (speed only)."""
    path: str | None = None
    """The model file loaded (GGUF, HEF); null for a server's model."""
    file_bytes: int | None = None
    sha256: str | None = None
    """Of the file, when the backend hashes it (null: not computed, never guessed)."""
    architecture: str | None = None
    params: int | None = None
    """Parameter count, from the file's tensors or metadata."""
    quant: str | None = None
    extra: JsonObject = field(default_factory=dict)
    """Further facts about the file or the served model (GGUF metadata, server details...)."""


OptionsT = TypeVar("OptionsT", bound=Options)
"""A backend's own options model (its ``config.py``): ``self.options`` has that type."""
ArtifactT = TypeVar("ArtifactT", bound=Options)


class Backend(ABC, Generic[OptionsT]):
    """Base class, generic in the backend's options (``class X(Backend[XOptions])``).
    Subclasses set ``name`` and ``capabilities`` and implement the three abstract methods.
    Use as a context manager: ``close()`` always runs."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    runs_on: RunsOn = "unknown"
    """Where generation runs (RunsOn), declared: a class attribute where it is fixed
    (llama_cpp: "cpu", hailo: "npu"), set in ``__init__`` where the options decide (the mock's
    profile, a server's ``runs_on`` option). Mixed mode uses it to know whether the LLM shares
    the vision side's device."""

    def __init__(self, options: OptionsT, *, clock: Clock | None = None) -> None:
        self.options: OptionsT = options
        self.clock: Clock = clock or RealClock()

    def artifact(self, model: ModelRef, cls: type[ArtifactT], what: str) -> ArtifactT:
        """The model's artifact as this backend's artifact model ``cls``; ModelLoadError
        ("<backend> backend: model 'x' has no <what>") when the config gave another."""
        artifact = model.artifact
        if not isinstance(artifact, cls):
            from bench.errors import ModelLoadError

            raise ModelLoadError(f"{self.name} backend: model {model.name!r} has no {what}")
        return artifact

    @abstractmethod
    def load(self, model: ModelRef) -> ModelInfo:
        """Load the model (the runner times this call). Raise ModelLoadError."""

    @abstractmethod
    def generate(self, request: GenerationRequest) -> Generation:
        """Yield token events as they arrive; return the GenerationStats."""

    def reset(self) -> None:
        """Clear the model's context (KV cache) between repetitions."""

    def set_co_tenant(self, active: Callable[[], bool] | None) -> None:
        """Mixed mode: a vision load shares this backend's device (``runs_on``) and
        ``active()`` says whether it is running at this moment; None: nothing shares it.
        Only a simulated backend uses it (to slow down by its profile's contention factor);
        on hardware the contention is real, so real backends ignore it."""

    def server(self) -> ServerAddress | None:
        """The server that generates for this backend, or None when generation runs in this
        process. HTTP backends return their server's address: its CPU time is the workload,
        not "other processes" (bench.runner.hostload)."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Release the model and the device. Safe to call twice."""

    def describe(self) -> JsonObject:
        """Settings to record with each result: device, threads, versions, ..."""
        return {"device": "unknown"}

    def __enter__(self) -> Backend[OptionsT]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def collect(gen: Generation) -> tuple[list[TokenEvent], GenerationStats]:
    """Run a generation to its end: every event, and the stats it returns."""
    events: list[TokenEvent] = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return events, stop.value
