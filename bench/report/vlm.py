"""The vision-language table: cases whose workload sends images, every device side by side.

Time to first token is the figure that differs most between a VLM on the NPU and on the CPU:
it holds the image's encoding by the vision tower. Where a backend can time that apart
(``llama_cpp_vlm``), the encode and preprocessing medians are shown beside TTFT.
"""

from __future__ import annotations

from typing import Any

from bench.report.columns import Column, markdown
from bench.report.rows import NA, flags, fmt, gen_test, median, prompt_test, summary


def vlm_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if (r.get("workload") or {}).get("images")]


def _image_tokens(record: dict[str, Any]) -> str:
    reps = record.get("reps") or []
    counts = {(rep.get("internal") or {}).get("image_tokens") for rep in reps}
    counts.discard(None)
    return str(counts.pop()) if len(counts) == 1 else NA


def _median(header: str, metric: str, digits: int = 2) -> Column[dict[str, Any]]:
    """The metric's median over the repetitions, ``digits`` after the point."""
    return Column(header, lambda r: median(r, metric), "r", lambda x: fmt(x, digits))


VLM: list[Column[dict[str, Any]]] = [
    Column("model", lambda r: r["model"]["name"]),
    Column("backend", lambda r: (r.get("backend") or {}).get("name", NA)),
    Column("device", lambda r: (r.get("backend") or {}).get("device")),
    Column("test", lambda r: f"{prompt_test(r)} / {gen_test(r)}"),
    Column("images", lambda r: len(r["workload"]["images"])),
    Column("image tokens", _image_tokens, "r"),
    _median("preprocess ms", "image_preprocess_ms", 1),
    _median("image encode ms", "image_encode_ms", 1),
    _median("TTFT s", "ttft_s", 3),
    _median("prompt tokens", "prompt_tokens", 0),
    _median("LLM pp t/s", "internal_prompt_tps"),
    _median("tg t/s", "gen_tps"),
    Column("n", lambda r: (summary(r, "ttft_s") or {}).get("n", 0), "r"),
    Column("labels", flags),
]
"""Vision-language cases, every device side by side (medians over the repetitions)."""


def vlm_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The vision-language cases of ``records``, by model, workload and backend."""
    return sorted(vlm_records(records), key=lambda r: (r["model"]["name"],
                                                       r["workload"]["name"],
                                                       r["backend"]["name"]))


def vlm_table(records: list[dict[str, Any]]) -> str:
    return markdown(VLM, vlm_rows(records))


LEGEND = ("vision-language cases: medians over the repetitions. TTFT holds the image's "
          "preprocessing and encoding. prompt tokens: llama_cpp_vlm counts the text and image "
          "tokens the text model decodes; hailo_vlm counts the prompt's text tokens only (HailoRT "
          "does not say how many tokens an image becomes). LLM pp t/s: llama.cpp's perf counters "
          "over the text model's prompt decode (image embeddings included, encoding not).")
