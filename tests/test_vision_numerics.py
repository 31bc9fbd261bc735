"""Nearest-rank percentiles (numpy) and greedy NMS (OpenCV) give the textbook results."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("cv2")

from bench.vision.detectors.nms import _nms  # noqa: E402
from bench.vision.stats import percentile  # noqa: E402


def test_nearest_rank_percentile():
    ten = [float(v) for v in range(10, 0, -1)]  # order does not matter
    assert percentile(ten, 90) == 9.0  # rank ceil(0.9 * 10) = 9
    assert percentile(ten, 91) == 10.0  # rank ceil(9.1) = 10
    assert percentile(ten, 50) == 5.0
    assert percentile(ten, 0) == 1.0 and percentile(ten, 100) == 10.0
    hundred = [float(v) for v in range(1, 101)]
    assert percentile(hundred, 99) == 99.0  # 0.99 * 100 is 99.00000000000001 in floats
    assert percentile([], 50) is None


def test_greedy_nms_keeps_the_best_of_each_overlapping_group():
    boxes = np.array([[0, 0, 10, 10],     # 0: score 0.9
                      [1, 1, 11, 11],     # 1: IoU 81/119 = 0.68 with 0 -> dropped
                      [20, 20, 30, 30],   # 2: apart -> kept
                      [0, 0, 10, 5]],     # 3: IoU 50/100 = 0.5 with 0 -> dropped at 0.45
                     dtype=np.float32)
    scores = np.array([0.9, 0.95, 0.5, 0.3], dtype=np.float32)
    # 1 is best: it drops 0 (0.68); 3 overlaps 1 by 36/(50+100-36) = 0.32 -> kept
    assert _nms(boxes, scores, 0.45) == [1, 2, 3]
    assert _nms(boxes, scores, 0.7) == [1, 0, 2, 3]  # no IoU above 0.7: all kept, best first
