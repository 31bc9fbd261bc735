"""Tokenizer helpers over llama.cpp's C API, and the prompts the backend builds.

Throughput prompts are real text, not random ids: the workload's filler text (or the
paragraph below when it gives none) is tokenized once by the model's own tokenizer, and the
prompt is that token sequence repeated to exactly ``prompt_tokens`` ids, starting at an offset
that depends on ``request.variant`` (so each repetition gets a different prompt), after a BOS
token when the model adds one. Plain-text tokenization never yields control tokens. For a
dense model the speed does not depend on which ids are fed (llama-bench feeds random ids);
text keeps the prompt comparable with backends that can only take text.

Chat prompts go through the model's own Jinja chat template (``tokenizer.chat_template`` in
the GGUF, or the artifact's override), rendered like Hugging Face transformers does, then
tokenized with special tokens parsed.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import llama_cpp
from bench.backends.base import Message
from bench.errors import BackendError

DEFAULT_FILLER = (
    "The history of measurement is a history of agreement. Merchants in old market towns "
    "kept brass weights chained to the wall of the hall, so that anyone could check a scale "
    "against them. Surveyors carried rods and chains whose lengths were copied from a master "
    "kept by the crown, and clockmakers set their work by the sun at noon until the railways "
    "needed a common time for their tables. Each of these standards made a number mean the "
    "same thing to the buyer and the seller, to the builder and the inspector. A benchmark is "
    "a standard of the same kind: it only helps when two people who run it get numbers they "
    "can compare, and when each number says how it was taken, how often, and how much it "
    "varied from one run to the next. "
)


def tokenize(vocab: Any, text: str, *, parse_special: bool) -> list[int]:
    """Token ids of ``text`` (no BOS added)."""
    data = text.encode("utf-8")
    n_max = len(data) + 16
    for _ in range(2):
        buf = (llama_cpp.llama_token * n_max)()
        n = llama_cpp.llama_tokenize(vocab, data, len(data), buf, n_max, False, parse_special)
        if n >= 0:
            return list(buf[:n])
        n_max = -n
    raise BackendError("llama.cpp could not tokenize the prompt")


def piece(vocab: Any, token: int, *, special: bool = False) -> bytes:
    """The bytes of one token (special tokens rendered when ``special``)."""
    buf = ctypes.create_string_buffer(64)
    n = llama_cpp.llama_token_to_piece(vocab, token, buf, 64, 0, special)
    if n < 0:
        buf = ctypes.create_string_buffer(-n)
        n = llama_cpp.llama_token_to_piece(vocab, token, buf, -n, 0, special)
    return buf.raw[: max(n, 0)]


def detokenize(vocab: Any, ids: Sequence[int]) -> str:
    """Text of ``ids``, special tokens left out."""
    if not ids:
        return ""
    arr = (llama_cpp.llama_token * len(ids))(*ids)
    size = 8 * len(ids) + 64
    for _ in range(2):
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_detokenize(vocab, arr, len(ids), buf, size, False, False)
        if n >= 0:
            return buf.raw[:n].decode("utf-8", "replace")
        size = -n
    raise BackendError("llama.cpp could not detokenize the output")


def eog_ids(vocab: Any) -> list[int]:
    """Every end-of-generation id of the vocabulary (EOS, EOT, <|im_end|>, ...)."""
    is_eog = llama_cpp.llama_vocab_is_eog
    return [i for i in range(llama_cpp.llama_vocab_n_tokens(vocab)) if is_eog(vocab, i)]


def throughput_prompt(
    filler_ids: Sequence[int], n: int, variant: int, bos: int | None
) -> list[int]:
    """Exactly ``n`` ids: BOS (if given) then the filler repeated from a variant's offset."""
    if n <= 0:
        raise BackendError(f"prompt_tokens must be at least 1, got {n}")
    if not filler_ids:
        raise BackendError("the filler text gave no tokens")
    ids: list[int] = [bos] if bos is not None else []
    offset = (variant * 131) % len(filler_ids)
    need = n - len(ids)
    while need > 0:
        chunk = filler_ids[offset : offset + need]
        ids.extend(chunk)
        need -= len(chunk)
        offset = 0
    return ids


def render_chat(
    template: str, messages: Sequence[Message], *, bos_token: str, eos_token: str
) -> str:
    """The prompt text of ``messages`` through a Jinja chat template (generation prompt on)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(
        template=template, eos_token=eos_token, bos_token=bos_token, add_generation_prompt=True
    )
    msgs: list[Any] = [{"role": m.role, "content": m.content} for m in messages]
    try:
        return formatter(messages=msgs).prompt
    except Exception as exc:  # jinja2 errors, raise_exception() in the template
        raise BackendError(f"the chat template failed: {exc}") from exc


def builtin_templates() -> list[str]:
    """Names of the chat templates built into llama.cpp ("chatml", "gemma", "llama3", ...)."""
    n = llama_cpp.llama_chat_builtin_templates(None, 0)
    arr = (ctypes.c_char_p * max(n, 1))()
    n = llama_cpp.llama_chat_builtin_templates(arr, n)
    return sorted(name.decode() for name in arr[:n] if name)


def resolve_template(override: str | None, from_gguf: str | None) -> tuple[str, str] | None:
    """(kind, template): kind "jinja" (a Jinja template text) or "builtin" (a llama.cpp
    template name). The override may be Jinja text, a path to a .jinja file, or a builtin
    name; without one, the GGUF's ``tokenizer.chat_template``; None when neither exists."""
    if override is None:
        return ("jinja", from_gguf) if from_gguf else None
    if "{%" in override or "{{" in override:
        return ("jinja", override)
    path = Path(override).expanduser()
    if path.is_file():
        return ("jinja", path.read_text(encoding="utf-8"))
    names = builtin_templates()
    if override in names:
        return ("builtin", override)
    raise BackendError(
        f"chat_template {override!r} is not Jinja text, not a file and not one of llama.cpp's "
        f"built-in templates ({', '.join(names)})"
    )


def apply_builtin(name: str, messages: Sequence[Message]) -> str:
    """The prompt text of ``messages`` through a llama.cpp built-in template."""
    msgs = (llama_cpp.llama_chat_message * len(messages))()
    keep = [(m.role.encode(), m.content.encode("utf-8")) for m in messages]
    for slot, (role, content) in zip(msgs, keep, strict=True):
        slot.role, slot.content = role, content
    size = 2 * sum(len(c) for _, c in keep) + 1024
    for _ in range(2):
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_chat_apply_template(name.encode(), msgs, len(keep), True, buf, size)
        if n < 0:
            raise BackendError(f"llama.cpp could not apply the chat template {name!r}")
        if n <= size:
            return buf.raw[:n].decode("utf-8", "replace")
        size = n + 1
    raise BackendError(f"llama.cpp could not apply the chat template {name!r}")
