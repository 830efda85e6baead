"""Fixtures: a fake OpenAI server on 127.0.0.1 and providers pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from agentd.providers.openai.provider import OpenAIProvider
from tests.providers.openai.fake_server import FakeServer

API_KEY = "sk-test-Zq8vX2mN4pL7rT9wY1bC3dF5"


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours proxy variables; the fake server is local and must be reached directly."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    fake = FakeServer(api_key=API_KEY)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def make_provider(server: FakeServer) -> AsyncIterator[Callable[..., OpenAIProvider]]:
    made: list[OpenAIProvider] = []

    def make(wire: str, **kwargs: Any) -> OpenAIProvider:
        options: dict[str, Any] = {
            "api_key": API_KEY,
            "base_url": server.base_url,
            "wire": wire,
            "connect_timeout": 2.0,
            "stall_timeout": 5.0,
            # exact event sequences: one event per delta, whatever the reads (tested on its own)
            "coalesce": False,
        }
        options.update(kwargs)
        provider = OpenAIProvider(**options)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()
