"""A stand-in for the Raspberry Pi kernel's vcio devices and the firmware's gencmd handler.

Sources (each behaviour below names the one it follows):
- [vcio] raspberrypi/linux drivers/char/broadcom/vcio.c, blob 0fa4c422 (the version with the
  restricted nodes, linux PR 7351 merged 2026-05; rpi-6.x branches): ``vcio_probe`` (one
  misc device "vcio" with every tag, plus "vcio_gencmd" etc.), ``vcio_device_ioctl``,
  ``vcio_check_tags``, ``vcio_user_property_list``.
- [fw] raspberrypi/linux drivers/firmware/raspberrypi.c, blob 01fc79ac:
  ``rpi_firmware_property_list``.
- [utils] raspberrypi/utils vcgencmd/vcgencmd.c at a30e7c7 (2026-06-23; MAX_STRING 4096
  since 41d0d40, 2026-05-26): ``mbox_open``, ``gencmd``, ``main``.
- [ref] ../shared/reference/telemetry.md (checked 2026-11-27) for what the closed firmware
  writes: -1 and ``error=1 error_msg="Command not registered"`` for an unknown command;
  EINVAL, never truncation, for an answer that does not fit (utils 41d0d40's commit message
  shows ``ioctl_set_msg failed:-1`` for ``get_config int`` with the 1024-byte buffer).

Each device node has its own permission (``FakeDevice.readable``): udev decides it on a real
board, and several setups leave /dev/vcio root-only while /dev/vcio_gencmd is given to a
group. Whether the firmware sets word [4] (the tag's response length, bit 31) for
GET_GENCMD_RESULT is not documented: ``sets_word4`` chooses, default False.
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.meters.gencmd import GET_GENCMD_RESULT

IOWR_100_0_PTR = (3 << 30) | (struct.calcsize("P") << 16) | (100 << 8)
STATUS_SUCCESS = 0x80000000
NOT_REGISTERED = 'error=1 error_msg="Command not registered"'


@dataclass
class FakeDevice:
    readable: bool = True
    """False: open() fails with EACCES, as for a root-only node opened by a user."""
    allowed_tags: tuple[int, ...] | None = None
    """None: every tag ([vcio] vcio_probe registers "vcio" with no tag list)."""


def pi5_devices(vcio: bool = True, vcio_gencmd: bool = True) -> dict[str, FakeDevice]:
    """The two nodes of a current Pi 5 kernel, each readable or not."""
    return {
        # [vcio] vcio_gencmd_tags: only 0x00030080 GET_GENCMD_RESULT
        "/dev/vcio_gencmd": FakeDevice(vcio_gencmd, (GET_GENCMD_RESULT,)),
        "/dev/vcio": FakeDevice(vcio, None),
    }


@dataclass
class FakeFirmware:
    answers: dict[str, str]
    """command text (as sent) -> answer text."""
    devices: dict[str, FakeDevice] = field(default_factory=pi5_devices)
    sets_word4: bool = False
    calls: list[tuple[str, str]] = field(default_factory=list)
    """(device path, command) per firmware message."""
    _open: dict[int, str] = field(default_factory=dict)
    _next_fd: int = 100

    # --- the system calls (bench.meters.gencmd.MailboxIO) ---
    def open(self, path: str) -> int:
        dev = self.devices.get(path)
        if dev is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        if not dev.readable:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        self._next_fd += 1
        self._open[self._next_fd] = path
        return self._next_fd

    def close(self, fd: int) -> None:
        del self._open[fd]

    def ioctl(self, fd: int, request: int, buf: bytearray) -> int:
        path = self._open.get(fd)
        if path is None:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        if request != IOWR_100_0_PTR:  # [vcio] vcio_device_ioctl: "unknown ioctl"
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        (size,) = struct.unpack_from("=I", buf, 0)
        if size < 12 or size > len(buf):  # [vcio] vcio_user_property_list
            raise OSError(errno.EINVAL if size < 12 else errno.EFAULT, "bad size")
        msg = bytearray(buf[:size])
        self._check_tags(self.devices[path], msg, size)  # [vcio] vcio_check_tags
        if size & 3:  # [fw] rpi_firmware_property_list: processed a dword at a time
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        self._firmware(path, msg, size)  # raises EINVAL: nothing is copied back
        struct.pack_into("=I", msg, 4, STATUS_SUCCESS)  # [vcio]: buf[1] = ..._SUCCESS
        buf[:size] = msg  # [vcio]: copy_to_user of the whole message
        return 0

    @staticmethod
    def _check_tags(dev: FakeDevice, msg: bytearray, size: int) -> None:
        if dev.allowed_tags is None:
            return
        offset = 8  # skip total size and status words
        while offset + 12 <= size:
            tag, val_size = struct.unpack_from("=2I", msg, offset)
            if tag == 0:
                return
            if tag not in dev.allowed_tags:
                raise OSError(errno.EPERM, os.strerror(errno.EPERM))
            if val_size > size - offset - 12:
                raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
            offset += 12 + (val_size + 3) // 4 * 4
            if offset > size:
                raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))

    def _firmware(self, path: str, msg: bytearray, size: int) -> None:
        tag, blen, _req, _err = struct.unpack_from("=4I", msg, 8)
        assert tag == GET_GENCMD_RESULT, f"this fake answers only gencmd, got 0x{tag:08x}"
        value = bytes(msg[24 : 24 + blen])
        command = value.split(b"\0", 1)[0].decode()
        self.calls.append((path, command))
        if command in self.answers:
            text, error = self.answers[command].encode(), 0
        else:  # [ref]; [utils] main() prints word [5] as "vc_gencmd_read_response returned"
            text, error = NOT_REGISTERED.encode(), -1
        if len(text) + 1 > blen:  # [ref]: the firmware fails, [fw] turns that into EINVAL
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        msg[24 : 24 + blen] = text + b"\0" * (blen - len(text))
        word4 = STATUS_SUCCESS | (len(text) + 1) if self.sets_word4 else 0
        struct.pack_into("=Ii", msg, 16, word4, error)

    # --- the vcgencmd program, run as a process ---
    def vcgencmd(self, argv: Sequence[str], devices: dict[str, FakeDevice] | None = None) -> str:
        """What `vcgencmd ARGS` prints ([utils] main), as a bench.meters.sources.RunCommand.
        ``devices``: the nodes as the program's user sees them (default: this firmware's)."""
        from bench.meters.sources import CommandFailed

        command = " ".join(argv[1:])  # [utils] main(): the arguments joined by spaces
        saved = self.devices
        self.devices = devices if devices is not None else saved
        try:
            # [utils] mbox_open(): vcio_gencmd, then vcio; else print and exit(-1)
            usable = [p for p in ("/dev/vcio_gencmd", "/dev/vcio")
                      if p in self.devices and self.devices[p].readable]
            if not usable:
                raise CommandFailed(f"`{' '.join(argv)}` exited 255: Can't open device"
                                    " file: /dev/vcio_gencmd")
            fd = self.open(usable[0])
            buf = bytearray(4 * (6 + 1024 + 1))
            struct.pack_into("=6I", buf, 0, len(buf), 0, GET_GENCMD_RESULT, 4096, 0, 0)
            buf[24 : 24 + len(command) + 1] = command.encode() + b"\0"
            try:
                self.ioctl(fd, IOWR_100_0_PTR, buf)
            except OSError:  # [utils] mbox_property(): printed; word [5] stays 0: exit 0
                return f"ioctl_set_msg failed:-1\n{command}\n"
            finally:
                self.close(fd)
        finally:
            self.devices = saved
        (error,) = struct.unpack_from("=i", buf, 20)
        text = bytes(buf[24:4120]).split(b"\0", 1)[0].decode()
        if error:  # [utils] main(): exit status is word [5] (-1 -> 255)
            raise CommandFailed(f"`{' '.join(argv)}` exited {error & 0xFF}:"
                                f" vc_gencmd_read_response returned {error}")
        return text + "\n"
