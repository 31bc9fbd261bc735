"""What the two in-process HailoRT backends (hailo: LLM, hailo_vlm: VLM) do alike: find the
HEF, open the VDevice, switch stop tokens for exact lengths, release the card; their base
class.

Imports no HailoRT: the ``hailo_platform.genai`` module is handed in by the backend.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType
from typing import TypeVar

from bench.backends.base import Backend, Options
from bench.backends.hailo.api import GenAIModel, VDevice, VDeviceParams
from bench.errors import BackendError, ModelLoadError

OptionsT = TypeVar("OptionsT", bound=Options)

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


def switch_stops(model: GenAIModel, exact: bool, removed: bool, stops: tuple[str, ...],
                 who: str) -> bool:
    """Exact length (throughput): no stop token at all (HailoRT then never ends a generation
    early); otherwise the model's own ``stops``. Returns whether they are removed now."""
    if exact == removed:
        return removed
    try:
        model.set_stop_tokens([] if exact else list(stops))
    except Exception as e:
        raise BackendError(f"{who}: set_stop_tokens() failed: {e}") from None
    return exact


class HailoDeviceBackend(Backend[OptionsT]):
    """A backend that runs a GenAI model on the Hailo-10H through its own VDevice."""

    runs_on = "npu"
    _vdevice: VDevice | None = None
    _stop_tokens: tuple[str, ...] = ()
    """The model's stop tokens as loaded (get_stop_tokens), put back after throughput."""
    _stops_removed = False

    def _exact_length(self, model: GenAIModel, exact: bool) -> None:
        """Throughput: no stop token (exactly max_tokens); otherwise the model's own."""
        self._stops_removed = switch_stops(model, exact, self._stops_removed, self._stop_tokens,
                                           f"{self.name} backend")

    def _release(self, model: GenAIModel | None) -> None:
        """Release ``model`` and this backend's VDevice (forgotten first: safe twice)."""
        vdevice, self._vdevice = self._vdevice, None
        release(model, vdevice, f"{self.name} backend")
