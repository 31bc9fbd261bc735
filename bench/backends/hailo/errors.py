"""HailoRT exceptions turned into one clear line each.

HailoRT's Python layer raises ``HailoRTException`` subclasses with fixed, generic messages
(the detail goes to hailort.log), or a plain ``HailoRTException`` whose message names the
status, e.g. "libhailort failed with error: 74 (HAILO_OUT_OF_PHYSICAL_DEVICES)". So the
classification looks at the class names along the exception's MRO and at status names in the
message; it never imports hailo_platform.
"""

from __future__ import annotations

from pathlib import Path

from bench.errors import (
    BackendError,
    BackendUnavailable,
    GenerationTimeout,
    ModelLoadError,
)

INSTALL_HINT = (
    "on the Raspberry Pi run `sudo apt install dkms hailo-h10-all` and create the venv with "
    "--system-site-packages so it sees the system's hailo_platform (scripts/pi-setup.sh)"
)


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _short(exc: BaseException) -> str:
    msg = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def import_error(exc: BaseException) -> BackendUnavailable:
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith("hailo_platform"):
        return BackendUnavailable(
            f"hailo backend: hailo_platform (HailoRT's Python binding, not on PyPI) is not "
            f"installed: {INSTALL_HINT}"
        )
    return BackendUnavailable(
        f"hailo backend: hailo_platform is installed but does not import ({_short(exc)}); "
        "HailoRT, its driver and its Python binding must be the same 5.x version: "
        "reinstall hailo-h10-all"
    )


def load_error(exc: BaseException, hef: Path, stage: str) -> BackendError:
    """An exception raised while creating the VDevice or the LLM."""
    names, msg = _names(exc), str(exc)
    if "HAILO_OUT_OF_PHYSICAL_DEVICES" in msg or "HAILO_DEVICE_IN_USE" in msg:
        return BackendUnavailable(
            f"hailo backend: no free Hailo device while {stage} ({_short(exc)}): check that the "
            "AI HAT+ 2 shows in `hailortcli scan` and the hailo1x_pci driver is loaded; if "
            "another process (hailo-ollama?) holds the device, stop it or use the same group_id"
        )
    if "HailoRTHEFNotCompatibleWithDevice" in names:
        return ModelLoadError(
            f"hailo backend: {hef.name} was not compiled for this chip (a Hailo-8/8L HEF on the "
            "Hailo-10H?): use the model zoo's Hailo-10H HEF (scripts/fetch-pi-models.sh)"
        )
    if "HailoRTInvalidHEFException" in names:
        return ModelLoadError(
            f"hailo backend: {hef} is not a valid HEF (truncated download?): fetch it again "
            "(scripts/fetch-pi-models.sh)"
        )
    if "KV-Cache" in msg or ("HailoRTInvalidOperationException" in names and stage.startswith(
            "loading")):
        return BackendUnavailable(
            "hailo backend: the NPU's KV cache is already in use by another model (HailoRT: "
            f"{_short(exc)}; see hailort.log): hailo-ollama or another program holds the NPU; "
            "stop it (`sudo systemctl stop hailo-ollama`) or unload its model (keep_alive 0, "
            "e.g. an ollama backend with unload_after: true before the hailo cases)"
        )
    if "HAILO_OPEN_FILE_FAILURE" in msg:
        return ModelLoadError(f"hailo backend: HailoRT cannot open {hef} ({_short(exc)})")
    if names & {"HailoRTDriverOperationFailedException", "HailoCommunicationClosedException"}:
        return BackendUnavailable(
            f"hailo backend: the Hailo driver failed while {stage} ({_short(exc)}): "
            "run `dmesg | grep hailo`; reboot if the card does not show in `hailortcli scan`"
        )
    return BackendError(f"hailo backend: HailoRT failed while {stage}: {_short(exc)}")


def read_error(exc: BaseException, item: int, timeout_s: float) -> BackendError:
    """An exception raised by ``LLMGeneratorCompletion.read`` (item counted from 0)."""
    names = _names(exc)
    if "HailoRTTimeout" in names:
        what = "the first token" if item == 0 else f"token {item + 1}"
        option = "first_read_timeout_s" if item == 0 else "read_timeout_s"
        return GenerationTimeout(
            f"hailo backend: no answer from the Hailo-10H for {what} within {timeout_s:g} s "
            f"(raise the option {option} if the prompt is long or the model is slow)"
        )
    return BackendError(
        f"hailo backend: the Hailo-10H stopped answering during generation ({_short(exc)}): "
        "the card may have reset or disappeared; check `dmesg | grep hailo` and "
        "`hailortcli scan`"
    )


def signature_error(exc: BaseException, cls: str) -> BackendUnavailable:
    """A TypeError from LLM()/VLM(): the HailoRT 5.0.x signatures (no optimize_memory_on_device)."""
    return BackendUnavailable(
        f"hailo backend: {cls}() does not take the arguments of HailoRT >= 5.1.0 ({_short(exc)}): "
        "an older HailoRT (5.0.x) is installed; `sudo apt update && sudo apt install "
        "hailo-h10-all`"
    )
