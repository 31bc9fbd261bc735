"""A bounded, defensive reader of GGUF headers (v2/v3, little-endian), without a library.

Only the header (metadata and tensor table) is read, never the tensor data, so reading a 2 GB
model takes milliseconds. The header is untrusted input: every count and length is checked
against the bytes the file still has before anything is read or allocated; the checks follow
llama.cpp's own loader (see the limits below), so a file this reader accepts is one llama.cpp
can open, and a bad one gives one line (``ModelLoadError``) in bounded time and memory.

gguf-py's ``GGUFReader`` (the ``gguf`` package) is the reference the tests compare this reader
with on valid files; it is not used here because it walks every array element of a hostile
header with numpy views (no bound on time) and is an optional dependency.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import ModelLoadError
from bench.models.files import check_file

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# ggml type id -> (name, elements per block, bytes per block); ggml/include/ggml.h order.
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
}

# Limits of the header reader. A GGUF header is untrusted input: every count and length in it
# is checked against the bytes the file still has before anything is read or allocated, so a
# hostile header costs time and memory bounded by the file's size and by KEEP_BUDGET.
# llama.cpp's own limits (ggml/src/gguf.cpp, gguf_init_from_reader, commit 067d44f6): strings
# and arrays of at most 2^30 bytes / elements, keys non-empty and unique, no array of arrays,
# general.alignment a uint32 power of two, at most GGML_MAX_DIMS = 4 dimensions, tensor names
# shorter than GGML_MAX_NAME = 64 bytes and unique, no negative dimension, the element count
# below 2^63, rows a whole number of blocks, each tensor's offset right after the previous one.
MAX_STRING = 1 << 30  # GGUF_MAX_STRING_LENGTH
MAX_ARRAY = 1 << 30  # GGUF_MAX_ARRAY_ELEMENTS
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_NAME = 64  # GGML_MAX_NAME, terminating NUL included
KEEP_BUDGET = 16 << 20
"""Bytes of metadata kept in memory (keys, strings, short arrays, tensor entries, counted with
their Python overhead); long arrays are skipped, not kept. A real model keeps well under 1 MiB."""
KEEP_BUDGET_FULL = 512 << 20  # full_arrays: a vocabulary's tokens and merges are kept
MAX_STRINGS = 1 << 22
"""Strings in arrays, in all (a time bound: each costs a step). The largest vocabulary among
llama.cpp's models/ggml-vocab-*.gguf (gemma-4: 262,144 tokens) has about 1.3 M strings and
values in its arrays."""
_ITEM_COST = 64  # bytes of Python overhead counted per kept value
_TENSOR_MIN = 8 + 4 + 4 + 8  # name length, n_dims, type, offset: the smallest tensor entry
_KV_MIN = 8 + 1 + 4 + 1  # key length, a 1-byte key, value type, a 1-byte value
_INT64_MAX = (1 << 63) - 1

# GGUF metadata value types: id -> struct format of a scalar (8 string, 9 array handled apart)
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY, _UINT32 = 8, 9, 4
_U64 = struct.Struct("<Q")
_KEEP_ARRAY_MAX = 64  # arrays longer than this (vocabularies) are skipped, only counted


class _Bad(Exception):
    """The header is corrupt: the message says where and what."""


class _Short(_Bad):
    """The header needs more bytes than the file has (truncated, or a corrupt length)."""


@dataclass(frozen=True, slots=True)
class TensorEntry:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int

    @property
    def n_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def type_name(self) -> str:
        return GGML_TYPES.get(self.ggml_type, (f"type{self.ggml_type}", 0, 0))[0]

    @property
    def nbytes(self) -> int | None:
        info = GGML_TYPES.get(self.ggml_type)
        if info is None:
            return None
        _, block, size = info
        return self.n_elements // block * size


@dataclass
class GGUFHeader:
    version: int
    metadata: dict[str, Any]
    """Scalar and short-array values; long arrays are replaced by ("array", length)."""
    tensors: list[TensorEntry]
    data_offset: int
    file_bytes: int


class _Reader:
    """Reads the header from a buffer (an mmap of the file) with every length checked first."""

    def __init__(self, buf: Any, size: int, full_arrays: bool) -> None:
        self.buf = buf
        self.size = size
        self.pos = 0
        self.keep_max = MAX_ARRAY if full_arrays else _KEEP_ARRAY_MAX
        self.budget = KEEP_BUDGET_FULL if full_arrays else KEEP_BUDGET
        self.strings_left = MAX_STRINGS

    def need(self, n: int, what: str) -> None:
        if n > self.size - self.pos:
            raise _Short(f"{what} at byte {self.pos} needs {n} bytes, "
                         f"{self.size - self.pos} remain")

    def keep(self, n: int) -> None:
        self.budget -= n + _ITEM_COST
        if self.budget < 0:
            limit = KEEP_BUDGET_FULL if self.keep_max == MAX_ARRAY else KEEP_BUDGET
            raise _Bad(f"more than {limit >> 20} MiB of metadata and tensor entries "
                       f"(at byte {self.pos}); no model header is that large")

    def unpack(self, fmt: str, what: str) -> Any:
        n = struct.calcsize(fmt)
        self.need(n, what)
        v = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += n
        return v

    def length(self, what: str, limit: int) -> int:
        n: int = self.unpack("<Q", what)
        if n > limit:
            raise _Bad(f"{what} of {n} bytes at byte {self.pos - 8} (at most {limit})")
        self.need(n, what)
        return n

    def string(self, what: str, keep: bool = True) -> str | None:
        n = self.length(what, MAX_STRING)
        start = self.pos
        self.pos += n
        if not keep:
            return None
        self.keep(n)
        return bytes(self.buf[start:self.pos]).decode("utf-8", errors="replace")

    def value(self, vtype: int, key: str) -> Any:
        fmt = _SCALARS.get(vtype)
        if fmt is not None:
            return self.unpack(fmt, f"the value of {key!r}")
        if vtype == _STRING:
            return self.string(f"the string value of {key!r}")
        if vtype != _ARRAY:
            raise _Bad(f"key {key!r} has the unknown value type {vtype}")
        itype = self.unpack("<I", f"the array type of {key!r}")
        count = self.unpack("<Q", f"the array length of {key!r}")
        if itype == _ARRAY:
            raise _Bad(f"key {key!r} is an array of arrays (llama.cpp reads no nested arrays)")
        ifmt = _SCALARS.get(itype)
        if ifmt is None and itype != _STRING:
            raise _Bad(f"key {key!r} is an array of the unknown value type {itype}")
        if count > MAX_ARRAY:
            raise _Bad(f"key {key!r} is an array of {count} values (at most {MAX_ARRAY})")
        item = struct.calcsize(ifmt) if ifmt else 8  # a string is at least its length
        self.need(count * item, f"the {count} values of {key!r}")
        keep = count <= self.keep_max
        if ifmt is not None:
            start = self.pos
            self.pos += count * item
            if not keep:
                return ("array", count)
            self.keep(count * (item + _ITEM_COST))
            return list(struct.unpack_from("<" + ifmt[1] * count, self.buf, start))
        return self.strings(count, key, keep)

    def strings(self, count: int, key: str, keep: bool) -> Any:
        """An array of ``count`` strings, in one tight loop (vocabularies have 250k)."""
        self.strings_left -= count
        if self.strings_left < 0:
            raise _Bad(f"more than {MAX_STRINGS} strings in arrays (at key {key!r}); no "
                       "tokenizer has that many")
        buf, pos, end, limit = self.buf, self.pos, self.size, min(MAX_STRING, self.size)
        out: list[str] = []
        unpack = _U64.unpack_from
        for i in range(count):
            if pos + 8 > end:
                self.pos = pos
                raise _Short(f"string {i} of {key!r} at byte {pos} needs 8 bytes, "
                             f"{end - pos} remain")
            n = unpack(buf, pos)[0]
            pos += 8
            if n > end - pos or n > limit:
                self.pos = pos
                raise _Short(f"string {i} of {key!r} at byte {pos - 8} needs {n} bytes, "
                             f"{end - pos} remain")
            if keep:
                self.pos = pos
                self.keep(n)
                out.append(buf[pos:pos + n].decode("utf-8", errors="replace"))
            pos += n
        self.pos = pos
        return out if keep else ("array", count)

    def tensor(self, index: int, names: set[str], expected: int | None) -> TensorEntry:
        name = self.string(f"the name of tensor {index}") or ""
        if len(name.encode()) >= MAX_NAME:
            raise _Bad(f"tensor {index} has a name of {len(name.encode())} bytes "
                       f"(at most {MAX_NAME - 1})")
        if name in names:
            raise _Bad(f"two tensors are named {name!r}")
        names.add(name)
        n_dims = self.unpack("<I", f"the dimension count of {name!r}")
        if n_dims > MAX_DIMS:
            raise _Bad(f"tensor {name!r} has {n_dims} dimensions (at most {MAX_DIMS})")
        shape = tuple(self.unpack("<Q", f"a dimension of {name!r}") for _ in range(n_dims))
        n = 1
        for d in shape:
            n *= d
            if d > _INT64_MAX or n > _INT64_MAX:
                raise _Bad(f"tensor {name!r} has the impossible shape {shape}")
        ggml_type = self.unpack("<I", f"the type of {name!r}")
        offset = self.unpack("<Q", f"the offset of {name!r}")
        info = GGML_TYPES.get(ggml_type)
        if info is not None and shape and shape[0] % info[1]:
            raise _Bad(f"tensor {name!r} ({info[0]}) has rows of {shape[0]} values, not a "
                       f"whole number of its {info[1]}-value blocks")
        if expected is not None and offset != expected:
            raise _Bad(f"tensor {name!r} has the data offset {offset}, expected {expected} "
                       "(right after the previous tensor)")
        self.keep(len(name) + 8 * n_dims + 3 * _ITEM_COST)
        return TensorEntry(name, shape, ggml_type, offset)


def _alignment(meta: dict[str, Any], types: dict[str, int]) -> int:
    if "general.alignment" not in meta:
        return DEFAULT_ALIGNMENT
    align = meta["general.alignment"]
    if types["general.alignment"] != _UINT32:
        raise _Bad(f"general.alignment is of value type {types['general.alignment']}, "
                   "not uint32")
    if align == 0 or align & (align - 1):
        raise _Bad(f"general.alignment is {align}, not a power of two")
    return int(align)


def _parse(r: _Reader) -> GGUFHeader:
    version = r.unpack("<I", "the version")
    if version and not version & 0xFFFF:
        raise _Bad(f"version field {version:#010x}: a big-endian GGUF; pibench reads "
                   "little-endian files")
    if version not in (2, 3):
        raise _Bad(f"GGUF version {version}; pibench reads versions 2-3")
    n_tensors = r.unpack("<Q", "the tensor count")
    n_kv = r.unpack("<Q", "the key-value count")
    room = r.size - r.pos
    if n_kv > room // _KV_MIN:
        raise _Short(f"{n_kv} key-value pairs claimed; the file's {room} remaining bytes hold "
                   f"at most {room // _KV_MIN}")
    meta: dict[str, Any] = {}
    types: dict[str, int] = {}
    for i in range(n_kv):
        key = r.string(f"key {i}") or ""
        if not key:
            raise _Bad(f"key {i} is empty")
        if key in meta:
            raise _Bad(f"the key {key!r} appears twice")
        vtype = r.unpack("<I", f"the value type of {key!r}")
        types[key] = vtype
        meta[key] = r.value(vtype, key)
    align = _alignment(meta, types)
    room = r.size - r.pos
    if n_tensors > room // _TENSOR_MIN:
        raise _Short(f"{n_tensors} tensors claimed; the file's {room} remaining bytes hold at "
                   f"most {room // _TENSOR_MIN} tensor entries")
    tensors: list[TensorEntry] = []
    names: set[str] = set()
    expected: int | None = 0
    for i in range(n_tensors):
        t = r.tensor(i, names, expected)
        tensors.append(t)
        nbytes = t.nbytes
        expected = None if expected is None or nbytes is None else \
            expected + (nbytes + align - 1) // align * align
    data_offset = (r.pos + align - 1) // align * align
    return GGUFHeader(version, meta, tensors, data_offset, r.size)


def read_header(path: str | Path, full_arrays: bool = False) -> GGUFHeader:
    """Parse a GGUF header. Raises ModelLoadError (one line naming the file) for a missing,
    foreign, truncated or corrupt file, in time and memory bounded by the file's size (see
    the limits above). Long arrays (vocabularies) are skipped unless ``full_arrays``."""
    p = Path(path).expanduser()
    check_file(p, "model file", ModelLoadError)
    try:
        with p.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(4)
            if head != GGUF_MAGIC:
                raise ModelLoadError(
                    f"{p} is not a GGUF file (starts with {head!r}, expected b'GGUF')"
                )
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                r = _Reader(buf, size, full_arrays)
                r.pos = 4
                header = _parse(r)
    except _Short as exc:
        raise ModelLoadError(f"{p} is truncated or corrupt: the GGUF header ends early "
                             f"({exc}; the file has {size} bytes)") from None
    except _Bad as exc:
        raise ModelLoadError(f"{p} has a corrupt GGUF header: {exc}") from None
    except (OSError, ValueError) as exc:  # ValueError: mmap of a file that shrank to 0
        raise ModelLoadError(f"cannot read model file {p}: "
                             f"{getattr(exc, 'strerror', None) or exc}") from None
    needed = data_end(header)
    if needed is not None and needed > size:
        raise ModelLoadError(
            f"{p} is truncated: {size} bytes on disk, the tensor table needs {needed} bytes"
        )
    return header


def data_end(header: GGUFHeader) -> int | None:
    """Byte offset where the last tensor's data ends (None if a tensor type is unknown)."""
    if not header.tensors:  # vocab-only files end at their metadata, without padding
        return None
    end = header.data_offset
    for t in header.tensors:
        nbytes = t.nbytes
        if nbytes is None:
            return None
        end = max(end, header.data_offset + t.offset + nbytes)
    return end
