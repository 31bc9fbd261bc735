"""A Raspberry Pi 5 shaped file tree and firmware answers, for the board and health readers.

Shapes follow: raspberrypi/linux arch/arm64/boot/dts/broadcom/bcm2712-rpi-5-b.dts (blob
09186d79: ``compatible = "raspberrypi,5-model-b", "brcm,bcm2712"``; the ``cooling_fan``
pwm-fan node with ``rpm-regmap``), drivers/hwmon/pwm-fan.c (blob 1285ea71: hwmon name
``pwmfan``, ``pwm1`` 0-255, ``fan1_input`` read from the RP1 register), the Pi kernel's
/proc/cpuinfo (``Hardware : BCM2835`` hard-coded, ``Revision``, ``Model``) and the answers
in ../shared/reference/telemetry.md.
"""

from __future__ import annotations

from pathlib import Path

from tests.fakes.vcio import FakeFirmware

CPUINFO = """processor\t: 0
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x4
CPU part\t: 0xd0b
CPU revision\t: 1

Hardware\t: BCM2835
Revision\t: d04170
Serial\t\t: 0000000000000000
Model\t\t: Raspberry Pi 5 Model B Rev 1.0
"""


def pi5_tree(root: Path, *, requested_khz: int = 2400000, temp_mc: int = 61250,
             fan_rpm: int = 2712, fan_pwm: int = 75) -> Path:
    """Write the files a Pi 5 has under ``root`` (a stand-in for /)."""
    files = {
        "proc/device-tree/compatible": "raspberrypi,5-model-b\0brcm,bcm2712\0",
        "proc/device-tree/model": "Raspberry Pi 5 Model B Rev 1.0\0",
        "proc/cpuinfo": CPUINFO,
        "sys/class/thermal/thermal_zone0/temp": f"{temp_mc}\n",
        "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq": f"{requested_khz}\n",
        "sys/class/hwmon/hwmon0/name": "cpu_thermal\n",
        "sys/class/hwmon/hwmon1/name": "rp1_adc\n",
        "sys/class/hwmon/hwmon2/name": "pwmfan\n",
        "sys/class/hwmon/hwmon2/fan1_input": f"{fan_rpm}\n",
        "sys/class/hwmon/hwmon2/pwm1": f"{fan_pwm}\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def pi5_firmware(*, arm_hz: int = 2400000000, throttled: int = 0x0,
                 ext5v: float = 5.138, **kw: object) -> FakeFirmware:
    """Answers of a Pi 5 firmware to the questions the health reader asks."""
    return FakeFirmware({
        "get_throttled": f"throttled=0x{throttled:x}",
        "measure_clock arm": f"frequency(0)={arm_hz}",
        "measure_temp": "temp=61.2'C",
        "pmic_read_adc EXT5V_V": f"     EXT5V_V volt(24)={ext5v:.8f}V",
    }, **kw)  # type: ignore[arg-type]
