"""All of ``pibench doctor``'s checks, in the order a Pi owner fixes things."""

from __future__ import annotations

from pathlib import Path

from bench.doctor import runtime, system
from bench.doctor.result import Check, skipped

HEF_DIR = Path("~/.cache/pibench/hef")


def diagnose(machine: system.System, hef: Path | None, tokens: int,
             hef_dir: Path = HEF_DIR) -> list[Check]:
    genai, hailort = runtime.hailort()
    version = hailort.data.get("version")
    driver = system.driver(machine, version)
    device = system.device(machine)
    free = system.holders(machine) if device.status == "ok" else skipped(
        "free", "no device to check")
    signatures = (skipped("signatures", "no HailoRT") if genai is None
                  else runtime.signatures(genai))
    if genai is None or "failed" in (hailort.status, signatures.status):
        generation = skipped("generation", "HailoRT is not as pibench needs it (see above)")
    elif device.status != "ok" or free.status != "ok":
        generation = skipped("generation", "the device is missing or held (see above)")
    else:
        chosen = hef if hef is not None else runtime.default_hef(hef_dir.expanduser())
        generation = runtime.generation(genai, chosen, tokens)
    try:
        board = [system.pmic(machine), system.throttle(machine), system.fan(machine)]
    finally:
        machine.close()
    return [hailort, driver, device, free, signatures, generation, *board]
