"""Options of the mock backend (light: no runtime imports)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from bench.backends.base import Capabilities, Options


class FailAt(Options):
    """Make the simulated device fail, to exercise the failure paths."""

    at: Literal["load", "token", "hang"]
    """load: loading fails; token: generation fails at token ``token``;
    hang: no token after ``token`` until the read timeout fires."""
    token: int = Field(default=0, ge=0)
    models: list[str] | None = None
    """Only for these models (default: every model)."""
    rep: int | None = Field(default=None, ge=1)
    """Only in this generation of each case, counting from 1 with the warm-ups (warm-up 1 is
    1; with one warm-up the first measured repetition is 2). Default: every one."""
    message: str = "simulated failure"


class MockOptions(Options):
    profile: str = "pi5-cpu"
    """A shipped profile (pi5-cpu, hailo10h) or a path to a profile YAML."""
    jitter: float | None = Field(default=None, ge=0, le=0.5)
    """Override the profile's relative jitter (0 = exact figures)."""
    seed: int = 0
    read_timeout_s: float = Field(default=10.0, gt=0)
    chat_reply_tokens: int = Field(default=96, gt=0)
    """How long a simulated chat answer is (it stops there or at gen_tokens)."""
    fail: FailAt | None = None

    def preflight(self) -> None:
        """The profile must load (a missing or invalid one: one line, before any run)."""
        from bench.backends.mock.profile import load_profile

        load_profile(self.profile)

    def profile_file(self) -> Path | None:
        """The profile's file (shipped or given), whose content a run's fingerprint covers."""
        from bench.backends.mock.profile import profile_path

        path = profile_path(self.profile)
        return path if path.is_file() else None


class MockArtifact(Options):
    profile_model: str | None = None
    """The profile's model to use (default: the config's model name)."""


CAPABILITIES = Capabilities(
    streams_tokens=True, exact_prompt_tokens=True, exact_gen_tokens=True,
    chat=True, completion=True, vision=False, internal_timings=False, simulated=True,
)
"""What this backend can take and report (read by the plan and the config check without
importing the runtime)."""
