"""The plan: which (model, backend, workload) triples run, and which are skipped and why."""

from __future__ import annotations

import pytest

from bench.backends.base import Capabilities
from bench.config.loader import load_config
from bench.errors import UserError
from bench.registry import BACKENDS, backend_capabilities
from bench.runner.plan import build_plan, skipped_lines

MIXED = """\
name: t
models:
  - name: vl
    artifacts: {{cpu: {{gguf: {gguf}}}, cpu-vl: {{gguf: {gguf}, mmproj: {gguf}}}}}
backends:
  - {{name: cpu, type: llama_cpp}}
  - {{name: cpu-vl, type: llama_cpp_vlm}}
workloads:
  - {{name: text, prompt_tokens: 8, gen_tokens: 4}}
  - {{name: look, kind: chat, prompts: ["What is here?"], gen_tokens: 4,
     images: [generated:64x64]}}
  - {{name: cont, kind: completion, prompts: [Once upon], gen_tokens: 4}}
"""


def test_workloads_a_backend_cannot_take_are_skipped_with_the_reason(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(MIXED.format(gguf=tmp_path / "m.gguf"))
    cases, skipped = build_plan(load_config(path))
    assert [c.case_id for c in cases] == ["vl/cpu/text", "vl/cpu/cont", "vl/cpu-vl/text",
                                          "vl/cpu-vl/look"]
    reasons = {s.case_id: s.reason for s in skipped}
    assert reasons == {
        "vl/cpu/look": "backend 'cpu' (llama_cpp) takes no images (not a vision-language "
                       "backend)",
        "vl/cpu-vl/cont": "backend 'cpu-vl' (llama_cpp_vlm) takes no completion workloads "
                          "(raw text prompts)",
    }
    assert skipped_lines(skipped) == [
        f"1 case(s) skipped (vl/cpu/look): {reasons['vl/cpu/look']}",
        f"1 case(s) skipped (vl/cpu-vl/cont): {reasons['vl/cpu-vl/cont']}",
    ]


def test_nothing_left_says_why(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(MIXED.format(gguf=tmp_path / "m.gguf"))
    with pytest.raises(UserError, match=r"nothing to run.*takes no images"):
        build_plan(load_config(path), backends=["cpu"], workloads=["look"])


def test_skipped_lines_group_by_reason():
    from bench.runner.plan import Skipped

    lines = skipped_lines([Skipped(f"m/b/w{i}", "r") for i in range(5)] + [Skipped("x", "q")])
    assert lines == ["5 case(s) skipped (m/b/w0, m/b/w1, m/b/w2, +2 more): r",
                     "1 case(s) skipped (x): q"]


@pytest.mark.parametrize("type_name", sorted(BACKENDS))
def test_declared_capabilities_are_the_backend_classes_own(type_name):
    """The plan reads the flags from the light config module; the Backend class must use
    that very object, or the plan and the runner could disagree."""
    caps = backend_capabilities(type_name)
    assert isinstance(caps, Capabilities)
    try:
        cls = BACKENDS.get(type_name).backend_cls()
    except ImportError as exc:  # a runtime not installed here (never in CI: it has them all)
        pytest.skip(f"{type_name}: {exc}")
    assert cls.capabilities is caps
