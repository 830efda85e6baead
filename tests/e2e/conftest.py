"""Fixtures for the end-to-end tests (helpers live in ``tests.e2e.helpers``).

Every test here runs the real daemon (``python -m agentd serve``) as a child process and talks real
framing over its pipes, through :class:`agentd.client.AgentdClient` or raw bytes. Each daemon gets a
private ``AGENTD_HOME`` and no API keys; its stderr goes to a file in the test's tmp dir.

When a test ends, its daemons are closed (bounded) and three things are checked for each: every
byte written to stdout decoded as framed JSON messages (a stray ``print`` would break this), no
request id was answered twice, and no error message carries a traceback or a path.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import IO

import pytest
import pytest_asyncio

from agentd.client import AgentdClient
from tests.e2e.helpers import (
    EXIT_TIMEOUT_S,
    Framing,
    Spawn,
    assert_errors_are_clean,
    assert_one_response_per_id,
    assert_stdout_was_clean,
)

#: Environment variables that would change which providers or scripts the daemon sees.
_SCRUBBED_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENROUTER_API_KEY",
    "AGENTD_SCRIPTS_DIR",
    "AGENTD_LOG_LEVEL",
)


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def agentd_env(tmp_path: Path) -> dict[str, str]:
    """The daemon's environment: a private home, no API keys, no extra scripts."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["AGENTD_HOME"] = str(tmp_path / "agentd-home")
    return env


@pytest.fixture(params=["lsp", "ndjson"])
def framing(request: pytest.FixtureRequest) -> Framing:
    value: Framing = request.param
    return value


@pytest_asyncio.fixture
async def spawn(agentd_env: dict[str, str], tmp_path: Path) -> AsyncIterator[Spawn]:
    """Start daemons; ``args`` default to ``--framing <framing>``. All are closed and checked."""
    started: list[AgentdClient] = []
    stderr_files: list[IO[bytes]] = []

    async def start(
        framing: Framing = "lsp",
        args: Sequence[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
    ) -> AgentdClient:
        stderr_path = tmp_path / f"agentd-stderr-{len(started)}.log"
        stderr_file = stderr_path.open("wb")
        stderr_files.append(stderr_file)
        client = await AgentdClient.spawn(
            ["--framing", framing] if args is None else list(args),
            framing=framing,
            env=agentd_env if env is None else env,
            stderr=stderr_file.fileno(),
        )
        started.append(client)
        return client

    try:
        yield start
    finally:
        for client in started:
            await client.close(timeout=EXIT_TIMEOUT_S)
        for stderr_file in stderr_files:
            stderr_file.close()
    for client in started:
        assert_stdout_was_clean(client)
        assert_one_response_per_id(client.transcript)
        assert_errors_are_clean(client.transcript)


@pytest_asyncio.fixture
async def client(spawn: Spawn, framing: Framing) -> AgentdClient:
    """One daemon in the test's framing (both framings when the test asks for ``framing``)."""
    return await spawn(framing)


@pytest_asyncio.fixture
async def lsp_client(spawn: Spawn) -> AgentdClient:
    """One daemon speaking LSP framing (for LSP-only behaviour)."""
    return await spawn("lsp")
