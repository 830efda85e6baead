"""Fixtures for session tests: a real daemon subprocess on the scripted provider."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from agentd.client import AgentdClient, Event

FIXTURE_SCRIPTS = Path(__file__).resolve().parents[2] / "fixtures" / "scripts"
TERMINAL = ("session.completed", "session.interrupted", "session.error")


@pytest.fixture(params=["lsp", "ndjson"])
def framing(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    (root / "README.md").write_text("alpha\nbeta\n")
    return root


@pytest_asyncio.fixture
async def daemon(framing: str, tmp_path: Path, workspace: Path) -> AsyncIterator[AgentdClient]:
    env = {**os.environ, "AGENTD_HOME": str(tmp_path / "home")}
    client = await AgentdClient.spawn(
        ["--scripts-dir", str(FIXTURE_SCRIPTS)],
        framing=framing,  # type: ignore[arg-type]
        env=env,
        cwd=str(workspace),
    )
    try:
        yield client
    finally:
        code = await client.close()
        assert code == 0


def kinds(events: list[Event]) -> list[str]:
    """Event types, with a run of chunk events collapsed into one ``chunk*`` entry."""
    out: list[str] = []
    for event in events:
        name = event["type"]
        if name == "session.stream.chunk":
            name = "chunk*"
            if out and out[-1] == name:
                continue
        elif name == "session.status":
            name = f"status:{event['payload']['status_label']}"
        elif name == "session.message.appended":
            name = f"message:{event['payload']['message']['kind']}"
        out.append(name)
    return out


def answer_text(events: list[Event]) -> str:
    return "".join(
        e["payload"]["chunk"]["answerText"] for e in events if e["type"] == "session.stream.chunk"
    )


def terminal_events(events: list[Event]) -> list[Event]:
    return [e for e in events if e["type"] in TERMINAL]


def first(events: list[Event], type_: str, **match: Any) -> Event:
    for event in events:
        if event["type"] == type_ and all(event["payload"].get(k) == v for k, v in match.items()):
            return event
    raise AssertionError(f"no {type_} {match} in {kinds(events)}")


async def new_session(client: AgentdClient, **params: Any) -> str:
    """Create a session and consume its ``state.changed`` event."""
    session_id = await client.create_session(**params)
    await client.events_until(lambda e: e["type"] == "state.changed")
    return session_id
