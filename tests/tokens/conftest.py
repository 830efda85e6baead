"""Every token test runs with the network closed and tiktoken's download cache empty.

If anything tried to fetch an encoding, ``_refuse`` would raise and record the attempt;
``no_network`` fails the test at teardown if the record is not empty (a test that provokes an
attempt on purpose clears it).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentd.tokens import TokenCounter


class NetworkBlocked(OSError):
    """Raised instead of resolving a name or opening a connection."""


@pytest.fixture(autouse=True)
def no_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    attempts: list[str] = []

    def _refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args[:2]))
        raise NetworkBlocked(f"network access in a token test: {args[:2]!r}")

    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", str(cache))
    monkeypatch.setattr(socket, "getaddrinfo", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    yield attempts
    assert not attempts, f"network attempts: {attempts}"
    assert not list(cache.iterdir()), "something wrote to tiktoken's download cache"


@pytest.fixture(scope="session")
def counter() -> TokenCounter:
    """One counter for the session, so each table is built once (0.3-0.5 s each)."""
    return TokenCounter()
