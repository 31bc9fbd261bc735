"""The memory-bandwidth roofline of token generation on a CPU.

Generating one token with a dense model reads every weight the token needs once, and on a
CPU that read comes from DRAM (the model is far larger than the caches), so generation speed
is bounded by ``bandwidth / bytes_per_token``. ``roofline_fraction`` says how close a measured
speed came to that bound.

Assumptions (say them with every fraction):

- ``bytes_per_token`` is the weight bytes read per generated token, from the GGUF's tensor
  sizes (``ModelInfo.extra["bytes_per_token"]``, see ``bench.models``): all layer weights plus
  the output projection; one row of the token-embedding table. KV-cache and activation
  traffic are left out, which is small at short contexts and makes the fraction a slight
  underestimate at long ones.
- ``bandwidth`` is *measured*, not the datasheet figure: a streaming read over a buffer many
  times the size of the last-level cache, run by one thread per physical core (numpy releases
  the GIL), best of a few runs. It is a practical bound: what this machine's cores can pull
  from memory, which is below the DRAM's theoretical peak.
- A model that partly fits in the caches (a few hundred MB on a server with a large L3) can
  exceed 1.0; on a Raspberry Pi 5 (2 MB L3) it should not.

The measurement runs once per machine and is cached in ``~/.cache/pibench/bandwidth.json``,
keyed by host name, CPU model and thread count.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DEFAULT_BUFFER_BYTES = 512 * 1024 * 1024
DEFAULT_REPEATS = 5


@dataclass(frozen=True)
class Bandwidth:
    read_gbps: float
    """Best streaming-read rate, GB/s (1e9 bytes/s): the roofline's bound."""
    copy_gbps: float
    """Best copy rate, GB/s, counting bytes read + bytes written (STREAM convention)."""
    threads: int
    buffer_bytes: int
    repeats: int
    host: str
    cpu: str
    measured_at: str
    method: str = (
        "numpy uint64 streaming sum (read) and copyto (copy), one thread per core, best of N"
    )

    @property
    def bound_gbps(self) -> float:
        return self.read_gbps


def roofline_fraction(gen_tps: float, bytes_per_token: float, bandwidth: float) -> float:
    """Fraction of the memory-bandwidth bound reached: tokens/s x bytes per token divided by
    the bandwidth in GB/s (1e9 bytes/s). 1.0 means generation read weights as fast as the
    measured bandwidth allows."""
    if bandwidth <= 0:
        raise ValueError(f"bandwidth must be > 0 GB/s, got {bandwidth}")
    if gen_tps < 0 or bytes_per_token < 0:
        raise ValueError("tokens/s and bytes per token cannot be negative")
    return gen_tps * bytes_per_token / (bandwidth * 1e9)


def _cache_path() -> Path:
    try:
        from bench.models.files import cache_dir
    except ImportError:
        return Path.home() / ".cache" / "pibench" / "bandwidth.json"
    return cache_dir() / "bandwidth.json"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() in ("model name", "Model") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _default_threads() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def machine_key(threads: int) -> str:
    return f"{socket.gethostname()}|{_cpu_name()}|{threads} threads"


def _timed_parallel(work: list[Any]) -> float:
    """Run the callables in ``work`` on one thread each, started together; wall seconds."""
    barrier = threading.Barrier(len(work) + 1)

    def run(fn: Any) -> None:
        barrier.wait()
        fn()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in work]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def measure_bandwidth(
    threads: int | None = None,
    buffer_bytes: int = DEFAULT_BUFFER_BYTES,
    repeats: int = DEFAULT_REPEATS,
) -> Bandwidth:
    """Measure read and copy bandwidth now (about a second or two; no caching)."""
    import numpy as np

    n_threads = threads or _default_threads()
    n = buffer_bytes // 8
    src = np.ones(n, dtype=np.uint64)  # written once: pages are really allocated
    dst = np.zeros(n // 2, dtype=np.uint64)
    dst.fill(0)
    read_parts = np.array_split(src, n_threads)
    copy_src = np.array_split(src[: n // 2], n_threads)
    copy_dst = np.array_split(dst, n_threads)

    def reader(part: Any) -> Any:
        return lambda: part.sum()  # integer adds: cheaper than a float (pairwise) sum

    def copier(a: Any, b: Any) -> Any:
        return lambda: np.copyto(b, a)

    pairs = list(zip(copy_src, copy_dst, strict=True))
    best_read = best_copy = float("inf")
    for _ in range(repeats):
        best_read = min(best_read, _timed_parallel([reader(p) for p in read_parts]))
        best_copy = min(best_copy, _timed_parallel([copier(a, b) for a, b in pairs]))
    return Bandwidth(
        read_gbps=src.nbytes / best_read / 1e9,
        copy_gbps=2 * dst.nbytes / best_copy / 1e9,
        threads=n_threads,
        buffer_bytes=int(src.nbytes),
        repeats=repeats,
        host=socket.gethostname(),
        cpu=_cpu_name(),
        measured_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )


def get_bandwidth(threads: int | None = None, *, refresh: bool = False) -> Bandwidth:
    """This machine's bandwidth: from the cache file, else measured once and cached."""
    n_threads = threads or _default_threads()
    key = machine_key(n_threads)
    path = _cache_path()
    cache: dict[str, Any] = {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            cache = loaded
    except (OSError, ValueError):
        pass
    if not refresh and isinstance(cache.get(key), dict):
        try:
            return Bandwidth(**cache[key])
        except TypeError:
            pass  # an older layout: measure again
    bw = measure_bandwidth(n_threads)
    cache[key] = asdict(bw)
    from bench.errors import PibenchError
    from bench.results.safe_io import write_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(cache, indent=1, sort_keys=True))
    except (OSError, PibenchError):
        pass  # a cache: measured again next time
    return bw
