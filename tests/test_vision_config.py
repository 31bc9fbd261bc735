"""The mixed: section: the shipped configs validate; mistakes are refused with the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from bench.vision.config import (
    HailoDetectorOptions,
    HogDetectorOptions,
    MixedOptions,
    MockDetectorOptions,
    detector_device,
)

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("mixed-*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_mixed_configs_validate(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    mixed = MixedOptions.model_validate(data["mixed"])
    backends = {b["name"] for b in data["backends"]}
    for placement in mixed.placements:
        assert placement.backend in backends
        vision = mixed.vision_for(placement)
        assert vision.device in ("npu", "cpu")


def test_there_is_a_mixed_config_per_situation() -> None:
    assert {p.name for p in CONFIGS} >= {"mixed-cpu.yaml", "mixed-mock.yaml", "mixed-pi.yaml"}


def test_placement_devices() -> None:
    assert detector_device(HailoDetectorOptions(type="hailo", hef="x.hef")) == "npu"
    assert detector_device(HogDetectorOptions(type="hog")) == "cpu"
    assert detector_device(MockDetectorOptions(type="mock", profile="yolov8s-cpu")) == "cpu"


def test_unknown_keys_and_types_are_refused() -> None:
    with pytest.raises(ValidationError, match="win_strid"):
        MixedOptions.model_validate({"placements": [
            {"name": "a", "backend": "cpu", "detector": {"type": "hog", "win_strid": 4}}]})
    with pytest.raises(ValidationError, match="yolo"):
        MixedOptions.model_validate({"placements": [
            {"name": "a", "backend": "cpu", "detector": {"type": "yolo"}}]})


def test_duplicate_placement_names_are_refused() -> None:
    p = {"name": "a", "backend": "cpu", "detector": {"type": "hog"}}
    with pytest.raises(ValidationError, match="used twice"):
        MixedOptions.model_validate({"placements": [p, p]})
