"""Errors that reach the user as one clear line.

``UserError`` (exit 2) is a mistake the user can fix: a bad config, a missing file, a meter
that is not there. ``BackendError`` is a failure of one case (exit 1 at the end of the run);
the run records it and goes on with the next case.
"""

from __future__ import annotations


class PibenchError(Exception):
    """Base class: the message is one line meant for a person."""

    exit_code = 1


class UserError(PibenchError):
    """A mistake in the user's input: config, paths, command line. Exit code 2."""

    exit_code = 2


class ConfigError(UserError):
    """A config file that does not validate; the message names file, line and field."""


class BackendError(PibenchError):
    """A backend failed (load, generate). Recorded as the case's error; the run goes on."""


class ModelLoadError(BackendError):
    """The model could not be loaded (missing file, wrong format, wrong chip...)."""


class BackendUnavailable(BackendError):
    """The backend's library or device is not present on this machine."""


class GenerationTimeout(BackendError):
    """No token arrived within the backend's timeout."""


class MeterUnavailable(UserError):
    """A configured meter cannot be read here (no tool, no permission, unreachable)."""


class SensorGone(Exception):
    """A meter that worked stopped answering mid-run: recorded as a gap, the run goes on."""
