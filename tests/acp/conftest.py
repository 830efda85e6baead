"""Fixtures of the ACP tests: ``agentd acp`` processes with a private home, offline scripts."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from tests.acp.helpers import FIXTURE_SCRIPTS, SCRIPTS, AcpProcess

SpawnAcp = Callable[[], Awaitable[AcpProcess]]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    (root / "README.md").write_text("# Demo\nA readme for the tool call.\n", encoding="utf-8")
    return root


@pytest_asyncio.fixture
async def spawn_acp(tmp_path: Path, workspace: Path) -> AsyncIterator[SpawnAcp]:
    """Start ``agentd acp`` processes (sharing one home); each is closed and checked at the end:
    it exits at stdin EOF with code 0, and every stdout line was a JSON-RPC message."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTD_")}
    env["AGENTD_HOME"] = str(tmp_path / "home")
    env["AGENTD_SCRIPTS_DIR"] = os.pathsep.join((str(SCRIPTS), str(FIXTURE_SCRIPTS)))
    started: list[AcpProcess] = []

    async def start() -> AcpProcess:
        process = await AcpProcess.spawn(
            env, workspace, tmp_path / f"acp-stderr-{len(started)}.log"
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process.returncode is None:
            assert await process.close() == 0
        assert process.violations == []
