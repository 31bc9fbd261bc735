"""Reading detector outputs into Detection lists (numpy; OpenCV for NMS).

HailoRT YOLO HEFs end in an on-chip NMS whose output order is HAILO_NMS_BY_CLASS. Through
the InferModel API, ``bindings.output(name).get_buffer()`` gives it in one of three shapes:

- Hailo format (the default, ``tf_format=False``): a list with one array per class, each of
  shape (detections, 5) holding (y_min, x_min, y_max, x_max, score), coordinates in 0..1;
- TF format (``tf_format=True``): one array (classes, 5, max_boxes_per_class);
- the raw buffer (``get_buffer(None)``): flat float32, per class a count then that many
  5-float boxes.

``parse_hailo_nms`` accepts all three. ``decode_yolov8`` reads the usual Ultralytics YOLOv8
ONNX output (1, 4 + classes, anchors) with boxes as centre x, centre y, width, height.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias

from bench.errors import BackendUnavailable
from bench.vision.detectors import Detection

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

    Floats: TypeAlias = NDArray[np.float32]


def _box(row: Floats, width: int, height: int, label: int) -> Detection:
    y0, x0, y1, x1, score = (float(v) for v in row[:5])
    return Detection(x0 * width, y0 * height, x1 * width, y1 * height, score, label)


def parse_hailo_nms(
    output: ArrayLike | Sequence[ArrayLike], width: int, height: int, threshold: float,
    num_classes: int | None = None,
) -> list[Detection]:
    """Detections above ``threshold`` with boxes scaled to ``width`` x ``height`` pixels."""
    import numpy as np

    out: list[Detection] = []
    if isinstance(output, (list, tuple)):  # Hailo format: one array per class
        for label, boxes in enumerate(output):
            arr = np.asarray(boxes, dtype=np.float32).reshape(-1, 5)
            out.extend(_box(r, width, height, label) for r in arr if r[4] >= threshold)
        return out
    arr = np.asarray(output, dtype=np.float32)
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 3 and arr.shape[1] == 5:  # TF format: (classes, 5, max boxes)
        for label in range(arr.shape[0]):
            for r in arr[label].T:
                if r[4] >= threshold and r[4] > 0:
                    out.append(_box(r, width, height, label))
        return out
    flat = arr.reshape(-1)  # raw: per class a count then count x 5 floats
    i, label = 0, 0
    while i < flat.size and (num_classes is None or label < num_classes):
        count = int(flat[i])
        i += 1
        if count < 0 or i + 5 * count > flat.size:
            raise ValueError(f"NMS buffer: class {label} claims {count} boxes past the buffer end")
        for r in flat[i : i + 5 * count].reshape(-1, 5):
            if r[4] >= threshold:
                out.append(_box(r, width, height, label))
        i += 5 * count
        label += 1
        if num_classes is None and count == 0 and not flat[i:].any():
            break  # the rest of the buffer is empty padding
    return out


def decode_yolov8(
    output: ArrayLike, threshold: float, scale_x: float, scale_y: float, iou: float = 0.45
) -> list[Detection]:
    """Ultralytics YOLOv8 ONNX output (1, 4 + classes, anchors) -> detections after NMS."""
    import numpy as np

    arr = np.asarray(output, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[0]
    if arr.ndim != 2 or arr.shape[0] < 5:
        raise ValueError(f"expected a YOLOv8 output (1, 4 + classes, anchors), got {arr.shape}")
    preds = arr.T  # (anchors, 4 + classes)
    scores = preds[:, 4:]
    labels = scores.argmax(axis=1)
    best = scores[np.arange(len(labels)), labels]
    keep = best >= threshold
    if not keep.any():
        return []
    boxes, best, labels = preds[keep, :4], best[keep], labels[keep]
    x0 = (boxes[:, 0] - boxes[:, 2] / 2) * scale_x
    y0 = (boxes[:, 1] - boxes[:, 3] / 2) * scale_y
    w, h = boxes[:, 2] * scale_x, boxes[:, 3] * scale_y
    chosen = _nms(np.stack([x0, y0, x0 + w, y0 + h], axis=1), best, iou)
    return [Detection(float(x0[i]), float(y0[i]), float(x0[i] + w[i]), float(y0[i] + h[i]),
                      float(best[i]), int(labels[i])) for i in chosen]


def _nms(boxes: Floats, scores: Floats, iou: float) -> list[int]:
    """Greedy non-maximum suppression (class-agnostic), indices best first: OpenCV's
    ``cv2.dnn.NMSBoxes`` on (x, y, width, height) boxes, dropping a box whose IoU with a kept
    one exceeds ``iou``."""
    try:
        import cv2
    except ImportError:
        raise BackendUnavailable(
            "OpenCV is not installed: pip install 'opencv-python-headless>=4.8,<5' "
            "(or the pibench[vision] extra)") from None
    rects = [(float(x0), float(y0), float(x1 - x0), float(y1 - y0)) for x0, y0, x1, y1 in boxes]
    # boxes are already above the caller's threshold; NMSBoxes also drops a score of 0
    kept = cv2.dnn.NMSBoxes(rects, [float(v) for v in scores], 0.0, float(iou))
    return [int(i) for i in (kept.reshape(-1) if hasattr(kept, "reshape") else kept)]
