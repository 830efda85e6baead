"""Any str, any model: a non-negative int, never an exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentd.tokens import TokenCounter, estimate

FRAGMENTS = st.one_of(
    st.text(),
    # Hypothesis leaves surrogates out of text() unless they are its only alphabet, so mix by hand.
    st.lists(st.one_of(st.characters(), st.characters(categories=["Cs"]))).map("".join),
    st.sampled_from(
        [
            "<|endoftext|>",
            "<|endofprompt|>",
            "<|fim_prefix|>",
            "<|im_start|>",
            "\x00",
            "\ud83d\ude42",
            "\ufffd",
            " " * 5000,
            "\r\n" * 100,
            "東京" * 100,
            "a" * 5000,
        ]
    ),
)
TEXTS = st.lists(FRAGMENTS, max_size=12).map("".join)
MODELS = st.one_of(
    st.none(),
    st.sampled_from(["gpt-4o", "gpt-4", "o3-mini", "claude-sonnet-4-5", "text-embedding-3-small"]),
    st.text(max_size=30),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS, model=MODELS)
def test_any_text_counts(counter: TokenCounter, text: str, model: str | None) -> None:
    n = counter.count(text, model)
    assert isinstance(n, int)
    assert n >= 0
    assert (n == 0) == (text == "") or counter.source_for(model) == "estimate"


@given(text=TEXTS)
def test_estimate_never_raises(text: str) -> None:
    assert estimate(text) >= 0
