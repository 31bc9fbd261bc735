"""Mixed-mode demo runs, printing the placement table (a benchmark script, not a test).

    python -m bench.vision.demo cpu  [--gguf PATH] [--threads N] [--alone S] [--json OUT]
    python -m bench.vision.demo mock [--alone S] [--json OUT]

``cpu``: OpenCV's HOG detector on generated 640x480 frames and llama.cpp on a GGUF, both on
this machine's CPU: real figures. ``mock``: the four placements of the review on simulated
devices (mock detector profiles, mock LLM backend): every figure simulated.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.backends.base import Backend, GenerationRequest, ModelRef
from bench.clock import RealClock
from bench.vision.config import (
    GeneratedSource,
    HogDetectorOptions,
    MockDetectorOptions,
    VisionOptions,
)
from bench.vision.llm_side import llm_case_from_backend
from bench.vision.mixed import run_mixed
from bench.vision.report import render_mixed_table

DEFAULT_GGUF = "~/.cache/pibench/models/synth/qwen2.5-0.5b-instruct-q4_k_m.gguf"


def _llama(gguf: str, threads: int, clock: RealClock) -> Backend:
    from bench.backends.llama_cpp.backend import LlamaCppBackend
    from bench.backends.llama_cpp.config import LlamaCppArtifact, LlamaCppOptions

    backend = LlamaCppBackend(LlamaCppOptions(threads=threads), clock=clock)
    backend.load(ModelRef(Path(gguf).name, None, None, LlamaCppArtifact(gguf=gguf)))
    return backend


def _mock(profile: str, clock: RealClock) -> Backend:
    from bench.backends.mock.backend import MockBackend
    from bench.backends.mock.config import MockArtifact, MockOptions

    backend = MockBackend(MockOptions(profile=profile, jitter=0.0), clock=clock)
    backend.load(ModelRef("Qwen2-1.5B-Instruct", "qwen2", 1.54, MockArtifact()))
    return backend


def run_cpu(args: argparse.Namespace) -> list[dict[str, Any]]:
    clock = RealClock()
    vision = VisionOptions(source=GeneratedSource(width=640, height=480, fps=args.fps),
                           detector=HogDetectorOptions(type="hog"))
    request = GenerationRequest("throughput", 64, prompt_tokens=64)
    with _llama(str(Path(args.gguf).expanduser()), args.threads, clock) as backend:
        case = llm_case_from_backend(backend, request, repetitions=args.reps, clock=clock)
        case()  # warm-up, not recorded
        return [run_mixed(vision, case, clock=clock, placement="vision-cpu+llm-cpu",
                          llm_device="cpu", vision_alone_s=args.alone, settle_s=1.0)]


def run_mock(args: argparse.Namespace) -> list[dict[str, Any]]:
    clock = RealClock()
    source = GeneratedSource(width=640, height=480, fps=30)
    request = GenerationRequest("throughput", 32, prompt_tokens=64)
    out = []
    for vision_dev in ("npu", "cpu"):
        for llm_dev in ("npu", "cpu"):
            det = MockDetectorOptions(type="mock", profile=f"yolov8s-{vision_dev}")
            vision = VisionOptions(source=source, detector=det)
            profile = "hailo10h" if llm_dev == "npu" else "pi5-cpu"
            with _mock(profile, clock) as backend:
                case = llm_case_from_backend(backend, request, repetitions=args.reps,
                                             clock=clock)
                out.append(run_mixed(vision, case, clock=clock,
                                     placement=f"vision-{vision_dev}+llm-{llm_dev}",
                                     llm_device=llm_dev, vision_alone_s=args.alone,
                                     settle_s=0.5))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.vision.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["cpu", "mock"])
    parser.add_argument("--gguf", default=DEFAULT_GGUF)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--alone", type=float, default=10.0, help="vision-alone seconds")
    parser.add_argument("--reps", type=int, default=3, help="LLM repetitions per phase")
    parser.add_argument("--json", help="write the full results here")
    args = parser.parse_args(argv)
    results = run_cpu(args) if args.mode == "cpu" else run_mock(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    sys.stdout.write(render_mixed_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
