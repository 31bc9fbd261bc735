"""The run config: typed models (schema.py) and a YAML loader whose errors point at lines."""

from bench.config.loader import load_config

__all__ = ["load_config"]
