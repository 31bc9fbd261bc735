"""The run config, typed. Every model refuses unknown keys.

Backend options, per-model artifacts and meter options are validated in a second pass
against the classes each backend or meter declares (bench.registry), so the config
schema never imports a backend's runtime.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bench.config.types import (
    Name,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SamplingConfig(Strict):
    temperature: NonNegativeFloat = 0.0
    seed: NonNegativeInt = 0
    top_k: PositiveInt | None = None
    top_p: PositiveFloat | None = None


class ModelConfig(Strict):
    name: Name
    family: str | None = None
    params_b: PositiveFloat | None = None
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
    kind: Literal["throughput", "chat", "completion"] = "throughput"
    prompt_tokens: PositiveInt | None = None
    """throughput: exact prompt length in tokens."""
    gen_tokens: PositiveInt
    """throughput: tokens generated (exactly, where the backend can force it); chat: at most."""
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
    output_dir: str = "results"
    clock: Literal["real", "virtual"] = "real"
    """virtual: instant runs on a virtual clock; allowed only when every backend is mock."""
    repetitions: PositiveInt = 5
    warmup: NonNegativeInt = 1
    cooldown_s: NonNegativeFloat = 0.0
    idle_s: NonNegativeFloat = 2.0
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
