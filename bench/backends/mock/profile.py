"""Device profiles of the mock backend: YAML files of published figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.errors import ModelLoadError, UserError

PROFILE_DIR = Path(__file__).parent / "profiles"


@dataclass(frozen=True)
class ModelFigures:
    gen_tps: float
    ttft_s: float
    load_s: float
    prompt_tps: float | None = None
    uncertain: tuple[str, ...] = ()


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


def available() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load_profile(spec: str) -> Profile:
    is_file = spec.endswith((".yaml", ".yml"))
    path = Path(spec).expanduser() if is_file else PROFILE_DIR / f"{spec}.yaml"
    if not path.is_file():
        raise UserError(f"mock profile {spec!r} not found: use one of {', '.join(available())} "
                        "or a path to a profile YAML")
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        power = data["power"]
        default_pp = data.get("prompt_tps")
        models = {
            name: ModelFigures(
                gen_tps=float(f["gen_tps"]),
                ttft_s=float(f["ttft_s"]),
                load_s=float(f["load_s"]),
                prompt_tps=f.get("prompt_tps", default_pp),
                uncertain=tuple(f.get("uncertain", ())),
            )
            for name, f in data["models"].items()
        }
        return Profile(
            name=data["name"], device=data["device"], source=" ".join(data["source"].split()),
            jitter=float(data.get("jitter", 0.0)), idle_w=float(power["idle_w"]),
            busy_w=float(power["busy_w"]), covers=power["covers"], models=models,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: not a valid mock profile ({exc!r})") from None
