"""The mock backend: a simulated device that behaves like a real backend.

Timing model per generation (all on the run's clock; real time or virtual):
  time to first token = ttft_s + prompt_tokens / prompt_tps (prompt_tps None: ttft_s only)
  then one token every 1 / gen_tps seconds, each interval scaled by (1 + jitter * N(0, 1)),
  clipped to [0.5, 1.5] x, from a random stream seeded by (seed, model, call number).
With jitter 0 the figures are exact: tests compute them by hand.

Contention (mixed mode): while the runner says a vision load shares this device
(``set_co_tenant``) and that load is running, every interval is multiplied by the profile's
``contention.slowdown``, an assumption stated in the profile. Checked per token, so a vision
side that stops (or crashes) mid-generation stops slowing the tokens after it.
Heat (a profile with ``thermal:``): every interval is also multiplied by the simulated
board's slowdown at that moment (bench.simthermal), the board heating at the profile's busy
watts while tokens come and cooling at its idle watts in between.
Everything this backend produces is marked simulated.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable

from bench import simdevice, simthermal
from bench.backends.base import (
    Backend,
    Generation,
    GenerationRequest,
    GenerationStats,
    ModelInfo,
    ModelRef,
)
from bench.backends.base import TokenEvent as Token
from bench.backends.mock.config import CAPABILITIES, MockArtifact, MockOptions
from bench.backends.mock.profile import ModelFigures, Profile, load_profile
from bench.clock import Clock
from bench.common import JsonObject, assert_never
from bench.errors import BackendError, GenerationTimeout, ModelLoadError

_WORDS = (
    "the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "simulated",
    "tokens", "arrive", "at", "the", "rate", "of", "the", "profile",
)


class MockBackend(Backend[MockOptions]):
    name = "mock"
    capabilities = CAPABILITIES

    def __init__(self, options: MockOptions, *, clock: Clock | None = None) -> None:
        super().__init__(options, clock=clock)
        self.profile: Profile = load_profile(options.profile)
        self.runs_on = self.profile.runs_on
        self._co_tenant: Callable[[], bool] | None = None
        self.jitter = self.profile.jitter if options.jitter is None else options.jitter
        self.figures: ModelFigures | None = None
        self.model_name = ""
        self.device: simdevice.SimulatedDevice | None = None
        self.calls = 0
        self._case_call = 0
        """The generation of the current case, from 1 with the warm-ups (``fail.rep``): the
        request's ``variant`` counts a case's generations from 0, warm-ups first."""
        self.history: list[GenerationRequest] = []
        self.board: simthermal.ThermalBoard | None = None

    def _fails(self, where: str) -> bool:
        f = self.options.fail
        if f is None or f.at != where:
            return False
        if f.models is not None and self.model_name not in f.models:
            return False
        return f.rep is None or f.rep == self._case_call

    def load(self, model: ModelRef) -> ModelInfo:
        art = model.artifact if isinstance(model.artifact, MockArtifact) else MockArtifact()
        self.model_name = model.name
        self.figures = self.profile.figures(art.profile_model or model.name)
        self.calls = 0
        self.device = simdevice.SimulatedDevice(
            self.profile.name, self.profile.idle_w, cap_w=self.profile.busy_w,
            kind=None if self.runs_on == "unknown" else self.runs_on)
        simdevice.register(self.device)
        if self.profile.thermal is not None:
            self.board = simthermal.board(self.profile.thermal, self.clock.now(),
                                          self.profile.idle_w)
        t0 = self.clock.now()
        self.clock.sleep(self.figures.load_s)
        self.device.busy(t0, self.clock.now(), self.profile.busy_w)
        if self._fails("load"):
            raise ModelLoadError(f"{self.options.fail.message if self.options.fail else ''} "
                                 f"(mock: failing at load of {model.name})".strip())
        return ModelInfo(
            weights="simulated",
            params=int(model.params_b * 1e9) if model.params_b else None,
            extra={"profile": self.profile.name, "profile_source": self.profile.source,
                   "uncertain_figures": list(self.figures.uncertain)},
        )

    def _rng(self) -> random.Random:
        key = f"{self.options.seed}:{self.model_name}:{self.calls}".encode()
        return random.Random(zlib.crc32(key))

    def _interval(self, rng: random.Random, base: float) -> float:
        if self.jitter != 0:
            base *= min(1.5, max(0.5, 1.0 + self.jitter * rng.gauss(0.0, 1.0)))
        if self.board is not None:  # busy since the last token: heat, then the clock's toll
            self.board.advance(self.clock.now(), self.profile.busy_w)
            base *= self.board.slowdown()
        return base * self._slowdown()

    def set_co_tenant(self, active: Callable[[], bool] | None) -> None:
        self._co_tenant = active

    def _slowdown(self) -> float:
        """The profile's contention factor while a co-tenant vision load runs, else 1."""
        c = self.profile.contention
        if c is None or self._co_tenant is None or not self._co_tenant():
            return 1.0
        return c.slowdown

    def generate(self, request: GenerationRequest) -> Generation:
        if self.figures is None or self.device is None:
            raise BackendError("mock: generate() before load()")
        fig = self.figures
        self.history.append(request)
        self.calls += 1
        self._case_call = request.variant + 1
        rng = self._rng()
        match request.kind:
            case "throughput":
                n_prompt = request.prompt_tokens or 0
                n_gen = request.max_tokens
                method = "exact: simulated"
            case "chat" | "completion":
                text = " ".join(m.content for m in request.messages)
                n_prompt = len(text.split())
                n_gen = min(request.max_tokens, self.options.chat_reply_tokens)
                method = "simulated: one token per word"
            case _:
                assert_never(request.kind)
        if fig.prompt_tps is None:
            # the profile does not model prompt speed: a prompt t/s from a fixed TTFT would
            # be an artefact of the simulation, so the count is withheld (-> n/a)
            n_prompt_reported: int | None = None
            method = "not reported: the profile has no prompt speed (TTFT is fixed)"
        else:
            n_prompt_reported = n_prompt
        t_request = self.clock.now()
        if self.board is not None:  # idle since the last generation: the board cooled
            self.board.advance(t_request, self.profile.idle_w)
        ttft = fig.ttft_s + (n_prompt / fig.prompt_tps if fig.prompt_tps else 0.0)
        fail = self.options.fail
        words: list[str] = []
        try:
            for i in range(n_gen):
                if fail is not None and i == fail.token and self._fails("hang"):
                    self.clock.sleep(self.options.read_timeout_s)
                    raise GenerationTimeout(
                        f"mock: no token within the read timeout of "
                        f"{self.options.read_timeout_s} s "
                        f"(simulated hang after {i} tokens)")
                if fail is not None and i == fail.token and self._fails("token"):
                    raise BackendError(f"{fail.message} (mock: failing at token {i})")
                self.clock.sleep(self._interval(rng, ttft) if i == 0
                                 else self._interval(rng, 1.0 / fig.gen_tps))
                word = _WORDS[(i + request.variant) % len(_WORDS)]
                words.append(word)
                yield Token(t=self.clock.now(), text=" " + word)
        finally:
            self.device.busy(t_request, self.clock.now(), self.profile.busy_w)
        return GenerationStats(
            t_request=t_request, prompt_tokens=n_prompt_reported, prompt_tokens_method=method,
            gen_tokens=len(words), gen_tokens_method="exact: simulated",
            stop_reason="length" if request.kind == "throughput" or n_gen == request.max_tokens
            else "eos",
            text=" ".join(words),
        )

    def close(self) -> None:
        self.board = None
        if self.device is not None:
            simdevice.unregister(self.device)
            self.device = None

    def describe(self) -> JsonObject:
        c = self.profile.contention
        return {"device": self.profile.device, "profile": self.profile.name,
                "profile_file": self.options.profile if self.options.profile.endswith(
                    (".yaml", ".yml")) else None,
                "profile_source": self.profile.source, "jitter": self.jitter,
                "seed": self.options.seed,
                "simulated": True, "power_covers": self.profile.covers,
                **({"thermal_assumption": self.profile.thermal.assumption}
                   if self.profile.thermal is not None else {}),
                "contention": None if c is None else {
                    "slowdown": c.slowdown, "assumption": c.assumption,
                    "applies": "while a vision load runs on the same simulated device"}}
