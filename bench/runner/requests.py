"""Turn a workload into the GenerationRequest of one call (warm-up or repetition)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from bench.backends.base import GenerationRequest, Message, Sampling
from bench.common import assert_never
from bench.config.schema import WorkloadConfig


@lru_cache(maxsize=32)
def _prompt_set(spec: str, base_dir: str) -> tuple[str, ...]:
    from bench.workloads.prompts import load_prompt_set

    return tuple(load_prompt_set(spec, Path(base_dir)))


def forget_prompt_files() -> None:
    """Drop the prompt sets read so far (a new run reads its files again)."""
    _prompt_set.cache_clear()


def prompts_of(w: WorkloadConfig, base_dir: Path) -> tuple[str, ...]:
    if isinstance(w.prompts, list):
        return tuple(w.prompts)
    assert w.prompts is not None
    return _prompt_set(w.prompts, str(base_dir))


def images_of(w: WorkloadConfig, base_dir: Path) -> tuple[str, ...]:
    """The workload's image files (generated ones made on first use)."""
    if not w.images:
        return ()
    from bench.workloads.images import resolve_image

    return tuple(resolve_image(spec, base_dir) for spec in w.images)


def make_request(w: WorkloadConfig, call: int, index: int, base_dir: Path) -> GenerationRequest:
    """``call`` counts every generation of the case (warm-ups first) and varies the prompt,
    so servers that cache a prompt prefix get a fresh one; ``index`` is the repetition (or
    warm-up) number: chat repetition k uses prompt k modulo the size of the prompt set."""
    s = w.sampling
    sampling = Sampling(temperature=s.temperature, seed=s.seed, top_k=s.top_k, top_p=s.top_p)
    match w.kind:
        case "throughput":
            return GenerationRequest(kind="throughput", max_tokens=w.gen_tokens,
                                     prompt_tokens=w.prompt_tokens, sampling=sampling,
                                     variant=call, images=images_of(w, base_dir),
                                     depth=w.depth)
        case "completion":
            prompts = prompts_of(w, base_dir)
            return GenerationRequest(kind="completion", max_tokens=w.gen_tokens,
                                     messages=(Message("user", prompts[index % len(prompts)]),),
                                     sampling=sampling, variant=call)
        case "chat":
            prompts = prompts_of(w, base_dir)
            messages: list[Message] = []
            if w.system:
                messages.append(Message("system", w.system))
            messages.append(Message("user", prompts[index % len(prompts)]))
            return GenerationRequest(kind="chat", max_tokens=w.gen_tokens,
                                     messages=tuple(messages), sampling=sampling, variant=call,
                                     images=images_of(w, base_dir))
        case _:
            assert_never(w.kind)
