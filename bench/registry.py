"""Lazy registries: a name maps to an entry, imported only when chosen.

One generic ``Registry[T]`` serves backends, meters, vision detectors and CLI commands. An
entry is either the object itself or a lazy ``"module:attribute"`` string, imported the first
time the name is asked for: choosing the ``llama_cpp`` backend imports llama_cpp; listing
backends or validating a config imports only the light ``config`` modules. An unknown name
gets one line that lists what exists and says "did you mean".

Adding a backend is its folder plus one line in ``BACKENDS`` (or ``BACKENDS.register(...)``
from a plugin or a test).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from bench.errors import UserError

if TYPE_CHECKING:
    from bench.backends.base import Backend, Capabilities, Options
    from bench.meters.base import MeterOptions, PowerMeter

T = TypeVar("T")


def load_object(path: str) -> Any:
    """The attribute a ``"module:attribute"`` string names (imports the module)."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    if close:
        return f"did you mean {close[0]!r}?"
    return "choose one of: " + ", ".join(sorted(choices))


class Registry(Generic[T]):
    """Names to entries of type ``T``; an entry given as a ``"module:attribute"`` string is
    imported when first asked for (``get``), then kept."""

    def __init__(self, what: str, entries: Mapping[str, T | str] | None = None) -> None:
        self.what = what
        """What the names name, for messages: "backend", "meter", ..."""
        self._entries: dict[str, T | str] = dict(entries or {})

    def register(self, name: str, entry: T | str, *, replace: bool = False) -> None:
        """Add ``name``; refuses a name already taken unless ``replace``."""
        if name in self._entries and not replace:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self._entries[name] = entry

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def unknown(self, name: str) -> str:
        """The one-line message for a name that is not registered."""
        return f"unknown {self.what} {name!r}: {did_you_mean(name, self.names())}"

    def get(self, name: str) -> T:
        """The entry for ``name`` (imported now if lazy); UserError naming the choices."""
        try:
            entry = self._entries[name]
        except KeyError:
            raise UserError(self.unknown(name)) from None
        if isinstance(entry, str):
            loaded: T = load_object(entry)
            self._entries[name] = entry = loaded
        return entry

    def items(self) -> Iterator[tuple[str, T]]:
        for name in self:
            yield name, self.get(name)


@dataclass(frozen=True)
class BackendEntry:
    options: str
    """"module:Class" of the backend's Options model (light import)."""
    artifact: str
    """"module:Class" of its per-model artifact model (light import)."""
    backend: str
    """"module:Class" of the Backend (imports the runtime library)."""
    summary: str
    needs: str | None = None
    """The import name of the library backend.py needs (``pibench backends`` says whether
    it is installed); None: nothing beyond pibench's own dependencies."""
    versions: tuple[str, ...] = ()
    """Distribution names whose versions every run records (results.environment) and
    compare lists (not import names: llama-cpp-python is imported as llama_cpp)."""

    def capabilities_for(self, options: Options | None = None) -> Capabilities:
        """The declared flags, as the given options make them: the light module's optional
        ``capabilities_for(options)`` (hailo-ollama declared by ``flavour`` takes no
        completion workloads), else its ``CAPABILITIES`` (the flags the Backend class
        declares, readable without importing the runtime)."""
        module = importlib.import_module(self.options.partition(":")[0])
        hook = getattr(module, "capabilities_for", None)
        if options is not None and hook is not None:
            caps: Capabilities = hook(options)
            return caps
        caps = module.CAPABILITIES
        return caps

    def options_cls(self) -> type[Options]:
        cls: type[Options] = load_object(self.options)
        return cls

    def artifact_cls(self) -> type[Options]:
        cls: type[Options] = load_object(self.artifact)
        return cls

    def backend_cls(self) -> type[Backend]:
        """The Backend class: imports the runtime library."""
        cls: type[Backend] = load_object(self.backend)
        return cls


def _backend(name: str, options: str, artifact: str, backend: str, summary: str,
             needs: str | None = None, versions: tuple[str, ...] = ()) -> BackendEntry:
    """The entry of a backend in ``bench/backends/<name>/`` (config.py + backend.py)."""
    pkg = f"bench.backends.{name}"
    return BackendEntry(f"{pkg}.config:{options}", f"{pkg}.config:{artifact}",
                        f"{pkg}.backend:{backend}", summary, needs, versions)


BACKENDS: Registry[BackendEntry] = Registry("backend", {
    "mock": _backend(
        "mock", "MockOptions", "MockArtifact", "MockBackend",
        "simulated device from a published-figures profile (results marked simulated)"),
    "llama_cpp": _backend("llama_cpp", "LlamaCppOptions", "LlamaCppArtifact", "LlamaCppBackend",
                          "llama.cpp in process through llama-cpp-python (the Pi 5 CPU)",
                          "llama_cpp", ("llama-cpp-python",)),
    "llama_cpp_vlm": _backend(
        "llama_cpp_vlm", "LlamaCppVLMOptions", "LlamaCppVLMArtifact", "LlamaCppVLMBackend",
        "vision-language models on the CPU: llama.cpp's libmtmd (image + question)",
        "llama_cpp", ("llama-cpp-python",)),
    "hailo": _backend("hailo", "HailoOptions", "HailoArtifact", "HailoBackend",
                      "Hailo-10H NPU in process through HailoRT GenAI (hailo_platform)",
                      "hailo_platform", ("hailort",)),
    "hailo_vlm": _backend("hailo_vlm", "HailoVLMOptions", "HailoVLMArtifact", "HailoVLMBackend",
                          "vision-language models on the Hailo-10H NPU (hailo_platform.genai.VLM)",
                          "hailo_platform", ("hailort",)),
    "ollama": _backend(
        "ollama", "OllamaOptions", "OllamaArtifact", "OllamaBackend",
        "an Ollama HTTP server: Ollama on the CPU, or hailo-ollama on the NPU (no completion)",
        "httpx"),
    "openai": _backend("openai", "OpenAIOptions", "OpenAIArtifact", "OpenAIBackend",
                       "any OpenAI-compatible server (llama-server, vLLM, ...)", "httpx"),
})


def backend_entry(name: str) -> BackendEntry:
    return BACKENDS.get(name)


def backend_capabilities(type_name: str, options: Options | None = None) -> Capabilities:
    """The capability flags of a registered backend type (light import), as ``options``
    make them when given."""
    return backend_entry(type_name).capabilities_for(options)


def model_file_fields(type_name: str | None = None) -> tuple[str, ...]:
    """The artifact fields that name model files, as the backend type's artifact declares
    them; for an unknown or unregistered type, those of every registered backend."""
    if type_name is not None and type_name in BACKENDS:
        return BACKENDS.get(type_name).artifact_cls().model_files
    fields: dict[str, None] = {}
    for _name, entry in BACKENDS.items():
        fields.update(dict.fromkeys(entry.artifact_cls().model_files))
    return tuple(fields)


def backend_versions() -> tuple[str, ...]:
    """The distributions whose versions runs record, as the registered backends declare."""
    out: dict[str, None] = {}
    for _name, entry in BACKENDS.items():
        out.update(dict.fromkeys(entry.versions))
    return tuple(out)


@dataclass(frozen=True)
class MeterEntry:
    options: str
    meter: str
    summary: str

    def options_cls(self) -> type[MeterOptions]:
        cls: type[MeterOptions] = load_object(self.options)
        return cls

    def meter_cls(self) -> Callable[..., PowerMeter]:
        cls: Callable[..., PowerMeter] = load_object(self.meter)
        return cls


_M = "bench.meters"
METERS: Registry[MeterEntry] = Registry("meter", {
    "mock": MeterEntry(f"{_M}.mock:MockMeterOptions", f"{_M}.mock:MockMeter",
                       "follows the mock backend's simulated load (simulated)"),
    "pi5-pmic": MeterEntry(f"{_M}.pmic:PmicOptions", f"{_M}.pmic:PmicMeter",
                           "Pi 5 PMIC rails via vcgencmd (SoC board, not the 5 V domain)"),
    "hwmon": MeterEntry(f"{_M}.hwmon:HwmonOptions", f"{_M}.hwmon:HwmonMeter",
                        "a power sensor under /sys/class/hwmon (INA2xx, ...)"),
    "shelly": MeterEntry(f"{_M}.plugs:ShellyOptions", f"{_M}.plugs:ShellyMeter",
                         "Shelly smart plug over HTTP (Gen1 and Gen2+): wall power"),
    "tasmota": MeterEntry(f"{_M}.plugs:TasmotaOptions", f"{_M}.plugs:TasmotaMeter",
                          "Tasmota smart plug over HTTP: wall power"),
    "rapl": MeterEntry(f"{_M}.rapl:RaplOptions", f"{_M}.rapl:RaplMeter",
                       "x86 RAPL package energy counters (running pibench on a PC)"),
    "hailo": MeterEntry(f"{_M}.hailo:HailoPowerOptions", f"{_M}.hailo:HailoPowerMeter",
                        "HailoRT power measurement, where the card supports it"),
})


def meter_entry(name: str) -> MeterEntry:
    return METERS.get(name)
