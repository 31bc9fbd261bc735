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

processor\t: 1
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x4
CPU part\t: 0xd0b
CPU revision\t: 1

processor\t: 2
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x4
CPU part\t: 0xd0b
CPU revision\t: 1

processor\t: 3
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


# --- the system context (bench.results.system) ---
# File names: raspberrypi/linux (device tree ``hat`` node: drivers/of and the HAT EEPROM spec,
# raspberrypi/utils eepromutils; ``chosen/bootloader``: the firmware fills it), the kernel's
# sysfs ABI (Documentation/ABI/testing/sysfs-bus-pci: current_link_speed "8.0 GT/s PCIe",
# current_link_width, max_link_*), the Hailo-10H's PCI ids (hailo-ai/hailort-drivers
# common/pcie_common.h: PCI_VENDOR_ID_HAILO 0x1e60, PCI_DEVICE_ID_HAILO_HAILO10H 0x45C4),
# /sys/module/<name>/version (MODULE_VERSION), /proc/meminfo. The
# answers' shapes: raspberrypi/utils vcgencmd prints the firmware's text as is; ``version``,
# ``bootloader_version`` and ``get_config int`` lines as Raspberry Pi's documentation
# ("vcgencmd") shows them. The values (dates, hashes, HAT strings) are made up for the test.
SYSTEM_FILES = {
    "proc/meminfo": "MemTotal:        8245840 kB\nMemFree:         7000000 kB\n",
    "etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n',
    "etc/rpi-issue": "Raspberry Pi reference 2024-11-19\nGenerated using pi-gen\n",
    "proc/sys/kernel/osrelease": "6.6.62+rpt-rpi-2712\n",
    "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": "ondemand\n",
    **{f"sys/devices/system/cpu/cpu{i}/cpufreq/cpuinfo_max_freq": "2400000\n"
       for i in range(4)},
    "proc/device-tree/hat/product": "AI HAT+ 2\0",
    "proc/device-tree/hat/vendor": "Raspberry Pi Ltd\0",
    "proc/device-tree/hat/product_id": "0x1234\0",
    "proc/device-tree/hat/product_ver": "0x0001\0",
    "proc/device-tree/hat/uuid": "00000000-0000-0000-0000-000000000001\0",
    "sys/bus/pci/devices/0001:00:00.0/vendor": "0x14e4\n",
    "sys/bus/pci/devices/0001:00:00.0/class": "0x060400\n",
    "sys/bus/pci/devices/0001:00:00.0/current_link_speed": "8.0 GT/s PCIe\n",
    "sys/bus/pci/devices/0001:00:00.0/current_link_width": "1\n",
    "sys/bus/pci/devices/0001:01:00.0/vendor": "0x1e60\n",
    "sys/bus/pci/devices/0001:01:00.0/class": "0x120000\n",
    "sys/bus/pci/devices/0001:01:00.0/current_link_speed": "8.0 GT/s PCIe\n",
    "sys/bus/pci/devices/0001:01:00.0/current_link_width": "1\n",
    "sys/bus/pci/devices/0001:01:00.0/max_link_speed": "8.0 GT/s PCIe\n",
    "sys/bus/pci/devices/0001:01:00.0/max_link_width": "1\n",
    "sys/bus/pci/devices/0001:01:00.0/device": "0x45c4\n",
    "sys/module/hailo1x_pci/version": "5.1.1\n",
}
VERSION = ("2024/09/23 14:02:56 \nCopyright (c) 2012 Broadcom\n"
           "version 26826259 (release) (embedded)\n")
BOOTLOADER = ("2024/09/23 13:02:56\nversion 86d4c4ef2fb1585f8b89d6dcc48ae0b8bafb3e10 (release)\n"
              "timestamp 1727096576\nupdate-time 1727362421\ncapabilities 0x0000007f\n")
CONFIG_INT = ("arm_64bit=1\narm_boost=1\narm_freq=2800\narm_freq_min=1500\ncore_freq=910\n"
              "force_turbo=0\ngpu_freq=1000\nover_voltage_delta=50000\nsdram_freq=4267\n"
              "total_mem=8192\n")
CONFIG_STR = "device_tree=bcm2712-rpi-5-b.dtb\nkernel=kernel_2712.img\n"


def pi5_system_tree(root: Path) -> Path:
    """A Pi 5 with 8 GB, Raspberry Pi OS, the fan, and the AI HAT+ 2 on PCIe gen 3."""
    pi5_tree(root)
    for rel, text in SYSTEM_FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def pi5_system_firmware() -> FakeFirmware:
    """Answers to the system context's questions, and to the health reader's."""
    fw = pi5_firmware()
    fw.answers.update({"version": VERSION, "bootloader_version": BOOTLOADER,
                       "get_config int": CONFIG_INT, "get_config str": CONFIG_STR})
    return fw
