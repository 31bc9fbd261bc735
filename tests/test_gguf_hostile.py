"""Hostile GGUF headers: every one gives one line and exit 2 from `pibench models info`, in
bounded time and memory, and `pibench models list` skips it with a warning.

The files are written here byte by byte (GGUF v3, little-endian: magic, version, tensor count,
key-value count, key-value pairs, tensor entries, padding, data), as llama.cpp's
ggml/src/gguf.cpp (gguf_init_from_reader, commit 067d44f6) reads them. Each case changes one
thing of a valid small model. Time and memory are asserted only as generous sanity bounds;
the measured figures are in the issue's report.
"""

from __future__ import annotations

import struct
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.errors import ModelLoadError
from bench.models.gguf_info import inspect_gguf, read_header

U8, I32, U32, F32, BOOL, STRING, ARRAY, U64 = 0, 5, 4, 6, 7, 8, 9, 10
F32_TYPE, Q4_K_TYPE = 0, 12


def _str(s: bytes) -> bytes:
    return struct.pack("<Q", len(s)) + s


@dataclass
class Tensor:
    name: bytes
    shape: list[int]
    ggml_type: int = F32_TYPE
    offset: int | None = None  # None: right after the previous one
    n_dims: int | None = None  # None: len(shape)


@dataclass
class GGUF:
    """A small valid model; each hostile case changes one field."""

    magic: bytes = b"GGUF"
    version: int = 3
    n_tensors: int | None = None
    n_kv: int | None = None
    kv: list[bytes] = field(default_factory=lambda: [
        _str(b"general.architecture") + struct.pack("<I", STRING) + _str(b"llama"),
        _str(b"general.file_type") + struct.pack("<II", U32, 0),
        _str(b"general.alignment") + struct.pack("<II", U32, 32),
    ])
    tensors: list[Tensor] = field(default_factory=lambda: [
        Tensor(b"token_embd.weight", [8, 4]), Tensor(b"output.weight", [8, 4]),
    ])
    alignment: int = 32
    data: bytes | None = None  # None: zeros for every tensor
    tail: bytes = b""

    def bytes(self) -> bytes:
        out = self.magic + struct.pack("<I", self.version)
        out += struct.pack("<QQ", len(self.tensors) if self.n_tensors is None else self.n_tensors,
                           len(self.kv) if self.n_kv is None else self.n_kv)
        out += b"".join(self.kv)
        offset = 0
        for t in self.tensors:
            dims = len(t.shape) if t.n_dims is None else t.n_dims
            out += _str(t.name) + struct.pack("<I", dims)
            out += b"".join(struct.pack("<Q", d) for d in t.shape)
            out += struct.pack("<IQ", t.ggml_type, offset if t.offset is None else t.offset)
            offset += 32 * ((4 * _n(t.shape) + 31) // 32)
        out += b"\0" * (-len(out) % self.alignment)
        return out + (b"\0" * offset if self.data is None else self.data) + self.tail


def _n(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _kv(key: bytes, vtype: int, payload: bytes) -> bytes:
    return _str(key) + struct.pack("<I", vtype) + payload


def _array(itype: int, count: int, items: bytes = b"") -> bytes:
    return struct.pack("<IQ", itype, count) + items


def _with_kv(*extra: bytes, keep: int = 3) -> GGUF:
    g = GGUF()
    g.kv = g.kv[:keep] + list(extra)
    return g


def _tensors(*tensors: Tensor, data: bytes | None = None) -> GGUF:
    g = GGUF(data=data)
    g.tensors = list(tensors)
    return g


def _replace_alignment(payload: bytes) -> GGUF:
    g = GGUF()
    g.kv = [*g.kv[:2], _str(b"general.alignment") + payload]
    return g


def _one_byte_tensor_count() -> bytes:
    """A valid file, then one byte of its tensor count changed (2 tensors -> 65,538)."""
    data = bytearray(GGUF().bytes())
    data[8 + 2] = 1  # the third byte of the little-endian uint64 tensor count
    return bytes(data)


def _cut(n: int) -> Callable[[], bytes]:
    return lambda: GGUF().bytes()[:n]


def _tensor_name_length(n: int) -> Callable[[], bytes]:
    def make() -> bytes:
        g = GGUF()
        data = bytearray(g.bytes())
        at = 24 + sum(len(k) for k in g.kv)
        data[at:at + 8] = struct.pack("<Q", n)
        return bytes(data)
    return make


def _many_long_strings() -> bytes:
    """64 keys of 512 KiB strings each: 32 MiB of metadata, over the 16 MiB kept."""
    value = b"x" * (512 << 10)
    return _with_kv(*(_kv(b"junk.%d" % i, STRING, _str(value)) for i in range(64))).bytes()


HUGE = (1 << 63) - 1
CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    # alignment
    "alignment 0": (lambda: _replace_alignment(struct.pack("<II", U32, 0)).bytes(),
                    "general.alignment is 0, not a power of two"),
    "alignment 48": (lambda: _replace_alignment(struct.pack("<II", U32, 48)).bytes(),
                     "general.alignment is 48, not a power of two"),
    "alignment 2^31": (lambda: _replace_alignment(struct.pack("<II", U32, 1 << 31)).bytes(),
                       "data offset 128, expected 2147483648"),
    "alignment as a string": (
        lambda: _replace_alignment(struct.pack("<I", STRING) + _str(b"32")).bytes(),
        "general.alignment is of value type 8, not uint32"),
    # lengths and counts
    "key length 2^63": (lambda: _with_kv(struct.pack("<Q", HUGE)).bytes(),
                        "key 3 of 9223372036854775807 bytes"),
    "string value 2^63": (
        lambda: _with_kv(_kv(b"general.name", STRING, struct.pack("<Q", HUGE))).bytes(),
        "the string value of 'general.name' of 9223372036854775807 bytes"),
    "string one byte too long": (
        lambda: _with_kv(_kv(b"general.name", STRING, struct.pack("<Q", 10_000))).bytes(),
        "needs 10000 bytes"),
    "u8 array of 2^62": (lambda: _with_kv(_kv(b"a.b", ARRAY, _array(U8, 1 << 62))).bytes(),
                         "is an array of 4611686018427387904 values"),
    "string array of 2^29": (
        lambda: _with_kv(_kv(b"tokenizer.ggml.tokens", ARRAY, _array(STRING, 1 << 29))).bytes(),
        "needs 4294967296 bytes"),
    "5 M empty strings": (
        lambda: _with_kv(_kv(b"t", ARRAY, _array(STRING, 5_000_000, b"\0" * 40_000_000))).bytes(),
        "more than 4194304 strings in arrays"),
    "array of arrays": (
        lambda: _with_kv(_kv(b"a.nested", ARRAY, _array(ARRAY, 1, _array(U8, 1, b"\1")))).bytes(),
        "is an array of arrays"),
    "deeply nested arrays": (
        lambda: _with_kv(_kv(b"a.deep", ARRAY, _array(ARRAY, 1) * 5000)).bytes(),
        "is an array of arrays"),
    "unknown value type": (lambda: _with_kv(_kv(b"a.b", 13, b"\0" * 8)).bytes(),
                           "unknown value type 13"),
    "array of an unknown type": (lambda: _with_kv(_kv(b"a.b", ARRAY, _array(99, 1))).bytes(),
                                 "unknown value type 99"),
    "kv count 2^60": (lambda: GGUF(n_kv=1 << 60).bytes(), "1152921504606846976 key-value"),
    "duplicate key": (
        lambda: _with_kv(_kv(b"general.architecture", STRING, _str(b"qwen2"))).bytes(),
        "the key 'general.architecture' appears twice"),
    "empty key": (lambda: _with_kv(_kv(b"", U8, b"\0")).bytes(), "key 3 is empty"),
    "32 MiB of metadata": (_many_long_strings, "more than 16 MiB of metadata"),
    # tensors
    "tensor count 2^63": (lambda: GGUF(n_tensors=HUGE).bytes(), "9223372036854775807 tensors"),
    "tensor count one byte changed": (_one_byte_tensor_count, "65538 tensors claimed"),
    "2^32-1 dimensions": (lambda: _tensors(Tensor(b"t", [8], n_dims=2**32 - 1)).bytes(),
                          "has 4294967295 dimensions (at most 4)"),
    "5 dimensions": (lambda: _tensors(Tensor(b"t", [8, 1, 1, 1, 1])).bytes(),
                     "has 5 dimensions"),
    "dimension over int64": (lambda: _tensors(Tensor(b"t", [8, 1 << 63]), data=b"").bytes(),
                             "impossible shape"),
    "element count over int64": (lambda: _tensors(Tensor(b"t", [1 << 40, 1 << 40]),
                                                  data=b"").bytes(),
                                 "impossible shape"),
    "tensor name of 64 bytes": (lambda: _tensors(Tensor(b"n" * 64, [8])).bytes(),
                                "a name of 64 bytes"),
    "tensor name 2^63": (_tensor_name_length(HUGE), "the name of tensor 0 of 9223372036854775807"),
    "duplicate tensor name": (lambda: _tensors(Tensor(b"t", [8]), Tensor(b"t", [8])).bytes(),
                              "two tensors are named 't'"),
    "tensor offset elsewhere": (
        lambda: _tensors(Tensor(b"a", [8]), Tensor(b"b", [8], offset=4096)).bytes(),
        "tensor 'b' has the data offset 4096, expected 32"),
    "rows not whole blocks": (lambda: _tensors(Tensor(b"q", [100, 2], Q4_K_TYPE)).bytes(),
                              "rows of 100 values"),
    # the rest of the file
    "tensor data cut": (lambda: GGUF().bytes()[:-40], "the tensor table needs"),
    "header cut in a key": (_cut(40), "is truncated"),
    "header cut in the tensor table": (_cut(len(GGUF().bytes()) - 64 - 20), "is truncated"),
    "three bytes": (lambda: b"GGU", "is not a GGUF file"),
    "version 1": (lambda: GGUF(version=1).bytes(), "GGUF version 1"),
    "big-endian": (lambda: GGUF(version=3 << 24).bytes(), "big-endian"),
}


def test_the_base_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "ok.gguf"
    path.write_bytes(GGUF().bytes())
    info = inspect_gguf(path)
    assert (info.architecture, info.quant, info.params) == ("llama", "F32", 64)
    assert [t.name for t in read_header(path).tensors] == ["token_embd.weight", "output.weight"]


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_header_one_line_exit_2(name: str, tmp_path: Path, cli) -> None:
    make, expected = CASES[name]
    path = tmp_path / "bad.gguf"
    path.write_bytes(make())
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ModelLoadError) as exc:
            inspect_gguf(path)
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    msg = str(exc.value)
    assert "\n" not in msg and str(path) in msg and expected in msg, msg
    assert seconds < 5, f"{name}: {seconds:.2f} s"  # sanity bound; figures in the report
    assert peak < 64 << 20, f"{name}: {peak >> 20} MiB"
    code, out, err = cli("models", "info", str(path))
    assert (code, out) == (2, "")
    assert err == f"pibench: error: {msg}\n"


def test_models_list_skips_a_bad_file_with_a_warning(tmp_path: Path, cli,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("PIBENCH_CACHE_DIR", str(cache))
    models = cache / "models"
    models.mkdir(parents=True)
    (models / "a-good.gguf").write_bytes(GGUF().bytes())
    (models / "b-bad.gguf").write_bytes(CASES["alignment 0"][0]())
    (models / "c-dangling.gguf").symlink_to(models / "nowhere.gguf")
    code, out, err = cli("models", "list")
    assert code == 0
    assert str(models / "a-good.gguf") in out and "b-bad" not in out
    warnings = err.splitlines()
    assert len(warnings) == 2
    assert warnings[0].startswith(f"pibench: warning: skipped {models / 'b-bad.gguf'}: ")
    assert "not a power of two" in warnings[0]
    assert warnings[1] == (f"pibench: warning: skipped {models / 'c-dangling.gguf'}: "
                           f"model file not found: {models / 'c-dangling.gguf'}")
