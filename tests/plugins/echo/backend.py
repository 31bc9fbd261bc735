"""The ``echo`` test backend: every token takes 1 / tokens_per_s on the run's clock."""

from __future__ import annotations

from collections.abc import Generator

from bench.backends.base import (
    Backend,
    GenerationRequest,
    GenerationStats,
    ModelInfo,
    ModelRef,
    TokenEvent,
)
from bench.common import JsonObject
from tests.plugins.echo.config import CAPABILITIES, EchoOptions


class EchoBackend(Backend[EchoOptions]):
    name = "echo"
    capabilities = CAPABILITIES
    runs_on = "cpu"

    def load(self, model: ModelRef) -> ModelInfo:
        return ModelInfo(weights="simulated")

    def generate(self, request: GenerationRequest) -> Generator[TokenEvent, None, GenerationStats]:
        t_request = self.clock.now()
        for _ in range(request.max_tokens):
            self.clock.sleep(1.0 / self.options.tokens_per_s)
            yield TokenEvent(self.clock.now(), text="x")
        return GenerationStats(t_request=t_request, prompt_tokens=request.prompt_tokens or 0,
                               prompt_tokens_method="exact: echo",
                               gen_tokens=request.max_tokens, gen_tokens_method="exact: echo")

    def describe(self) -> JsonObject:
        return {"device": "simulated echo", "tokens_per_s": self.options.tokens_per_s}

    def close(self) -> None:
        pass
