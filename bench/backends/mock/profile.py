"""Device profiles of the mock backend: YAML files of published figures (and stated assumptions).

A profile is checked when it is loaded; a mistake is one line naming the file, the line and
the field (``hailo10h.yaml:14: contention.slowdown: expected a number >= 1, got 0.5``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field

from bench.backends.base import Options
from bench.config.yamlfile import load_typed
from bench.errors import ModelLoadError, UserError
from bench.simthermal import ThermalParams

PROFILE_DIR = Path(__file__).parent / "profiles"


@dataclass(frozen=True)
class ModelFigures:
    gen_tps: float
    ttft_s: float
    load_s: float
    prompt_tps: float | None = None
    uncertain: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contention:
    """How the simulated device slows down while a vision load shares it (mixed mode)."""

    slowdown: float
    """Every simulated token interval (TTFT included) is multiplied by this."""
    assumption: str
    """Why this factor: an assumption, stated (no published figure backs it)."""


@dataclass(frozen=True)
class Profile:
    name: str
    device: str
    source: str
    jitter: float
    idle_w: float
    busy_w: float
    covers: str
    models: dict[str, ModelFigures] = field(default_factory=dict)
    runs_on: Literal["cpu", "npu", "unknown"] = "unknown"
    contention: Contention | None = None
    thermal: ThermalParams | None = None
    """A simulated board that heats and throttles (bench.simthermal); None: no heat."""

    def figures(self, model: str) -> ModelFigures:
        if model in self.models:
            return self.models[model]
        lower = {k.lower(): v for k, v in self.models.items()}
        if model.lower() in lower:
            return lower[model.lower()]
        raise ModelLoadError(
            f"the simulated device {self.name!r} has no figures for model {model!r} "
            f"(it has: {', '.join(self.models)}); set artifacts.<backend>.profile_model"
        )


# ---- the file format (validated; unknown keys refused) -------------------------------------


class _Power(Options):
    idle_w: float = Field(ge=0)
    busy_w: float = Field(ge=0)
    covers: str


class _Model(Options):
    gen_tps: float = Field(gt=0)
    ttft_s: float = Field(ge=0)
    load_s: float = Field(ge=0)
    prompt_tps: float | None = Field(default=None, gt=0)
    """Absent: the profile's ``prompt_tps``; null: not modelled (prompt t/s is n/a)."""
    uncertain: list[str] = Field(default_factory=list)


class _Contention(Options):
    slowdown: float = Field(ge=1.0)
    assumption: str = Field(min_length=1)


class _Thermal(Options):
    ambient_c: float = Field(ge=-40, le=100)
    c_per_w: float = Field(ge=0, le=50)
    tau_s: float = Field(gt=0)
    throttle_c: float
    floor_c: float
    max_mhz: float = Field(gt=0)
    min_mhz: float = Field(gt=0)
    assumption: str = Field(min_length=1)


class _ProfileFile(Options):
    name: str
    device: str
    """Free text recorded with results."""
    runs_on: Literal["cpu", "npu", "unknown"] = "unknown"
    """The device kind simulated: mixed mode compares it with the vision side's device."""
    source: str
    jitter: float = Field(default=0.0, ge=0, le=0.5)
    power: _Power
    prompt_tps: float | None = Field(default=None, gt=0)
    contention: _Contention | None = None
    """Absent: no contention is simulated (mixed tok/s equals alone)."""
    thermal: _Thermal | None = None
    """Absent: the simulated board never heats (speed constant over time)."""
    models: dict[str, _Model] = Field(min_length=1)


def available() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def profile_path(spec: str) -> Path:
    """The file of a profile: a path (ending .yaml/.yml) or a shipped profile's name."""
    if spec.endswith((".yaml", ".yml")):
        return Path(spec).expanduser()
    return PROFILE_DIR / f"{spec}.yaml"


def load_profile(spec: str) -> Profile:
    path = profile_path(spec)
    if ("/" in spec and not spec.endswith((".yaml", ".yml"))) or not path.is_file():
        raise UserError(f"mock profile {spec!r} not found: use one of {', '.join(available())} "
                        "or a path to a profile YAML")
    p = load_typed(path, _ProfileFile, "mock profile")
    models = {
        name: ModelFigures(
            gen_tps=f.gen_tps, ttft_s=f.ttft_s, load_s=f.load_s,
            prompt_tps=f.prompt_tps if "prompt_tps" in f.model_fields_set else p.prompt_tps,
            uncertain=tuple(f.uncertain),
        )
        for name, f in p.models.items()
    }
    contention = (Contention(p.contention.slowdown, " ".join(p.contention.assumption.split()))
                  if p.contention is not None else None)
    t = p.thermal
    thermal = None
    if t is not None:
        if not t.throttle_c < t.floor_c or not t.min_mhz <= t.max_mhz:
            raise UserError(f"{path}: thermal: needs throttle_c < floor_c and min_mhz <= max_mhz "
                            f"(got {t.throttle_c:g} < {t.floor_c:g}, {t.min_mhz:g} <= "
                            f"{t.max_mhz:g})")
        thermal = ThermalParams(t.ambient_c, t.c_per_w, t.tau_s, t.throttle_c, t.floor_c,
                                t.max_mhz, t.min_mhz, " ".join(t.assumption.split()))
    return Profile(
        name=p.name, device=p.device, source=" ".join(p.source.split()), jitter=p.jitter,
        idle_w=p.power.idle_w, busy_w=p.power.busy_w, covers=p.power.covers, models=models,
        runs_on=p.runs_on, contention=contention, thermal=thermal,
    )
