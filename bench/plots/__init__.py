"""Plots of run folders (``pibench plot``): speeds, TTFT, power, a per-token timeline and
mixed mode, as PNG or SVG.

``bench.plots.data`` turns records into the plotted figures (no matplotlib), through the
same helpers as the tables (``bench.report.rows``), so a plot shows the figures of the
tables. Only the drawing modules (``bars``, ``timeline``, ``mixed``, ``write``) import
matplotlib, with the Agg backend; importing ``bench`` or ``bench.plots`` never does.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from bench.errors import UserError

MISSING = "pibench plot needs matplotlib: pip install 'pibench[plots]'"


class PlotsUnavailable(UserError):
    """matplotlib is not installed (the ``plots`` extra)."""


def require_matplotlib() -> ModuleType:
    """matplotlib with the Agg backend (files only, no display); PlotsUnavailable if absent."""
    try:
        mpl = importlib.import_module("matplotlib")
    except ImportError:
        raise PlotsUnavailable(MISSING) from None
    mpl.use("Agg")
    return mpl
