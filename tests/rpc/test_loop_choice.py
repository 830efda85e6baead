"""The event loop is chosen at start: uvloop where installed, the standard loop when told."""

from __future__ import annotations

import importlib.util

import pytest

from agentd.server import loop_factory


def test_agentd_no_uvloop_chooses_the_standard_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTD_NO_UVLOOP", "1")
    assert loop_factory() is None


@pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="uvloop not installed")
def test_uvloop_by_default_where_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTD_NO_UVLOOP", raising=False)
    factory = loop_factory()
    assert factory is not None and factory.__module__.startswith("uvloop")
    monkeypatch.setenv("AGENTD_NO_UVLOOP", "0")  # "0" does not turn it off
    assert loop_factory() is not None
