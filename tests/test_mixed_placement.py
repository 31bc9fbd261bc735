"""Where a backend runs is declared (Backend.runs_on), and simulated sides that share a device
slow down by the factors their profiles state: unit tests on a virtual clock."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.backends.base import Backend, GenerationRequest, ModelRef, collect
from bench.backends.mock.backend import MockBackend
from bench.backends.mock.config import MockOptions
from bench.backends.mock.profile import load_profile
from bench.backends.ollama.backend import OllamaBackend
from bench.backends.ollama.config import OllamaOptions
from bench.backends.openai.backend import OpenAIBackend
from bench.backends.openai.config import OpenAIOptions
from bench.clock import VirtualClock
from bench.config.loader import ConfigErrors, load_config
from bench.errors import UserError
from bench.results.metrics import rep_record
from bench.vision.mixed import same_device

Loader = Callable[[Path, VirtualClock], MockBackend]


def contended(fast_profile: Path, runs_on: str, slowdown: float) -> Path:
    """The shared fast profile, declared on a device, with a contention factor."""
    p = fast_profile.with_name(f"fast-{runs_on}.yaml")
    p.write_text(fast_profile.read_text().replace("name: fast", f"name: fast-{runs_on}")
                 + f"runs_on: {runs_on}\n"
                 f"contention: {{slowdown: {slowdown}, assumption: test factor}}\n")
    return p


def test_every_shipped_backend_declares_where_it_runs() -> None:
    from bench.backends.hailo.backend import HailoBackend
    from bench.backends.hailo_vlm.backend import HailoVLMBackend

    assert HailoBackend.runs_on == "npu" and HailoVLMBackend.runs_on == "npu"
    llama = pytest.importorskip("bench.backends.llama_cpp.backend")
    assert llama.LlamaCppBackend.runs_on == "cpu"
    # the mock: from its profile
    assert MockBackend(MockOptions(profile="hailo10h")).runs_on == "npu"
    assert MockBackend(MockOptions(profile="pi5-cpu")).runs_on == "cpu"
    # servers cannot tell: what the config declares, else "unknown"
    assert OllamaBackend(OllamaOptions()).runs_on == "unknown"
    assert OllamaBackend(OllamaOptions(runs_on="npu")).runs_on == "npu"
    assert OpenAIBackend(OpenAIOptions()).runs_on == "unknown"
    assert OpenAIBackend(OpenAIOptions(runs_on="cpu")).runs_on == "cpu"
    assert Backend.runs_on == "unknown"  # a backend that says nothing


def test_same_device_is_unknown_when_the_llm_did_not_declare() -> None:
    assert same_device("npu", "npu") is True
    assert same_device("cpu", "npu") is False
    assert same_device("npu", "unknown") is None
    assert same_device("cpu", None) is None


def test_a_server_runs_on_is_checked_with_file_line_and_field(write_config) -> None:
    path = write_config("""
        name: t
        models: [{name: m, artifacts: {srv: {model: "qwen2:1.5b"}}}]
        backends:
          - name: srv
            type: ollama
            options:
              runs_on: hailo
        workloads: [{name: w, prompt_tokens: 8, gen_tokens: 8}]
    """)
    with pytest.raises(ConfigErrors) as exc:
        load_config(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}:7: backends[0].options.runs_on: expected ")
    assert 'got "hailo"' in msg and "\n" not in msg


def test_a_bad_profile_names_file_line_and_field(fast_profile: Path) -> None:
    bad = contended(fast_profile, "npu", 0.5)
    with pytest.raises(UserError) as exc:
        load_profile(str(bad))
    lines = bad.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("contention:"))
    assert str(exc.value).startswith(f"{bad}:{line}: contention.slowdown: expected a number >= 1")
    bad.write_text(fast_profile.read_text() + "runs_on: gpu\n")
    with pytest.raises(UserError, match=r":\d+: runs_on: expected 'cpu', 'npu' or 'unknown'"):
        load_profile(str(bad))


def test_shipped_profiles_state_their_contention_as_an_assumption() -> None:
    for name in ("hailo10h", "pi5-cpu"):
        c = load_profile(name).contention
        assert c is not None and c.slowdown > 1.0
        assert c.assumption.startswith("ASSUMPTION")


@pytest.fixture
def loaded() -> Iterator[Callable[[Path, VirtualClock], MockBackend]]:
    """Load model m1 on a mock backend with this profile; closed (device unregistered) after."""
    made: list[MockBackend] = []

    def make(profile: Path, clock: VirtualClock) -> MockBackend:
        backend = MockBackend(MockOptions(profile=str(profile), jitter=0), clock=clock)
        made.append(backend)
        backend.load(ModelRef("m1", None, None, None))
        return backend

    yield make
    for backend in made:
        backend.close()


def _gen_tps(backend: MockBackend, tokens: int = 11) -> float:
    events, stats = collect(backend.generate(
        GenerationRequest("throughput", max_tokens=tokens, prompt_tokens=10)))
    tps = rep_record(0, stats, events, keep_text=False)["gen_tps"]
    assert tps is not None
    return float(tps)


def test_the_mock_slows_down_only_while_its_co_tenant_is_active(fast_profile: Path,
                                                                loaded: Loader) -> None:
    profile = contended(fast_profile, "npu", 2.0)
    backend = loaded(profile, VirtualClock())
    figures, factor = load_profile(str(profile)).models["m1"], 2.0
    alone = _gen_tps(backend)
    assert alone == pytest.approx(figures.gen_tps)
    backend.set_co_tenant(lambda: True)
    assert _gen_tps(backend) == pytest.approx(figures.gen_tps / factor)
    backend.set_co_tenant(lambda: False)  # the vision side stopped (or crashed)
    assert _gen_tps(backend) == pytest.approx(figures.gen_tps)
    backend.set_co_tenant(None)
    assert _gen_tps(backend) == pytest.approx(alone)


def test_a_vision_side_that_stops_mid_generation_stops_slowing_it(fast_profile: Path,
                                                                  loaded: Loader) -> None:
    clock = VirtualClock()
    profile = contended(fast_profile, "cpu", 3.0)
    backend = loaded(profile, clock)
    step = 1.0 / load_profile(str(profile)).models["m1"].gen_tps
    t_stop = clock.now() + 0.5  # the vision process ends at this clock time
    backend.set_co_tenant(lambda: clock.now() < t_stop)
    events, _ = collect(backend.generate(
        GenerationRequest("throughput", max_tokens=40, prompt_tokens=10)))
    gaps = [b.t - a.t for a, b in itertools.pairwise(events)]
    slow = [g for g in gaps if g == pytest.approx(3.0 * step)]
    fast = [g for g in gaps if g == pytest.approx(step)]
    assert slow and fast and len(slow) + len(fast) == len(gaps)
    assert gaps.index(fast[0]) == len(slow)  # slowed first, then full speed, never back


def test_a_profile_without_contention_is_never_slowed(fast_profile: Path,
                                                     loaded: Loader) -> None:
    backend = loaded(fast_profile, VirtualClock())
    assert backend.runs_on == "unknown"
    backend.set_co_tenant(lambda: True)
    assert _gen_tps(backend) == pytest.approx(load_profile(str(fast_profile)).models["m1"].gen_tps)
    assert backend.describe()["contention"] is None


def test_simulated_devices_of_one_kind_share_one_power_budget(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import simdevice as simdev

    monkeypatch.setattr(simdev, "ACTIVE", [])
    llm = simdev.SimulatedDevice("llm", idle_w=3.0, kind="cpu", cap_w=10.5)
    vision = simdev.SimulatedDevice("vision", idle_w=0.0, kind="cpu")
    other = simdev.SimulatedDevice("vision-npu", idle_w=0.0, kind="npu")
    for d in (llm, vision, other):
        simdev.register(d)
    llm.busy(10.0, 20.0, 10.5)
    vision.busy(0.0, 30.0, 2.5)
    other.busy(0.0, 30.0, 1.0)
    assert simdev.total_power(5.0) == pytest.approx(3.0 + 2.5 + 1.0)  # the LLM idles
    assert simdev.total_power(15.0) == pytest.approx(10.5 + 1.0)  # cpu capped, npu adds
    assert simdev.total_power(25.0) == pytest.approx(3.0 + 2.5 + 1.0)
