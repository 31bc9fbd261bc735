"""A stand-in for the Raspberry Pi firmware behind /dev/vcio, answering GET_GENCMD_RESULT.

It checks each message the way the firmware's property interface reads it (request number,
total size, request code, tag, buffer size, NUL-terminated command, end tag) and writes the
answer into the same buffer: code 0x80000000, response length with bit 31 set, the command's
error code, then the text. Replies come from ``answers`` (command text -> text); a command
not in it gets error 1 and an "unknown command" text, as the firmware does for a typo.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from bench.meters.gencmd import GET_GENCMD_RESULT

IOWR_100_0_PTR = (3 << 30) | (struct.calcsize("P") << 16) | (100 << 8)


@dataclass
class FakeFirmware:
    answers: dict[str, str]
    calls: list[tuple[int, str]] = field(default_factory=list)
    """(fd, command) per ioctl."""

    def ioctl(self, fd: int, request: int, buf: bytearray) -> int:
        assert request == IOWR_100_0_PTR, hex(request)
        size, code, tag, blen, rlen, err = struct.unpack_from("=6I", buf, 0)
        assert size == len(buf) and size % 4 == 0, (size, len(buf))
        assert (code, tag, rlen, err) == (0, GET_GENCMD_RESULT, 0, 0)
        assert blen % 4 == 0 and size == 24 + blen + 4, (blen, size)
        assert struct.unpack_from("=I", buf, size - 4)[0] == 0, "no end tag"
        value = bytes(buf[24 : 24 + blen])
        assert b"\0" in value, "command not NUL-terminated"
        command = value.split(b"\0", 1)[0].decode()
        self.calls.append((fd, command))
        if command in self.answers:
            text, error = self.answers[command].encode(), 0
        else:
            text, error = f'error=1 error_msg="Command not registered: {command}"'.encode(), 1
        text = text[:blen]  # the firmware writes at most the buffer
        buf[24 : 24 + blen] = text + b"\0" * (blen - len(text))
        struct.pack_into("=6I", buf, 0, size, 0x80000000, tag, blen,
                         0x80000000 | min(len(text) + 1, blen), error)
        return 0
