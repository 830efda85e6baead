"""Fixtures for the store tests: a private home per test and a store on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentd.store import HistoryStore


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> Iterator[HistoryStore]:
    history = HistoryStore(home, fsync="never", refresh_interval=0)
    yield history
    history.close()
