"""Throughput prompts of the length asked, counted as the server counts them (special tokens
included), checked against the server's own count; a case whose prompt differs is labelled
with its real length."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.backends.base import GenerationRequest, ModelRef, collect
from bench.backends.openai import backend as openai_backend
from bench.backends.openai.backend import OpenAIBackend, server_prompt_count
from bench.backends.openai.config import OpenAIArtifact, OpenAIOptions
from bench.report.markdown import legend
from bench.runner.record import prompt_label

FAKES = Path(__file__).parent / "fakes"


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(FAKES))
    import servers as fake_servers

    return fake_servers


def _req(variant: int) -> GenerationRequest:
    return GenerationRequest(kind="throughput", prompt_tokens=40, max_tokens=4, variant=variant)


def _backend(url: str, **opts: Any) -> OpenAIBackend:
    b = OpenAIBackend(OpenAIOptions(base_url=url, force_length=True, **opts))
    b.load(ModelRef("m", None, None, OpenAIArtifact(model="m")))
    return b


def test_llama_server_prompt_counts_its_bos(servers: Any) -> None:
    with servers.FakeServer("llama-server", models=("m",)) as srv:
        b = _backend(srv.url)
        _, stats = collect(b.generate(_req(1)))
        b.close()
    # the fit asked /tokenize with add_special, so the BOS the server adds is in the 40
    tok = [r.body for r in srv.requests if r.path == "/tokenize"]
    assert tok and all(body.get("add_special") is True for body in tok)
    assert stats.prompt_tokens == 40
    assert stats.prompt_tokens_method == "server usage.prompt_tokens"
    gen = [r.body for r in srv.requests if r.path == "/v1/completions"][-1]
    assert len(servers.tokenize(gen["prompt"])) == 39  # + BOS = 40 by the server's count


def test_a_server_that_adds_tokens_the_tokenizer_missed_is_corrected(
        servers: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # a /tokenize that does not count the BOS (llama-server's default, add_special false):
    # the first prompt comes out one token long, the server's count says so, the next fits
    plain = tuple((name, path, (lambda m, t: {"content": t}) if name == "llama-server" else body)
                  for name, path, body in openai_backend._TOKENIZERS)
    monkeypatch.setattr(openai_backend, "_TOKENIZERS", plain)
    with servers.FakeServer("llama-server", models=("m",), usage=False) as srv:
        b = _backend(srv.url, tokenize="llama-server")
        _, first = collect(b.generate(_req(1)))
        b.reset()
        _, second = collect(b.generate(_req(2)))
        b.close()
    assert first.prompt_tokens == 41
    assert first.prompt_tokens_method == (
        "server timings prompt_n + cache_n (its tokenize endpoint counted 40)")
    assert second.prompt_tokens == 40
    assert second.prompt_tokens_method == (
        "server timings prompt_n + cache_n (its tokenize endpoint counted 39)")


def test_the_server_count_is_usage_else_timings() -> None:
    assert server_prompt_count({"prompt_tokens": 257}, {"prompt_n": 5, "cache_n": 1}) == (
        257, "server usage.prompt_tokens")
    assert server_prompt_count(None, {"prompt_n": 255, "cache_n": 2}) == (
        257, "server timings prompt_n + cache_n")
    assert server_prompt_count({}, None) == (None, "unknown: the server sent no usage")


def test_prompt_label_names_the_real_length() -> None:
    assert prompt_label(256, [{"prompt_tokens": 256}, {"prompt_tokens": 256}]) is None  # type: ignore[typeddict-item]
    assert prompt_label(256, [{"prompt_tokens": 257}] * 3) == "prompt 257 tokens"  # type: ignore[typeddict-item]
    assert prompt_label(256, [{"prompt_tokens": 250}, {"prompt_tokens": 262}]  # type: ignore[typeddict-item]
                        ) == "prompt 250-262 tokens"
    assert prompt_label(256, [{"prompt_tokens": None}]) is None  # type: ignore[typeddict-item]
    text = legend([{"labels": ["prompt 257 tokens"], "status": "ok"}])
    assert "prompt N tokens: the prompt the runtime counted" in text


def _runs(url: str, n: int, **opts: Any) -> list[Any]:
    """``n`` throughput generations with the same variants, as two runs of a config make."""
    out = []
    for _ in range(2):
        b = _backend(url, tokenize="llama-server", **opts)
        for variant in range(n):
            b.reset()
            out.append(collect(b.generate(_req(variant)))[1])
        b.close()
    return out


def test_llama_server_evaluates_the_whole_prompt_even_one_from_an_earlier_run(
        servers: Any) -> None:
    # llama-server restores a prompt it saw before from its host-memory cache; the flush alone
    # does not stop it, cache_prompt: false does (see FakeServer.llama_server_eval)
    with servers.FakeServer("llama-server", models=("m",)) as srv:
        stats = _runs(srv.url, 3)
    sent = [r.body for r in srv.requests if r.path == "/v1/completions"
            and r.body["prompt"] != "Flush."]
    assert len(sent) == 6 and all(body["cache_prompt"] is False for body in sent)
    assert [s.prompt_cached_tokens for s in stats] == [0] * 6
    assert [s.internal["prompt_tokens"] for s in stats] == [40] * 6


def test_a_prompt_served_from_the_cache_gives_no_prompt_speed_and_a_label(
        servers: Any) -> None:
    from bench.backends.base import TokenEvent
    from bench.results.metrics import rep_record
    from bench.runner.record import cache_label

    with servers.FakeServer("llama-server", models=("m",)) as srv:
        stats = _runs(srv.url, 2, fresh_context="none")
    sent = [r.body for r in srv.requests if r.path == "/v1/completions"]
    assert sent and all("cache_prompt" not in body for body in sent)
    # the first prompt meets an empty cache; the second shares its first words ("<bos>
    # Sample"); the second run's prompts come back whole from the host cache: only the last
    # token is evaluated
    cached = [s.prompt_cached_tokens for s in stats]
    assert cached[0] == 0 and 0 < cached[1] < 5 and cached[2:] == [39, 39], cached
    reps = [rep_record(i, s, [TokenEvent(t=s.t_request + 2.0, n=1, text="a"),
                              TokenEvent(t=s.t_request + 2.5, n=1, text="b")], keep_text=False)
            for i, s in enumerate(stats)]
    assert [r["prompt_tps"] is None for r in reps[2:]] == [True, True]
    assert [r["internal_prompt_tps"] is None for r in reps[2:]] == [True, True]
    assert all(r["prompt_cached_tokens"] == 39 for r in reps[2:])
    assert reps[0]["prompt_tps"] == 20.0  # 40 tokens, first token after 2 s
    assert cache_label(reps) == "prompt cached in 3/4 reps"
    assert cache_label(reps[:1]) is None
    text = legend([{"labels": ["prompt cached in 3/4 reps"], "status": "ok"}])
    assert "prompt cached in K/N reps" in text
