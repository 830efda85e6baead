"""Fixtures for the tool tests: a real workspace directory and a registry of the built-ins."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentd.tools.base import ToolContext
from agentd.tools.registry import ToolRegistry, default_registry


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def context(workspace: Path) -> ToolContext:
    return ToolContext(workspace_root=workspace, call_id="call_1")


@pytest.fixture
def registry() -> ToolRegistry:
    return default_registry()
