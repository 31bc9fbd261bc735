"""pibench: benchmark small LLMs on a Raspberry Pi 5 CPU and the Hailo-10H NPU.

Importing ``bench`` never imports a backend or hardware library; backends and meters are
looked up lazily through their registries.
"""

__version__ = "0.1.0"
