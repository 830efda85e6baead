"""Bounded property tests: no content or crash point makes the reader raise or invent data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentd.store import HistoryNotFoundError, Journal, Message, SessionMeta, read_record
from agentd.store.reader import parse_bytes

META = SessionMeta("fuzz", "t", "openai", "m", "OFF", "2026-01-01T00:00:00.000Z", "x")
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"])
    | st.sampled_from('\n\r\u2028{}"\\'),
    max_size=40,
)
MESSAGES = st.lists(st.tuples(st.sampled_from(["user", "assistant", "tool"]), TEXT), max_size=12)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(messages=MESSAGES, cut=st.floats(min_value=0, max_value=1))
def test_truncated_file_reads_as_a_prefix(
    tmp_path: Path, messages: list[tuple[str, str]], cut: float
) -> None:
    home = tmp_path / f"h{os.urandom(6).hex()}"
    with Journal.create(home, META, fsync="never") as journal:
        for role, text in messages:
            journal.append(Message(role, text))  # type: ignore[arg-type]
        path = journal.path
    data = path.read_bytes()
    meta_end = data.index(b"\n") + 1
    size = int(cut * len(data))
    with path.open("r+b") as handle:
        handle.truncate(size)

    if size < meta_end:
        with pytest.raises(HistoryNotFoundError):
            read_record(path)
        return
    view = read_record(path)
    texts = [(m.role, m.text) for m in view.messages]
    assert texts == messages[: len(texts)]
    complete_lines = data[:size].count(b"\n") - 1
    assert len(texts) == complete_lines  # every whole line survives, nothing more

    with Journal.open(path, fsync="never") as journal:  # a crash, then the next append
        journal.append(Message("user", "after"))
    after = read_record(path)
    assert after.problems == ()
    assert [(m.role, m.text) for m in after.messages] == [*texts, ("user", "after")]


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=300)
    | st.lists(
        st.sampled_from(
            [
                b"{",
                b"}",
                b"\n",
                b'"type":"message"',
                b'"role":"user"',
                b'"text":"x"',
                b",",
                b":",
                b'{"type":"session_meta","id":"a","title":"","provider":"","model":"","thinkingLevel":"",'
                b'"createdAt":"x"}\n',
                b"\xff",
                b"[" * 50,
                b"1e999999",
                b"null",
            ]
        ),
        max_size=30,
    ).map(b"".join)
)
def test_parser_never_raises_on_garbage(data: bytes) -> None:
    result = parse_bytes(data)
    assert 0 <= result.valid_size <= len(data)
    assert result.valid_size == 0 or data[result.valid_size - 1 : result.valid_size] == b"\n"


def test_deeply_nested_line_is_reported_not_raised() -> None:
    meta = (
        b'{"type":"session_meta","id":"a","title":"","provider":"","model":"",'
        b'"thinkingLevel":"","createdAt":"x"}\n'
    )
    result = parse_bytes(
        meta + b"[" * 100_000 + b"\n" + b'{"type":"turn_start","turn_id":"t","at":"x"}\n'
    )
    assert [p.kind for p in result.problems] == ["unparsable"]
    assert "t" in result.state.turns
