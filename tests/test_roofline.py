"""The bandwidth roofline: the fraction's arithmetic, a real (small) measurement, the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import roofline
from bench.roofline import Bandwidth, get_bandwidth, measure_bandwidth, roofline_fraction


def test_fraction_is_bytes_moved_over_bandwidth() -> None:
    # 10 tokens/s x 1.5 GB per token = 15 GB/s, on a 20 GB/s machine
    assert roofline_fraction(10.0, 1.5e9, 20.0) == pytest.approx(0.75)
    assert roofline_fraction(0.0, 1.5e9, 20.0) == 0.0


@pytest.mark.parametrize("args", [(10.0, 1e9, 0.0), (10.0, 1e9, -1.0), (-1.0, 1e9, 10.0)])
def test_fraction_refuses_nonsense(args: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError):
        roofline_fraction(*args)


def test_a_small_real_measurement_reports_both_figures() -> None:
    bw = measure_bandwidth(threads=2, buffer_bytes=16 * 1024 * 1024, repeats=2)
    assert bw.read_gbps > 0 and bw.copy_gbps > 0
    assert bw.bound_gbps == bw.read_gbps
    assert bw.threads == 2 and bw.buffer_bytes == 16 * 1024 * 1024 and bw.repeats == 2
    assert bw.host and bw.cpu and bw.measured_at


def test_measured_once_then_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIBENCH_CACHE_DIR", str(tmp_path))
    calls: list[int] = []

    def small(threads: int | None = None) -> Bandwidth:
        calls.append(threads or 0)
        return measure_bandwidth(threads, buffer_bytes=8 * 1024 * 1024, repeats=1)

    monkeypatch.setattr(roofline, "measure_bandwidth", small)
    first = get_bandwidth(threads=1)
    second = get_bandwidth(threads=1)
    assert calls == [1] and first == second
    cached = json.loads((tmp_path / "bandwidth.json").read_text())
    assert list(cached) == [roofline.machine_key(1)]
    assert cached[roofline.machine_key(1)]["read_gbps"] == first.read_gbps
    get_bandwidth(threads=2)  # another thread count is another entry
    get_bandwidth(threads=1, refresh=True)
    assert calls == [1, 2, 1]
