"""Lazy registries: a name maps to "module:attribute" strings, imported only when chosen.

Choosing the ``llama_cpp`` backend imports llama_cpp; listing backends or validating a
config imports only the light ``config`` modules. Unknown names get "did you mean".
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.errors import UserError

if TYPE_CHECKING:
    from bench.backends.base import Capabilities


def load_object(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    if close:
        return f"did you mean {close[0]!r}?"
    return "choose one of: " + ", ".join(sorted(choices))


@dataclass(frozen=True)
class BackendEntry:
    options: str
    """"module:Class" of the backend's Options model (light import)."""
    artifact: str
    """"module:Class" of its per-model artifact model (light import)."""
    backend: str
    """"module:Class" of the Backend (imports the runtime library)."""
    summary: str

    @property
    def capabilities(self) -> str:
        """"module:CAPABILITIES" in the light options module: the flags the Backend class
        declares, readable without importing the runtime."""
        return self.options.partition(":")[0] + ":CAPABILITIES"


_B = "bench.backends"
BACKENDS: dict[str, BackendEntry] = {
    "mock": BackendEntry(
        f"{_B}.mock.config:MockOptions",
        f"{_B}.mock.config:MockArtifact",
        f"{_B}.mock.backend:MockBackend",
        "simulated device from a published-figures profile (results marked simulated)",
    ),
    "llama_cpp": BackendEntry(
        f"{_B}.llama_cpp.config:LlamaCppOptions",
        f"{_B}.llama_cpp.config:LlamaCppArtifact",
        f"{_B}.llama_cpp.backend:LlamaCppBackend",
        "llama.cpp in process through llama-cpp-python (the Pi 5 CPU)",
    ),
    "llama_cpp_vlm": BackendEntry(
        f"{_B}.llama_cpp_vlm.config:LlamaCppVLMOptions",
        f"{_B}.llama_cpp_vlm.config:LlamaCppVLMArtifact",
        f"{_B}.llama_cpp_vlm.backend:LlamaCppVLMBackend",
        "vision-language models on the CPU: llama.cpp's libmtmd (image + question)",
    ),
    "hailo": BackendEntry(
        f"{_B}.hailo.config:HailoOptions",
        f"{_B}.hailo.config:HailoArtifact",
        f"{_B}.hailo.backend:HailoBackend",
        "Hailo-10H NPU in process through HailoRT GenAI (hailo_platform)",
    ),
    "hailo_vlm": BackendEntry(
        f"{_B}.hailo_vlm.config:HailoVLMOptions",
        f"{_B}.hailo_vlm.config:HailoVLMArtifact",
        f"{_B}.hailo_vlm.backend:HailoVLMBackend",
        "vision-language models on the Hailo-10H NPU (hailo_platform.genai.VLM)",
    ),
    "ollama": BackendEntry(
        f"{_B}.ollama.config:OllamaOptions",
        f"{_B}.ollama.config:OllamaArtifact",
        f"{_B}.ollama.backend:OllamaBackend",
        "an Ollama HTTP server: Ollama on the CPU, or hailo-ollama on the NPU (no completion)",
    ),
    "openai": BackendEntry(
        f"{_B}.openai.config:OpenAIOptions",
        f"{_B}.openai.config:OpenAIArtifact",
        f"{_B}.openai.backend:OpenAIBackend",
        "any OpenAI-compatible server (llama-server, vLLM, ...)",
    ),
}


def backend_capabilities(type_name: str) -> Capabilities:
    """The capability flags of a registered backend type (light import)."""
    caps: Capabilities = load_object(backend_entry(type_name).capabilities)
    return caps


def backend_entry(name: str) -> BackendEntry:
    try:
        return BACKENDS[name]
    except KeyError:
        raise UserError(
            f"unknown backend {name!r}: {did_you_mean(name, list(BACKENDS))}"
        ) from None


@dataclass(frozen=True)
class MeterEntry:
    options: str
    meter: str
    summary: str


_M = "bench.meters"
METERS: dict[str, MeterEntry] = {
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
}


def meter_entry(name: str) -> MeterEntry:
    try:
        return METERS[name]
    except KeyError:
        raise UserError(f"unknown meter {name!r}: {did_you_mean(name, list(METERS))}") from None
