"""Exact counts from the bundled tables, the model → encoding rules, and the fallback estimate."""

from __future__ import annotations

import pytest

from agentd import tokens
from agentd.tokens import TokenCounter, encoding_for, estimate

# Computed once with tiktoken 0.14 from agentd/data/*.tiktoken.gz and hard-coded here.
SAMPLES = {
    "prose": "The quick brown fox jumps over the lazy dog. It was the best of times, it was the "
    "worst of times.",
    "code": "def fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "json": '{"exit_code": 0, "stdout": "total 8\\ndrwxr-xr-x 2 root root 4096 .\\n", '
    '"truncated": false}',
    "cjk": "東京は日本の首都です。我喜欢学习中文。한국어도 배우고 싶어요.",
    "special": "<|endoftext|> and <|endofprompt|><|fim_prefix|>",
    "emoji": "naïve café 🙂👍🏽",
}
EXPECTED = {
    # name: (o200k_base, cl100k_base)
    "prose": (24, 24),
    "code": (31, 31),
    "json": (38, 39),
    "cjk": (20, 35),
    "special": (20, 20),
    "emoji": (8, 11),
}


def test_hello_world_token_ids(counter: TokenCounter) -> None:
    """The ids tiktoken's own tests publish for "hello world" (cl100k), and o200k's."""
    o200k, cl100k = counter._encoding("o200k_base"), counter._encoding("cl100k_base")
    assert o200k is not None and cl100k is not None
    assert o200k.encode("hello world") == [24912, 2375]
    assert cl100k.encode("hello world") == [15339, 1917]
    assert counter.count("hello world", "gpt-4o") == 2


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_known_counts(counter: TokenCounter, name: str) -> None:
    o200k, cl100k = EXPECTED[name]
    assert counter.count(SAMPLES[name], "gpt-4o") == o200k
    assert counter.count(SAMPLES[name], "gpt-4-turbo") == cl100k


def test_module_functions_use_the_shared_counter() -> None:
    assert tokens.count("hello world", "gpt-4.1-mini") == 2
    assert tokens.source_for("gpt-4.1-mini") == "tiktoken"


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("chatgpt-4o-latest", "o200k_base"),
        ("gpt-4.1", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-4.5-preview", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-5-mini", "o200k_base"),
        ("gpt-5.1-codex-max", "o200k_base"),
        ("o1", "o200k_base"),
        ("o1-preview", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini-high", "o200k_base"),
        ("gpt-oss-120b", "o200k_base"),
        ("codex-mini-latest", "o200k_base"),
        ("GPT-4o", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("openrouter/openai/gpt-5", "o200k_base"),
        ("azure/gpt-4.1", "o200k_base"),
        ("ft:gpt-4o-mini-2024-07-18:org::abc123", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("gpt-4-32k", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("gpt-35-turbo", "cl100k_base"),
        ("ft:gpt-3.5-turbo:org::x", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("text-embedding-ada-002", "cl100k_base"),
        ("openai/text-embedding-3-large", "cl100k_base"),
        # Not OpenAI models, or not known: no exact encoding.
        (None, None),
        ("", None),
        ("claude-sonnet-4-5", None),
        ("anthropic/claude-3.5-sonnet", None),
        ("google/gemini-2.5-pro", None),
        ("meta-llama/llama-3.1-70b-instruct", None),
        ("mistral/gpt-4o", None),
        ("o1x", None),
        ("gpt-4.9", None),
        ("scripted", None),
    ],
)
def test_encoding_for(model: str | None, encoding: str | None) -> None:
    assert encoding_for(model) == encoding


def test_source_for(counter: TokenCounter) -> None:
    assert counter.source_for("gpt-4o") == "tiktoken"
    assert counter.source_for("gpt-3.5-turbo") == "tiktoken"
    assert counter.source_for("claude-sonnet-4-5") == "estimate"
    assert counter.source_for(None) == "estimate"


def test_unknown_models_are_approximated_with_o200k(counter: TokenCounter) -> None:
    text = SAMPLES["cjk"]
    assert counter.count(text, "claude-sonnet-4-5") == counter.count(text, "gpt-4o")
    assert counter.count(text, None) == counter.count(text, "gpt-4o")


def test_without_default_encoding_unknown_models_get_the_estimate() -> None:
    counter = TokenCounter(default_encoding=None)
    assert counter.count(SAMPLES["cjk"], "claude-sonnet-4-5") == estimate(SAMPLES["cjk"])
    assert counter.source_for("claude-sonnet-4-5") == "estimate"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", 0), ("   \n\t ", 0), ("abcd", 1), ("abcde", 2), ("a   b\n\n c", 2), (" " + "x" * 8, 2)],
)
def test_estimate_is_the_reference_heuristic(text: str, expected: int) -> None:
    """ceil(len(collapse_ws(text)) / 4), as in the reference (loaf-behaviour §5.6)."""
    assert estimate(text) == expected


def test_special_tokens_count_as_text(counter: TokenCounter) -> None:
    # Seven ordinary tokens in both encodings, never the single special id, never an error.
    for model in ("gpt-4o", "gpt-4"):
        assert counter.count("<|endoftext|>", model) == 7
        assert counter.count("<|endofprompt|>", model) > 1


def test_surrogates_count_as_replacement_characters(counter: TokenCounter) -> None:
    assert counter.count("a\ud800b", "gpt-4o") == counter.count("a\ufffdb", "gpt-4o")
    assert counter.count("\udfff", "gpt-4") == counter.count("\ufffd", "gpt-4")
    # A surrogate pair written as two code points counts as the character it encodes.
    assert counter.count("\ud83d\ude42", "gpt-4o") == counter.count("🙂", "gpt-4o")


@pytest.mark.parametrize(
    "text",
    [
        " " * 1_100_000,  # o200k's regex gives up on this run; counted in chunks
        "\t" * 1_000_000,
        "a" * 1_000_000,
        "\x00" * 300_000,
        "東" * 300_000,
        "<|endoftext|>" * 50_000,
    ],
    ids=["spaces", "tabs", "letters", "nul", "cjk", "special"],
)
@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4"])
def test_huge_pathological_texts(counter: TokenCounter, text: str, model: str) -> None:
    n = counter.count(text, model)
    assert isinstance(n, int)
    assert 0 < n <= len(text.encode())


def test_chunked_count_is_close_to_exact(counter: TokenCounter) -> None:
    """Where the whole text can be encoded, counting it in chunks is off by at most one per cut."""
    from agentd.tokens import _encoded_length

    enc = counter._encoding("o200k_base")
    assert enc is not None
    text = " " * 900_000  # just under the regex limit
    exact = len(enc.encode(text))
    chunks = [text[i : i + 256 * 1024] for i in range(0, len(text), 256 * 1024)]
    chunked = sum(len(enc.encode(c)) for c in chunks)
    assert abs(chunked - exact) <= len(chunks)
    assert _encoded_length(enc, text) == exact


class StrictUtf8Encoding:
    """Stands in for an Encoding that does not repair surrogates itself (tiktoken 0.14 does)."""

    def encode(self, text: str, **kwargs: object) -> list[int]:
        return list(text.encode("utf-8"))


class BrokenEncoding:
    def encode(self, text: str, **kwargs: object) -> list[int]:
        raise RuntimeError("tokenizer bug")


def test_surrogates_are_repaired_before_encoding() -> None:
    counter = TokenCounter()
    counter._loaded["o200k_base"] = StrictUtf8Encoding()  # type: ignore[assignment]
    assert counter.count("a\ud800", "gpt-4o") == len("a\ufffd".encode())
    assert counter.count("\ud83d\ude42", "gpt-4o") == len("🙂".encode())


def test_an_encoder_failure_gives_the_estimate_and_one_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counter = TokenCounter()
    counter._loaded["o200k_base"] = BrokenEncoding()  # type: ignore[assignment]
    with caplog.at_level("WARNING", logger="agentd.tokens"):
        assert counter.count("hello world", "gpt-4o") == estimate("hello world")
        assert counter.count("hello world", "gpt-4o") == estimate("hello world")
    assert len(caplog.records) == 1
