"""Options of the ``echo`` test backend (light: no runtime imports).

A backend added in tests only, to show that adding a backend is its folder plus one registry
line: ``BACKENDS.register("echo", BackendEntry(...))`` in tests/test_registry.py.
"""

from __future__ import annotations

from pydantic import Field

from bench.backends.base import Capabilities, Options


class EchoOptions(Options):
    tokens_per_s: float = Field(default=50.0, gt=0)
    """Simulated generation speed on the clock the run hands over."""


class EchoArtifact(Options):
    """Needs nothing per model."""


CAPABILITIES = Capabilities(
    streams_tokens=True, exact_prompt_tokens=True, exact_gen_tokens=True,
    chat=True, completion=False, simulated=True,
)
