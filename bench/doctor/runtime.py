"""HailoRT's side of ``pibench doctor``: the binding, its version, the LLM/VLM signatures, and
one short real generation that must show the stream invariants the hailo backend counts on
(bench.backends.hailo.stream): with ``set_stop_tokens([])`` exactly N token items, then the
recovery items with MAX_TOKENS_REACHED, no end token left in the counted text, ``tokenize()``
of that text close to N, and ``read()`` after the end raising."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

from bench.backends.hailo import errors
from bench.backends.hailo.stream import StreamResult, read_stream
from bench.backends.hailo.version import MIN_VERSION, hailort_version, parse
from bench.clock import RealClock
from bench.doctor.result import Check, failed, ok, skipped

REINSTALL = "sudo apt update && sudo apt install dkms hailo-h10-all (then reboot)"
PROMPT = "Count from one to one hundred, in words, separated by commas: one, two,"
CHAT = [{"role": "user", "content": "Answer with one word: is water wet?"}]
CHAT_TOKENS = 64

SIGNATURES: dict[str, tuple[str, ...]] = {
    "LLM.__init__": ("vdevice", "model_path", "lora_name", "optimize_memory_on_device"),
    "VLM.__init__": ("vdevice", "model_path", "optimize_memory_on_device"),
    "LLM.generate": ("prompt", "temperature", "top_p", "top_k", "max_generated_tokens",
                     "do_sample", "seed"),
    "VLM.generate": ("prompt", "frames", "temperature", "top_p", "top_k",
                     "max_generated_tokens", "do_sample", "seed"),
}
"""What pibench passes (all by keyword except the first ones), as in HailoRT >= 5.1.0
(hailo_platform/pyhailort/pyhailort.py ``LLM``/``VLM``)."""
METHODS = ("tokenize", "get_stop_tokens", "set_stop_tokens", "set_generation_recovery_sequence",
           "clear_context", "release")


def hailort() -> tuple[Any, Check]:
    """(hailo_platform.genai or None, the check)."""
    try:
        genai = importlib.import_module("hailo_platform.genai")
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("hailo_platform"):
            raise
        return None, failed("hailort", "hailo_platform (HailoRT's Python binding) is not "
                            "installed, or not visible from this venv",
                            "sudo apt install dkms hailo-h10-all; make the venv with "
                            "--system-site-packages (scripts/pi-setup.sh)")
    except Exception as e:
        err = errors.import_error(e)
        return None, failed("hailort", str(err).removeprefix("hailo backend: "), REINSTALL)
    version = hailort_version()
    parsed = parse(version)
    if parsed is not None and parsed < MIN_VERSION:
        return genai, failed("hailort", f"HailoRT {version}: pibench needs >= 5.1.0",
                             REINSTALL, version=version)
    return genai, ok("hailort", f"HailoRT {version or '(version unknown)'}", version=version)


def signatures(genai: Any) -> Check:
    wrong: list[str] = []
    for where, wanted in SIGNATURES.items():
        cls_name, method = where.split(".")
        cls = getattr(genai, cls_name, None)
        fn = getattr(cls, method, None)
        if fn is None:
            wrong.append(f"{where} missing")
            continue
        params = inspect.signature(fn).parameters
        missing = [p for p in wanted if p not in params]
        if missing:
            wrong.append(f"{where} lacks {', '.join(missing)}")
    llm = getattr(genai, "LLM", None)
    wrong += [f"LLM.{m} missing" for m in METHODS if not hasattr(llm, m)]
    if wrong:
        return failed("signatures", "; ".join(wrong) + " (HailoRT 5.0.x?)", REINSTALL,
                      problems=wrong)
    return ok("signatures", "LLM/VLM take what pibench passes (HailoRT >= 5.1.0 API)")


def default_hef(folder: Path) -> Path | None:
    """The first LLM HEF of the zoo tables found in ``folder``."""
    from bench.models import hailo_zoo

    for version in reversed(hailo_zoo.versions()):
        for h in hailo_zoo.table(version):
            if h.kind == "llm" and (folder / h.file).is_file():
                return folder / h.file
    return None


def generation(genai: Any, hef: Path | None, n: int, group_id: str = "SHARED",
               timeout_s: float = 60.0) -> Check:
    if hef is None:
        return skipped("generation", "no HEF to try (none given, none in ~/.cache/pibench/hef)",
                       "pibench doctor --hef PATH (scripts/fetch-pi-models.sh downloads them)")
    if not hef.is_file():
        return failed("generation", f"HEF not found: {hef}", "give an existing HEF with --hef")
    vdevice = llm = None
    try:
        params = genai.VDevice.create_params()
        params.group_id = group_id
        vdevice = genai.VDevice(params)
        llm = genai.LLM(vdevice, str(hef), lora_name="", optimize_memory_on_device=False)
    except Exception as e:
        for obj in (llm, vdevice):
            if obj is not None:
                obj.release()
        err = errors.load_error(e, hef, f"loading {hef.name}")
        return failed("generation", str(err).removeprefix("hailo backend: "), None)
    try:
        return _invariants(llm, hef, n, timeout_s)
    except Exception as e:
        return failed("generation", f"{type(e).__name__}: {e}", None)
    finally:
        llm.release()
        vdevice.release()


def _invariants(llm: Any, hef: Path, n: int, timeout_s: float) -> Check:
    stops = list(llm.get_stop_tokens())
    getter = getattr(llm, "get_generation_recovery_sequence", None)
    recovery = str(getter()) if getter is not None else None
    llm.set_stop_tokens([])
    clock = RealClock()
    items: list[dict[str, Any]] = []
    completion = llm.generate(PROMPT, max_generated_tokens=n, do_sample=False, seed=0)

    def read(index: int) -> str:
        item = str(completion.read(timeout_ms=int(timeout_s * 1000)))
        status = completion.generation_status
        items.append({"text": item, "status": str(getattr(status, "name", status)),
                      "t_s": round(clock.now() - t0, 4)})
        return item

    t0 = clock.now()
    with completion:
        gen = read_stream(completion, n, clock.now, read, StreamResult())
        result = _drain(gen)
        try:
            completion.read(timeout_ms=1000)
            read_after_end = "returned an item"
        except Exception as e:
            read_after_end = f"raised {type(e).__name__}"
    llm.set_stop_tokens(stops)
    counted = len(llm.tokenize(result.text)) if result.text else 0
    chat = _chat_end(llm, clock, timeout_s)
    data = {"hef": str(hef), "max_generated_tokens": n, "stop_tokens": stops,
            "recovery_sequence": recovery, "items": items, "final_status": result.status,
            "tokens_counted": result.tokens, "recovery_items": result.recovery_items,
            "tokenize_of_text": counted, "read_after_end": read_after_end, "chat": chat}
    problems = []
    if result.status != "MAX_TOKENS_REACHED":
        problems.append(f"with set_stop_tokens([]) the stream ended with {result.status} after "
                        f"{len(items)} items, not MAX_TOKENS_REACHED: the end of generation "
                        "was not removed")
    elif result.tokens != n:
        problems.append(f"{result.tokens} token items for max_generated_tokens {n}")
    if recovery and "".join(result.recovery_items) != recovery:
        problems.append(f"the items after the {n}th are {result.recovery_items!r}, not the "
                        f"recovery sequence {recovery!r}")
    if recovery and not result.recovery_items and result.text.endswith(recovery):
        # the runtime put its end token on a counted item instead of sending it apart
        problems.append(f"the end token {recovery!r} is left in the counted text")
    if abs(counted - result.tokens) > max(1, result.tokens // 10):
        problems.append(f"tokenize() of the text gives {counted} tokens for {result.tokens} "
                        "items: items are not one token each")
    if not read_after_end.startswith("raised"):
        problems.append("read() after the end returned an item instead of raising")
    if chat["final_status"] != "LOGICAL_END_OF_GENERATION":
        problems.append(f"with the stop tokens put back, a one-word chat answer did not end "
                        f"within {CHAT_TOKENS} tokens ({chat['final_status']}, "
                        f"{chat['text']!r}): the restored stop tokens may not work")
    if problems:
        return failed("generation", "; ".join(problems),
                      "pibench's NPU counts would be wrong on this HailoRT: report it with the "
                      "bundle (pibench doctor --out FILE)", **data)
    return ok("generation", f"{hef.name}: {n} token items + {len(result.recovery_items)} "
              f"recovery, {result.status}, tokenize() {counted}, read() after the end "
              f"{read_after_end}; chat ends at its stop token", **data)


def _chat_end(llm: Any, clock: RealClock, timeout_s: float) -> dict[str, Any]:
    """A short chat with the model's stop tokens back: it must end with its stop token."""
    llm.clear_context()
    completion = llm.generate(CHAT, max_generated_tokens=CHAT_TOKENS, do_sample=False, seed=0)
    with completion:
        result = _drain(read_stream(
            completion, CHAT_TOKENS, clock.now,
            lambda index: str(completion.read(timeout_ms=int(timeout_s * 1000))),
            StreamResult()))
    llm.clear_context()
    return {"final_status": result.status, "tokens_counted": result.tokens,
            "end_item": result.end_item, "text": result.text}


def _drain(gen: Any) -> StreamResult:
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            result: StreamResult = stop.value
            return result
