"""Options of the vision side and of the ``mixed:`` section of a run config (light: pydantic).

A run config gains one optional section::

    mixed:
      source: {kind: generated, width: 640, height: 480, fps: 30}   # default frame source
      vision_alone_s: 10        # phase (a): vision alone, seconds
      settle_s: 1               # phase (c): vision runs this long before the LLM starts
      heartbeat_timeout_s: 10   # vision silent this long: a hang, the process is killed
      workloads: [pp64-tg64]    # LLM workloads run as the LLM side (default: all throughput)
      placements:
        - name: vision-npu+llm-cpu
          detector: {type: hailo, hef: ~/.cache/pibench/hef/yolov8s_h10.hef}
          backend: cpu          # a backend name from `backends:`
        - name: vision-cpu+llm-npu
          detector: {type: hog}
          backend: npu

A placement is just which detector and which backend are used; its ``name`` labels the
table row. Every model here refuses unknown keys (``Options``).
"""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from pydantic import Field, model_validator

from bench.backends.base import Options
from bench.config.types import Name, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

# ---- frame sources -------------------------------------------------------------------------


class GeneratedSource(Options):
    """Synthetic frames: a textured background with moving people-like figures.

    Deterministic: frame k is the same for a given seed, size and k."""

    kind: Literal["generated"] = "generated"
    width: PositiveInt = 640
    height: PositiveInt = 480
    fps: PositiveFloat | None = 30.0
    """Frames per second the source delivers on schedule; a frame not taken before the next
    one is due counts as dropped. None: a fresh frame whenever the detector asks (no drops)."""
    people: NonNegativeInt = 3
    seed: NonNegativeInt = 0


class VideoSource(Options):
    """A video file read through OpenCV, delivered on schedule like a camera."""

    kind: Literal["video"]
    path: str
    fps: PositiveFloat | None = None
    """None: the file's own frame rate (CAP_PROP_FPS)."""
    loop: bool = True
    """Start again at the end of the file (else the vision side ends there)."""
    width: PositiveInt | None = None
    height: PositiveInt | None = None
    """Resize to this size (both or neither)."""

    @model_validator(mode="after")
    def _both_or_neither(self) -> VideoSource:
        if (self.width is None) != (self.height is None):
            raise ValueError("give both width and height to resize the video, or neither")
        return self


class CameraSource(Options):
    """The Raspberry Pi camera through Picamera2 (on a Pi only)."""

    kind: Literal["camera"]
    width: PositiveInt = 640
    height: PositiveInt = 480
    fps: PositiveFloat = 30.0
    camera_num: NonNegativeInt = 0
    format: Literal["RGB888", "BGR888"] = "RGB888"


SourceOptions = Annotated[
    GeneratedSource | VideoSource | CameraSource, Field(discriminator="kind")
]

# ---- detectors -----------------------------------------------------------------------------


class HogDetectorOptions(Options):
    """OpenCV's HOG + linear SVM people detector: on the CPU, ships with OpenCV 4."""

    type: Literal["hog"]
    win_stride: PositiveInt = 8
    padding: NonNegativeInt = 8
    scale: float = Field(default=1.05, gt=1.0, le=2.0)
    hit_threshold: float = 0.0
    resize_width: PositiveInt | None = None
    """Downscale frames to this width before detecting (HOG cost grows with pixels)."""
    threads: PositiveInt | None = None
    """cv2.setNumThreads in the vision process; None leaves OpenCV's default."""


class OnnxDetectorOptions(Options):
    """A YOLO-style ONNX model through onnxruntime on the CPU (the user supplies the file)."""

    type: Literal["onnx"]
    model: str
    input_size: PositiveInt = 640
    score_threshold: float = Field(default=0.25, ge=0.0, le=1.0)
    threads: PositiveInt | None = None
    """onnxruntime intra-op threads; None leaves its default."""


class HailoDetectorOptions(Options):
    """A YOLO HEF with on-chip NMS on the Hailo-10H through the InferModel API."""

    type: Literal["hailo"]
    hef: str
    batch_size: PositiveInt = 1
    timeout_ms: PositiveInt = 1000
    group_id: str = "SHARED"
    """VDevice group: "SHARED" lets the LLM's VDevice use the same chip."""
    score_threshold: float = Field(default=0.3, ge=0.0, le=1.0)


class MockFault(Options):
    """Make the simulated detector fail like the reported mixed-mode crashes."""

    kind: Literal["segfault", "abort", "hang", "raise"]
    after_frames: NonNegativeInt = 0


class MockDetectorOptions(Options):
    """A simulated detector: sleeps a profile's latency. Its figures are labelled simulated."""

    type: Literal["mock"]
    profile: str = "yolov8s-npu"
    """A name in MOCK_PROFILES; the fields below override it."""
    latency_ms: PositiveFloat | None = None
    jitter_ms: NonNegativeFloat | None = None
    power_w: NonNegativeFloat | None = None
    device: Literal["npu", "cpu"] | None = None
    shared_slowdown: PositiveFloat | None = None
    """Latency factor while an LLM runs on the same device (an assumption, not a measurement)."""
    detections: NonNegativeInt = 2
    seed: NonNegativeInt = 0
    fault: MockFault | None = None

    @model_validator(mode="after")
    def _known_profile(self) -> MockDetectorOptions:
        if self.profile not in MOCK_PROFILES:
            raise ValueError(
                f"unknown mock detector profile {self.profile!r}: "
                f"choose one of {', '.join(sorted(MOCK_PROFILES))}"
            )
        return self

    def resolved(self) -> MockProfile:
        """The profile with this detector's overrides applied."""
        out = MockProfile(**MOCK_PROFILES[self.profile])
        if self.latency_ms is not None:
            out["latency_ms"] = self.latency_ms
        if self.jitter_ms is not None:
            out["jitter_ms"] = self.jitter_ms
        if self.power_w is not None:
            out["power_w"] = self.power_w
        if self.device is not None:
            out["device"] = self.device
        if self.shared_slowdown is not None:
            out["shared_slowdown"] = self.shared_slowdown
        return out


class MockProfile(TypedDict):
    """A simulated detector's figures (MOCK_PROFILES), recorded with its results."""

    latency_ms: float
    jitter_ms: float
    power_w: float  # what a frame in the detector adds to the simulated device's power
    device: Literal["npu", "cpu"]
    shared_slowdown: float  # latency factor while an LLM runs on the same device
    source: str
    assumption: str


MOCK_PROFILES: dict[str, MockProfile] = {
    # The Jan 2026 review: YOLO at about 30 fps on the 10H, about 10x the Pi CPU. power_w is
    # what the detector adds, while a frame is in the detector, to the simulated devices' power
    # (the mock meter sums them; on a mock LLM's device the sum is capped at that profile's busy
    # watts, bench.simdevice). shared_slowdown multiplies the latency while an LLM
    # runs on the same device (bench.vision.mixed); the LLM's own factor is in its profile.
    "yolov8s-npu": {
        "latency_ms": 33.3, "jitter_ms": 2.0, "power_w": 2.5, "device": "npu",
        "shared_slowdown": 1.5,
        "source": "simulated: review Jan 2026 (~30 fps on the 10H); power: the 10H "
                  "datasheet's ~2.5 W",
        "assumption": "ASSUMPTION, no published figure: sharing the 10H with an LLM "
                      "(VDevice group SHARED, ROUND_ROBIN) makes each frame 1.5x slower",
    },
    "yolov8s-cpu": {
        "latency_ms": 333.0, "jitter_ms": 20.0, "power_w": 2.5, "device": "cpu",
        "shared_slowdown": 2.0,
        "source": "simulated: review Jan 2026 (CPU ~10x slower than the 10H)",
        "assumption": "ASSUMPTION, no published figure: sharing the four cores with "
                      "llama.cpp makes each frame 2x slower; power_w 2.5 W, about a third of "
                      "the 7.5 W a full 4-core load adds over idle in the pi5-cpu profile",
    },
}

DetectorOptions = Annotated[
    HogDetectorOptions | OnnxDetectorOptions | HailoDetectorOptions | MockDetectorOptions,
    Field(discriminator="type"),
]


def detector_device(detector: HogDetectorOptions | OnnxDetectorOptions | HailoDetectorOptions
                    | MockDetectorOptions) -> str:
    """"npu" or "cpu": where the detector runs (the mock says which device it simulates)."""
    if isinstance(detector, HailoDetectorOptions):
        return "npu"
    if isinstance(detector, MockDetectorOptions):
        return detector.resolved()["device"]
    return "cpu"


# ---- the vision side and the mixed section -------------------------------------------------


class VisionOptions(Options):
    """One vision setup: where frames come from, what detects, how it is watched."""

    source: SourceOptions = Field(default_factory=GeneratedSource)
    detector: DetectorOptions
    heartbeat_timeout_s: PositiveFloat = 10.0
    """No message from the vision process for this long: a hang; the process is killed."""
    start_timeout_s: PositiveFloat = 120.0
    """Time allowed to open the source and load the detector (a HEF load takes seconds)."""
    report_every: PositiveInt = 16
    """Frames per batch of per-frame records sent back to the parent."""

    @property
    def device(self) -> str:
        return detector_device(self.detector)

    @property
    def simulated(self) -> bool:
        return isinstance(self.detector, MockDetectorOptions)


class Placement(Options):
    name: Name
    """Row label in the table, e.g. "vision-npu+llm-cpu"."""
    backend: Name
    """The LLM side: a backend name from the config's `backends:`."""
    detector: DetectorOptions
    source: SourceOptions | None = None
    """None: the mixed section's source."""


class MixedOptions(Options):
    """The ``mixed:`` section of a run config."""

    source: SourceOptions = Field(default_factory=GeneratedSource)
    vision_alone_s: PositiveFloat = 10.0
    settle_s: NonNegativeFloat = 1.0
    heartbeat_timeout_s: PositiveFloat = 10.0
    start_timeout_s: PositiveFloat = 120.0
    workloads: list[Name] | None = None
    """LLM workloads run as the LLM side; None: every throughput workload."""
    placements: list[Placement] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_placements(self) -> MixedOptions:
        names = [p.name for p in self.placements]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"placement name {name!r} is used twice; names must be unique")
        return self

    def vision_for(self, placement: Placement) -> VisionOptions:
        return VisionOptions(
            source=placement.source or self.source,
            detector=placement.detector,
            heartbeat_timeout_s=self.heartbeat_timeout_s,
            start_timeout_s=self.start_timeout_s,
        )
