"""count_async: same numbers as count, with large texts and first loads off the event loop."""

from __future__ import annotations

import threading

import pytest

from agentd.tokens import THREAD_THRESHOLD, TokenCounter, count_async, preload


class RecordingCounter(TokenCounter):
    """Notes the thread each count ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []

    def count(self, text: str, model: str | None) -> int:
        self.threads.append(threading.get_ident())
        return super().count(text, model)


async def test_large_text_is_counted_in_a_thread(counter: TokenCounter) -> None:
    text = 'The context window fills up. 東京 {"k": [1, 2]}\n' * 25_000  # ~1.2 MB
    assert len(text) > THREAD_THRESHOLD
    recording = RecordingCounter()
    recording._loaded = counter._loaded  # reuse the built tables
    loop_thread = threading.get_ident()

    assert await recording.count_async(text, "gpt-4o") == counter.count(text, "gpt-4o")
    assert await recording.count_async("small", "gpt-4o") == 1
    assert recording.threads[0] != loop_thread, "a large text runs in a worker thread"
    assert recording.threads[1] == loop_thread, "a small text with a built table runs inline"


async def test_first_load_happens_in_a_thread() -> None:
    recording = RecordingCounter()
    assert await recording.count_async("hi", "gpt-4") == 1
    assert recording.threads[0] != threading.get_ident()


async def test_failed_table_is_not_retried_in_threads() -> None:
    recording = RecordingCounter()
    recording._sha256["cl100k_base"] = "0" * 64
    assert await recording.count_async("hello world", "gpt-4") == 3  # the estimate
    assert await recording.count_async("hello world", "gpt-4") == 3
    assert recording.threads[1] == threading.get_ident()


@pytest.mark.parametrize("model", ["gpt-4o", "claude-sonnet-4-5"])
async def test_module_functions(model: str) -> None:
    assert await preload(model) == ("tiktoken" if model == "gpt-4o" else "estimate")
    assert await count_async("hello world", model) == 2
