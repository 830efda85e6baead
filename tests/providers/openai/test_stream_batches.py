"""The provider's read loop, fed reads directly: batches, coalescing, errors, exact integers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentd.providers.base import Done, ProviderError, ProviderEvent, TextDelta, Usage
from agentd.providers.openai.chat import ChatStreamMapper
from agentd.providers.openai.provider import OpenAIProvider


def chunk(text: str) -> bytes:
    return b'data: {"choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n' % text.encode()


FINISH = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'


async def reads(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def run(*pieces: bytes, coalesce: bool) -> list[ProviderEvent]:
    provider = OpenAIProvider(api_key="k", base_url="http://127.0.0.1:9/v1", coalesce=coalesce)
    stream = provider._events(reads(*pieces), ChatStreamMapper(), "test")
    return [event async for event in stream]


async def test_deltas_of_one_read_are_one_event_when_coalescing() -> None:
    body = chunk("a") + chunk("b") + chunk("c")
    assert await run(body, chunk("d") + FINISH, coalesce=True) == [
        TextDelta("abc"),
        TextDelta("d"),
        Done("stop"),
    ]


async def test_one_event_per_delta_without_coalescing() -> None:
    body = chunk("a") + chunk("b") + chunk("c")
    assert await run(body, FINISH, coalesce=False) == [
        TextDelta("a"),
        TextDelta("b"),
        TextDelta("c"),
        Done("stop"),
    ]


async def test_coalescing_never_crosses_another_event() -> None:
    usage = b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n'
    body = chunk("a") + chunk("b") + usage + chunk("c") + FINISH
    assert await run(body, coalesce=True) == [
        TextDelta("ab"),
        Usage(3, 0, 2, 0),
        TextDelta("c"),
        Done("stop"),
    ]


@pytest.mark.parametrize("coalesce", [False, True])
async def test_text_before_a_midstream_error_in_the_same_read_is_delivered(coalesce: bool) -> None:
    error = b'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n'
    events: list[ProviderEvent] = []
    provider = OpenAIProvider(api_key="k", base_url="http://127.0.0.1:9/v1", coalesce=coalesce)
    stream = provider._events(reads(chunk("a") + chunk("b") + error), ChatStreamMapper(), "test")
    with pytest.raises(ProviderError) as caught:
        async for event in stream:
            events.append(event)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "ab"
    assert caught.value.kind == "upstream"


@pytest.mark.parametrize("cut", range(95, 130))
async def test_integers_beyond_64_bits_stay_exact_across_reads(cut: int) -> None:
    """orjson would read 2**70 as a float; a digit run split between two reads still counts."""
    usage = b'data: {"choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":2}}\n\n' % (2**70)
    body = chunk("a") + usage + FINISH
    events = await run(body[:cut], body[cut:], coalesce=False)
    assert Usage(2**70, 0, 2, 0) in events
