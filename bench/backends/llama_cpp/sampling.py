"""The native sampler chain: llama.cpp picks every token, Python never sees the logits.

Chain: for throughput requests a logit-bias sampler giving -inf to every end-of-generation id
of the vocabulary (so exactly ``max_tokens`` are generated), then greedy at temperature 0,
else top-k / top-p (when set) / temperature / dist(seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import llama_cpp
from bench.backends.base import Sampling


def sampler_chain(
    sampling: Sampling, *, seed: int, n_vocab: int, suppress: Sequence[int] = ()
) -> Any:
    """A new llama.cpp sampler chain; free it with ``llama_sampler_free``."""
    params = llama_cpp.llama_sampler_chain_default_params()
    params.no_perf = True
    chain = llama_cpp.llama_sampler_chain_init(params)
    add = llama_cpp.llama_sampler_chain_add
    if suppress:
        bias = (llama_cpp.llama_logit_bias * len(suppress))()
        for slot, tok in zip(bias, suppress, strict=True):
            slot.token, slot.bias = tok, float("-inf")
        # llama.cpp copies the bias array into the sampler
        add(chain, llama_cpp.llama_sampler_init_logit_bias(n_vocab, len(suppress), bias))
    if sampling.temperature <= 0:
        add(chain, llama_cpp.llama_sampler_init_greedy())
        return chain
    if sampling.top_k:
        add(chain, llama_cpp.llama_sampler_init_top_k(sampling.top_k))
    if sampling.top_p is not None and sampling.top_p < 1.0:
        add(chain, llama_cpp.llama_sampler_init_top_p(sampling.top_p, 1))
    add(chain, llama_cpp.llama_sampler_init_temp(sampling.temperature))
    add(chain, llama_cpp.llama_sampler_init_dist(seed & 0xFFFFFFFF))
    return chain


def pick(chain: Any, logits: Sequence[float]) -> int:
    """Run ``chain`` on a given logit vector (one token per id) and return the chosen id.
    For tests and checks; generation uses ``llama_sampler_sample`` on the context."""
    n = len(logits)
    data = (llama_cpp.llama_token_data * n)()
    for i, value in enumerate(logits):
        data[i] = llama_cpp.llama_token_data(i, float(value), 0.0)
    arr = llama_cpp.llama_token_data_array(data, n, -1, False)
    llama_cpp.llama_sampler_apply(chain, llama_cpp.ctypes.byref(arr))
    return int(data[arr.selected].id)
