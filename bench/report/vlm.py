"""The vision-language table: cases whose workload sends images, every device side by side.

Time to first token is the figure that differs most between a VLM on the NPU and on the CPU:
it holds the image's encoding by the vision tower. Where a backend can time that apart
(``llama_cpp_vlm``), the encode and preprocessing medians are shown beside TTFT.
"""

from __future__ import annotations

from typing import Any

from bench.report.rows import NA, flags, fmt, gen_test, median, prompt_test, summary


def vlm_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if (r.get("workload") or {}).get("images")]


def _image_tokens(record: dict[str, Any]) -> str:
    reps = record.get("reps") or []
    counts = {(rep.get("internal") or {}).get("image_tokens") for rep in reps}
    counts.discard(None)
    return str(counts.pop()) if len(counts) == 1 else NA


def vlm_table(records: list[dict[str, Any]], table: Any) -> str:
    """``table(header, rows, align)`` renders it (bench.report.markdown's table writer)."""
    header = ["model", "backend", "device", "test", "images", "image tokens",
              "preprocess ms", "image encode ms", "TTFT s", "prompt tokens", "LLM pp t/s",
              "tg t/s", "n", "labels"]
    rows = []
    for r in sorted(records, key=lambda r: (r["model"]["name"], r["workload"]["name"],
                                             r["backend"]["name"])):
        b = r.get("backend") or {}
        s = summary(r, "ttft_s") or {}
        rows.append([
            r["model"]["name"], b.get("name", NA), str(b.get("device", NA)),
            f"{prompt_test(r)} / {gen_test(r)}", str(len(r["workload"]["images"])),
            _image_tokens(r), fmt(median(r, "image_preprocess_ms"), 1),
            fmt(median(r, "image_encode_ms"), 1), fmt(median(r, "ttft_s"), 3),
            fmt(median(r, "prompt_tokens"), 0), fmt(median(r, "internal_prompt_tps")),
            fmt(median(r, "gen_tps")), str(s.get("n", 0)), flags(r),
        ])
    return table(header, rows, "lllllrrrrrrrrl")


LEGEND = ("vision-language cases: medians over the repetitions. TTFT holds the image's "
          "preprocessing and encoding. prompt tokens: llama_cpp_vlm counts the text and image "
          "tokens the text model decodes; hailo_vlm counts the prompt's text tokens only (HailoRT "
          "does not say how many tokens an image becomes). LLM pp t/s: llama.cpp's perf counters "
          "over the text model's prompt decode (image embeddings included, encoding not).")
