"""``pi5-pmic``: the Raspberry Pi 5 PMIC's rail readings through ``vcgencmd pmic_read_adc``.

Board power = sum over the 12 rails that have both a current and a voltage of V x I. It is
the SoC board's rails only: NOT the 5 V domain (USB, HATs, so NOT the AI HAT+ 2's NPU, NVMe)
and not the regulators' losses. It is always the primary figure. With ``estimate_input``
the result also carries ``estimated_input``: the same figures from a stated linear fit
(``slope x pmic_w + intercept``), with the fit and its source.

The default fit: jfikar/RPi5-power (https://github.com/jfikar/RPi5-power), README revision
of 2024-04-22: one Pi 5, a USB-C power meter between supply and board, various loads:
input_W ~= 1.1451 x pmic_W + 0.5879. Power at the USB-C input (supply losses excluded), one
board, no HAT.

Transport (bench.meters.gencmd): by default the firmware is asked through the mailbox
(/dev/vcio_gencmd, else /dev/vcio) from this process, one ioctl per reading, as vcgencmd
itself does; where no device opens or the start-up reading fails there, or
``transport: vcgencmd`` or a custom ``command`` is set, the command is run as a process per
reading. scripts/bench_sampler_cost.py measures both costs.

Rate: when ``rate_hz`` is not configured, the rate of the transport in use
(``DEFAULT_RATE_HZ``): the highest rate whose cost stayed under 1 % of tokens/s with every core
generating (scripts/bench_sampler_cost.py; the figures are in docs/results.md). The record's
power entry gives ``rate_hz_target`` and ``meta.rate_basis`` (configured, or which default).
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import Field, model_validator

from bench.backends.base import Options
from bench.clock import Clock
from bench.errors import MeterUnavailable, SensorGone
from bench.meters.base import MeterOptions, PowerMeter
from bench.meters.gencmd import Gencmd, MailboxIO, MailboxUnavailable, Transport, open_gencmd
from bench.meters.sources import CommandFailed, RunCommand

ASK = "pmic_read_adc"

RAILS = (
    "3V7_WL_SW", "3V3_SYS", "1V8_SYS", "DDR_VDD2", "DDR_VDDQ", "1V1_SYS",
    "0V8_SW", "VDD_CORE", "3V3_DAC", "3V3_ADC", "0V8_AON", "HDMI",
)  # fmt: skip
"""The rails with both a current and a voltage reading (EXT5V_V and BATT_V are volts only)."""

DEFAULT_RATE_HZ: dict[str, float] = {"mailbox": 10.0, "vcgencmd": 5.0}
"""Samples per second when ``rate_hz`` is not set, by transport ("mailbox": one ioctl from this
process; "vcgencmd": a process per reading). See docs/results.md for the measured costs."""

_LINE = re.compile(
    r"^\s*(?P<rail>\S+?)_(?P<kind>[AV])\s+(?:current|volt)\(\d+\)=(?P<value>[-+0-9.eE]+)[AV]\s*$",
    re.MULTILINE,
)


PUBLISHED_FIT = {"slope": 1.1451, "intercept": 0.5879, "author": "jfikar",
                 "url": "https://github.com/jfikar/RPi5-power", "date": "2024-04-22",
                 "limits": "USB-C input, one board, no HAT"}
SOURCE_KEYS = ("author", "url", "date", "limits")


class LinearFit(Options):
    """input_W = slope x pmic_W + intercept. Defaults: the published fit and its source; a
    config's own slope/intercept without a source is recorded as such, never as jfikar's."""

    slope: float = 1.1451
    intercept: float = 0.5879
    author: str | None = "jfikar"
    url: str | None = "https://github.com/jfikar/RPi5-power"
    date: str | None = "2024-04-22"
    limits: str | None = "USB-C input, one board, no HAT"
    """What the fit covers; recorded with every figure made from it."""

    @model_validator(mode="before")
    @classmethod
    def _own_fit_has_no_borrowed_source(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        own = any(k in data and data[k] != PUBLISHED_FIT[k] for k in ("slope", "intercept"))
        if not own:
            return data
        unstated: dict[str, str | None] = {k: None for k in SOURCE_KEYS if k not in data}
        if len(unstated) == len(SOURCE_KEYS):
            unstated["limits"] = "a fit given in the config; its source was not stated"
        return {**data, **unstated}


class PmicOptions(MeterOptions):
    type: str = "pi5-pmic"
    command: str = "vcgencmd pmic_read_adc"
    """The command to run, split like a shell would (a path to vcgencmd may be given)."""
    transport: Transport = "auto"
    """auto: the mailbox device when it opens and ``command`` is the stock vcgencmd, else
    the command as a process; mailbox / vcgencmd: only that one."""
    device: str | None = None
    """The mailbox device; null: /dev/vcio_gencmd, then /dev/vcio, as vcgencmd tries them."""
    timeout_s: float = Field(default=2.0, gt=0)
    estimate_input: LinearFit | None = None
    """null: report the raw rail sum; {slope, intercept}: estimated 5 V input power."""


def parse_pmic(text: str) -> dict[str, tuple[float, float]]:
    """``{rail: (volts, amps)}`` for every rail with both readings in pmic_read_adc output."""
    amps: dict[str, float] = {}
    volts: dict[str, float] = {}
    for m in _LINE.finditer(text):
        (amps if m["kind"] == "A" else volts)[m["rail"]] = float(m["value"])
    return {r: (volts[r], amps[r]) for r in amps if r in volts}


def rail_sum_watts(rails: dict[str, tuple[float, float]]) -> float:
    return sum(v * a for v, a in rails.values())


def ext5v_volts(text: str) -> float | None:
    m = re.search(r"EXT5V_V\s+volt\(\d+\)=([-+0-9.eE]+)V", text)
    return float(m.group(1)) if m else None


class PmicMeter(PowerMeter):
    kind: ClassVar[str] = "pmic"

    def __init__(
        self, options: PmicOptions, *, clock: Clock | None = None, run: RunCommand | None = None,
        io: MailboxIO | None = None,
    ) -> None:
        super().__init__(options, clock=clock)
        self.opts = options
        self._argv = shlex.split(options.command)
        stock_ask = len(self._argv) > 1 and self._argv[-1] == ASK
        self._program = self._argv[:-1] if stock_ask else self._argv
        self._ask = ASK if stock_ask else ""
        self._run, self._io = run, io
        self._gencmd: Gencmd | None = None
        self._rails: list[str] = []

    def _open(self) -> Gencmd:
        if self._gencmd is None:
            transport = self.opts.transport
            if transport == "mailbox" and not self._ask:
                raise MeterUnavailable(
                    f"pi5-pmic: transport mailbox sends `{ASK}` itself: set `command:` back to"
                    f" `vcgencmd {ASK}` or use transport vcgencmd for `{self.opts.command}`"
                )
            self._gencmd = open_gencmd(
                transport if self._ask else "vcgencmd", self._program, device=self.opts.device,
                run=self._run, io=self._io, timeout_s=self.opts.timeout_s, check=ASK,
            )
        return self._gencmd

    def close(self) -> None:
        if self._gencmd is not None:
            self._gencmd.close()
            self._gencmd = None

    def _transport_kind(self) -> str:
        """"mailbox" or "vcgencmd"; before the first reading (transport not yet known) the
        process, whose default rate is the lower one."""
        t = self._gencmd.transport if self._gencmd is not None else "vcgencmd"
        return "mailbox" if t.startswith("mailbox") else "vcgencmd"

    @property
    def rate_hz(self) -> float:
        if "rate_hz" in self.opts.model_fields_set:
            return self.opts.rate_hz
        return DEFAULT_RATE_HZ[self._transport_kind()]

    def rate_basis(self) -> str:
        if "rate_hz" in self.opts.model_fields_set:
            return "configured (rate_hz)"
        kind = self._transport_kind()
        return (f"default for the {kind} transport: under 1 % of tokens/s with every core"
                " busy (scripts/bench_sampler_cost.py)")

    @property
    def covers(self) -> str:
        return "Pi 5 SoC board rails (PMIC): NOT the 5 V domain, so NOT the AI HAT+ 2 NPU or USB"

    def describe(self) -> dict[str, Any]:
        fit = self.opts.estimate_input
        return {
            "basis": "raw PMIC rail sum",
            "estimated_input": None if fit is None else (
                "estimated USB-C input power from a one-board linear fit: in"
                " `estimated_input`, beside the raw figures"),
            "fit": None if fit is None else fit.model_dump(),
            "rails": list(self._rails),
            "command": self.opts.command,
            "transport": None if self._gencmd is None else self._gencmd.transport,
            "rate_basis": self.rate_basis(),
            "includes_npu": False,
        }

    def _read_rails(self) -> dict[str, tuple[float, float]]:
        return parse_pmic(self._open()(self._ask))

    def check(self) -> None:
        cmd = self.opts.command
        if self.opts.transport == "mailbox":
            cmd = f"{ASK} through {self.opts.device or 'the mailbox'}"
        try:
            rails = self._read_rails()
        except MailboxUnavailable as exc:
            raise MeterUnavailable(f"pi5-pmic: {exc}") from None
        except FileNotFoundError:
            raise MeterUnavailable(
                f"pi5-pmic: `{self._argv[0]}` not found: this is not a Raspberry Pi 5 with"
                " vcgencmd (package raspi-utils); set `command:` or remove the meter"
            ) from None
        except PermissionError:
            raise MeterUnavailable(
                f"pi5-pmic: no permission to run `{cmd}`: check the program's path and mode"
            ) from None
        except (CommandFailed, subprocess.TimeoutExpired, OSError) as exc:
            raise MeterUnavailable(f"pi5-pmic: `{cmd}` failed: {exc}") from None
        if not rails:
            raise MeterUnavailable(
                f"pi5-pmic: `{cmd}` printed no rail readings: needs a Raspberry Pi 5"
                " (firmware with pmic_read_adc)"
            )
        self._rails = sorted(rails)

    def read_watts(self) -> float:
        try:
            rails = self._read_rails()
        except (OSError, CommandFailed, subprocess.TimeoutExpired) as exc:
            raise SensorGone(f"pi5-pmic: {exc}") from None
        if not rails:
            raise SensorGone("pi5-pmic: no rail readings in pmic_read_adc output")
        if self._rails and len(rails) != len(self._rails):
            missing = sorted(set(self._rails) - set(rails))
            raise SensorGone(f"pi5-pmic: rails missing from a reading: {', '.join(missing)}")
        return rail_sum_watts(rails)  # the primary figure, always the raw sum

    def estimate(self) -> tuple[Callable[[float], float], dict[str, Any]] | None:
        fit = self.opts.estimate_input
        if fit is None:
            return None
        return (lambda w: fit.slope * w + fit.intercept), fit.model_dump()


def check_pmic(options: PmicOptions | None = None, *, run: RunCommand | None = None,
               io: MailboxIO | None = None) -> tuple[bool, str]:
    """For ``pibench doctor``: (readable, one line): "12 rails through <transport>", or the
    meter's own reason why not (``run`` / ``io``: the transport's test seams)."""
    meter = PmicMeter(options or PmicOptions(), run=run, io=io)
    try:
        meter.check()
        d = meter.describe()
    except MeterUnavailable as exc:
        return False, str(exc)
    finally:
        meter.close()
    return True, f"{len(d['rails'])} rails through {d['transport']}"
