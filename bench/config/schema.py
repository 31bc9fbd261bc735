"""The run config, typed. Every model refuses unknown keys.

Backend options, per-model artifacts and meter options are validated in a second pass
against the classes each backend or meter declares (bench.registry), so the config
schema never imports a backend's runtime.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from bench.common import Strict, WorkloadKind
from bench.config.types import (
    TOKENS_MAX,
    Name,
    Seconds,
    TokenCount,
    float_from,
    int_from,
)


class SamplingConfig(Strict):
    temperature: Annotated[float, float_from(0, strict=False, hi=100.0)] = 0.0
    seed: Annotated[int, int_from(0, 2**32 - 1)] = 0
    """llama.cpp takes a 32-bit seed."""
    top_k: Annotated[int, int_from(1, TOKENS_MAX)] | None = None
    top_p: Annotated[float, float_from(0, strict=True, hi=1.0)] | None = None


class ModelConfig(Strict):
    name: Name
    family: str | None = None
    params_b: Annotated[float, float_from(0, strict=True, hi=100_000.0)] | None = None
    """Parameter count in billions, as published."""
    artifacts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per backend name (preferred) or backend type: that backend's artifact fields.
    The model runs on the backends named here ({} for one that needs nothing, like mock);
    a model without any artifacts runs on every backend that needs none."""


class BackendConfig(Strict):
    name: Name
    """Id of this backend in results and tables, e.g. "cpu" or "npu"."""
    type: str
    """Registry name: mock, llama_cpp, hailo, ollama, openai."""
    options: dict[str, Any] = Field(default_factory=dict)


class WorkloadConfig(Strict):
    name: Name
    kind: WorkloadKind = "throughput"
    prompt_tokens: TokenCount | None = None
    """throughput: exact prompt length in tokens."""
    gen_tokens: TokenCount
    """throughput: tokens generated (exactly, where the backend can force it); chat: at most."""
    depth: Annotated[int, int_from(0, TOKENS_MAX)] = 0
    """throughput: tokens of context already in the KV cache before the prompt (llama-bench's
    ``-d``): decoded first, outside the timed window; backends without the ``depth``
    capability skip a workload with depth > 0."""
    prompts: str | list[str] | None = None
    """chat, completion: a prompt set: builtin:NAME, a file (YAML list or one prompt a line),
    or a list. completion prompts are raw text the model continues (for base models)."""
    system: str | None = None
    """chat: an optional system message."""
    images: list[str] = Field(default_factory=list)
    """Images sent with every prompt, for vision-language backends: files (relative to the
    config) or generated:WIDTHxHEIGHT (a test picture made here, see bench.workloads.images)."""
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)

    @model_validator(mode="after")
    def _kind_fields(self) -> WorkloadConfig:
        if self.kind == "throughput" and self.prompt_tokens is None:
            raise ValueError("a throughput workload needs prompt_tokens (a positive integer)")
        if self.kind != "throughput" and self.prompts is None:
            raise ValueError(f"a {self.kind} workload needs prompts (builtin:short, a file or a "
                             "list)")
        if self.kind != "throughput" and self.prompt_tokens is not None:
            raise ValueError(f"prompt_tokens is for throughput workloads; {self.kind} uses "
                             "prompts")
        if self.kind != "throughput" and self.depth:
            raise ValueError("depth is for throughput workloads (context already in the cache "
                             "before a prompt of prompt_tokens)")
        if self.kind == "completion" and self.system is not None:
            raise ValueError("system is for chat workloads; a completion prompt is raw text")
        if self.kind == "completion" and self.images:
            raise ValueError("images go with chat or throughput workloads, not completion")
        return self

    @field_validator("images")
    @classmethod
    def _image_specs(cls, images: list[str]) -> list[str]:
        from bench.workloads.images import check_spec

        for spec in images:
            check_spec(spec)
        return images


class RunConfig(Strict):
    name: Name
    description: str | None = None
    output_dir: str = Field(default="results", min_length=1, max_length=4096)
    clock: Literal["real", "virtual"] = "real"
    """virtual: instant runs on a virtual clock; allowed only when every backend is mock."""
    repetitions: Annotated[int, int_from(1, 10_000)] = 5
    warmup: Annotated[int, int_from(0, 1_000)] = 1
    cooldown_s: Seconds = 0.0
    rounds: Annotated[int, int_from(1, 1_000)] = 1
    """Visits of the whole matrix; each case's repetitions are spread over them (bench.runner
    .plan.schedule), so that a drift over the run falls on every case alike."""
    order: Literal["blocks", "shuffle", "interleave-devices"] = "blocks"
    """Order of the cases inside a round: blocks (backend by backend, model by model), shuffle
    (random, seed recorded), interleave-devices (a model's backends next to each other)."""
    order_seed: Annotated[int, int_from(0, 2**32 - 1)] | None = None
    """shuffle: the seed (null: drawn at the start of the run, recorded in run.json)."""
    reload_per_round: bool = False
    """Load each model again in every round (measures load time once per round); false: a
    model stays loaded from its first visit to its last (several at once when rounds
    interleave them: memory for all)."""
    idle_s: Seconds = 2.0
    """Idle power baseline measured before each case (only with meters)."""
    models: list[ModelConfig] = Field(min_length=1)
    backends: list[BackendConfig] = Field(min_length=1)
    workloads: list[WorkloadConfig] = Field(min_length=1)
    meters: list[dict[str, Any]] = Field(default_factory=list)
    health: dict[str, Any] = Field(default_factory=dict)
    mixed: dict[str, Any] | None = None
    """Vision + LLM at the same time (see bench/vision/config.py)."""

    @field_validator("models", "backends", "workloads")
    @classmethod
    def _unique_names(cls, items: list[Any]) -> list[Any]:
        seen: set[str] = set()
        for item in items:
            if item.name in seen:
                raise ValueError(f"the name {item.name!r} is used twice; names must be unique")
            seen.add(item.name)
        return items
