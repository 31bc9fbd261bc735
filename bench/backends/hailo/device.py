"""What the two in-process HailoRT backends (hailo: LLM, hailo_vlm: VLM) do alike: find the
HEF, open the VDevice, switch stop tokens for exact lengths, release the card.

Imports no HailoRT: the ``hailo_platform.genai`` module is handed in by the backend.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType

from bench.backends.hailo.api import GenAIModel, VDevice, VDeviceParams
from bench.errors import BackendError, ModelLoadError

log = logging.getLogger(__name__)


def hef_file(hef: str, who: str, model: str) -> Path:
    """The artifact's HEF path (``~`` expanded); ModelLoadError when it is not a file."""
    path = Path(hef).expanduser()
    if not path.is_file():
        raise ModelLoadError(
            f"{who}: HEF for {model} not found: {path} "
            "(download it with scripts/fetch-pi-models.sh)"
        )
    return path


def open_vdevice(genai: ModuleType, group_id: str) -> VDevice:
    """A VDevice in ``group_id`` (``VDevice.create_params()``, then ``VDevice(params)``)."""
    params: VDeviceParams = genai.VDevice.create_params()
    params.group_id = group_id
    device: VDevice = genai.VDevice(params)
    return device


def release(model: GenAIModel | None, vdevice: VDevice | None, who: str) -> None:
    """Release the model, then the VDevice; a failure is logged (the card may be gone:
    releasing must not stop the run)."""
    for obj, what in ((model, "model"), (vdevice, "VDevice")):
        if obj is None:
            continue
        try:
            obj.release()
        except Exception as e:
            log.warning("%s: %s.release() failed: %s", who, what, e)


def switch_stops(model: GenAIModel, exact: bool, removed: bool, stops: list[str], who: str) -> bool:
    """Exact length (throughput): no stop token at all (HailoRT then never ends a generation
    early); otherwise the model's own ``stops``. Returns whether they are removed now."""
    if exact == removed:
        return removed
    try:
        model.set_stop_tokens([] if exact else list(stops))
    except Exception as e:
        raise BackendError(f"{who}: set_stop_tokens() failed: {e}") from None
    return exact
