"""Vision workloads and mixed mode: a detector on camera frames while an LLM generates.

``config`` (light: pydantic only) describes frame sources, detectors and the ``mixed:``
section of a run config. ``frames``, ``detectors`` and ``loop`` do the vision work;
``worker`` runs it in its own process so a crash or a hang of the vision side is recorded
as that side's failure and the run goes on; ``mixed`` runs the three phases (vision alone,
LLM alone, both) and ``report`` renders the placement table. Nothing here imports numpy,
OpenCV or hailo_platform at package import time.
"""
