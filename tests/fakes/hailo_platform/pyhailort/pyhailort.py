"""Fake of hailo_platform.pyhailort.pyhailort: the names, signatures and behaviour of HailoRT
5.x's Python layer that pibench uses (VDevice, LLM, LLMGeneratorCompletion, the exceptions).

Behaviour follows HailoRT's public sources: exceptions carry the Python layer's fixed messages
(PY ``ExceptionWrapper.create_exception_from_status``; the detail, e.g. "KV-Cache is already in
use by another model!", only goes to hailort.log, here ``STATE.log``). The GenAI stream (the
recovery item, empty items, parameter checks, per-version signatures) is in ``_llm``, with a
source citation per behaviour. Where the real behaviour is not documented the fake says
"assumed".
"""

from __future__ import annotations

from typing import Any

from hailo_platform import _fake
from hailo_platform.pyhailort._pyhailort import SchedulingAlgorithm

HailoSchedulingAlgorithm = SchedulingAlgorithm


class HailoRTException(Exception):
    pass


class HailoRTTimeout(HailoRTException):
    pass


class HailoRTInvalidOperationException(HailoRTException):
    pass


class HailoRTInvalidArgumentException(HailoRTException):
    pass


class HailoRTNotFoundException(HailoRTException):
    pass


class HailoRTInvalidHEFException(HailoRTException):
    pass


class HailoRTHEFNotCompatibleWithDevice(HailoRTException):
    pass


class HailoRTDriverOperationFailedException(HailoRTException):
    pass


class HailoCommunicationClosedException(HailoRTException):
    pass


# The fixed messages of hailo-ai/hailort v5.1.1 hailo_platform/pyhailort/pyhailort.py
# ``ExceptionWrapper.create_exception_from_status`` (~116-152); any other status gives
# "libhailort failed with error: N (NAME)".
_MESSAGES: dict[type[HailoRTException], str] = {
    HailoRTTimeout: "Received a timeout - hailort has failed because a timeout had occurred",
    HailoRTInvalidOperationException: "Invalid operation. See hailort.log for more information",
    HailoRTInvalidArgumentException: "Invalid argument. See hailort.log for more information",
    HailoRTInvalidHEFException: "Invalid HEF. See hailort.log for more information",
    HailoRTHEFNotCompatibleWithDevice:
        "HEF file is not compatible with device. See hailort.log for more information",
    HailoRTDriverOperationFailedException:
        "Failure in hailort driver ioctl. run 'dmesg | grep hailo' for more information",
    HailoCommunicationClosedException:
        "Communication closed failure. Check server-client connection",
}


def _raise(cls: type[HailoRTException], log: str | None = None) -> None:
    if log:
        _fake.STATE.log.append(log)
    raise cls(_MESSAGES[cls])


def _status_error(code: int, name: str, log: str | None = None) -> HailoRTException:
    if log:
        _fake.STATE.log.append(log)
    return HailoRTException(f"libhailort failed with error: {code} ({name})")


class _VDeviceParams:
    # the default group: hailo-ai/hailort v5.1.1 hailort/libhailort/include/hailo/hailort.h
    # ~71 ``HAILO_UNIQUE_VDEVICE_GROUP_ID ("UNIQUE")``
    def __init__(self) -> None:
        self.device_count = 1
        self.scheduling_algorithm = SchedulingAlgorithm.ROUND_ROBIN
        self.group_id = "UNIQUE"
        self.multi_process_service = False


class VDevice:
    def __init__(self, params: _VDeviceParams | None = None, *, device_ids: Any = None) -> None:
        state = _fake.STATE
        params = params or VDevice.create_params()
        state.record("VDevice", group_id=params.group_id,
                     scheduling_algorithm=params.scheduling_algorithm)
        # hailo-ai/hailort v5.1.1 hailort/libhailort/src/vdevice/vdevice.cpp ~548: not enough
        # free devices -> HAILO_OUT_OF_PHYSICAL_DEVICES (74); a device held in another group
        # (or UNIQUE, as hailo-ollama 5.1.1 holds it: generation_context.cpp ~121) is not free
        other = state.other_process_group
        busy = other is not None and (other == "UNIQUE" or other != params.group_id)
        if state.devices < 1 or busy:
            raise _status_error(74, "HAILO_OUT_OF_PHYSICAL_DEVICES",
                                "Failed to create vdevice. there are not enough free devices.")
        self._params = params
        self._released = False
        state.open_vdevices += 1

    @staticmethod
    def create_params() -> _VDeviceParams:
        return _VDeviceParams()

    def create_infer_model(self, hef_source: str, name: str = "") -> Any:
        from hailo_platform import _infer  # the vision fake, written separately

        return _infer.create_infer_model(self, hef_source, name)

    def release(self) -> None:
        if not self._released:
            self._released = True
            _fake.STATE.open_vdevices -= 1
            _fake.STATE.record("VDevice.release")

    def __enter__(self) -> VDevice:
        return self

    def __exit__(self, *args: object) -> bool:
        self.release()
        return False


def __getattr__(name: str) -> Any:
    """LLM, LLMGeneratorCompletion and VLM of the HailoRT version faked (``STATE.version``):
    their signatures differ between 5.0.1, 5.1.x and 5.2.0 (see ``_llm`` and ``_infer``)."""
    if name == "LLM":
        from hailo_platform.pyhailort import _llm

        return _llm.llm_class()
    if name == "LLMGeneratorCompletion":
        from hailo_platform.pyhailort import _llm

        return _llm.LLMGeneratorCompletion
    if name == "VLM":
        from hailo_platform import _infer

        return _infer.vlm_class()
    raise AttributeError(f"module 'hailo_platform.pyhailort.pyhailort' has no attribute {name!r}")
