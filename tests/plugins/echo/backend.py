"""The ``echo`` test backend: every token takes 1 / tokens_per_s on the run's clock."""

from __future__ import annotations

from collections.abc import Generator
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
from bench.clock import Clock
from tests.plugins.echo.config import CAPABILITIES, EchoOptions


class EchoBackend(Backend):
    name = "echo"
    capabilities: ClassVar[Capabilities] = CAPABILITIES
    runs_on = "cpu"

    def __init__(self, options: EchoOptions, *, clock: Clock | None = None) -> None:
        super().__init__(options, clock=clock)
        self.opts = options

    def load(self, model: ModelRef) -> ModelInfo:
        return ModelInfo(weights="simulated")

    def generate(self, request: GenerationRequest) -> Generator[TokenEvent, None, GenerationStats]:
        t_request = self.clock.now()
        for _ in range(request.max_tokens):
            self.clock.sleep(1.0 / self.opts.tokens_per_s)
            yield TokenEvent(self.clock.now(), text="x")
        return GenerationStats(t_request=t_request, prompt_tokens=request.prompt_tokens or 0,
                               prompt_tokens_method="exact: echo",
                               gen_tokens=request.max_tokens, gen_tokens_method="exact: echo")

    def describe(self) -> dict[str, Any]:
        return {"device": "simulated echo", "tokens_per_s": self.opts.tokens_per_s}

    def close(self) -> None:
        pass
