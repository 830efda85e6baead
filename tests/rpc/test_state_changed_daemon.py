"""``state.changed`` over real pipes: one per create for a client that waits for each answer;
one, listing every new session, for creates written in one go (docs/protocol.md, Events)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from agentd.client import AgentdClient


@pytest_asyncio.fixture
async def client(tmp_path: Path) -> AsyncIterator[AgentdClient]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["AGENTD_HOME"] = str(tmp_path / "home")
    client = await AgentdClient.spawn(["--framing", "ndjson"], framing="ndjson", env=env)
    try:
        yield client
    finally:
        assert await client.close(timeout=10) == 0


def events(client: AgentdClient) -> list[dict[str, Any]]:
    return [m["params"] for m in client.transcript if m.get("method") == "event"]


async def test_a_client_that_waits_for_each_answer_sees_one_snapshot_per_create(
    client: AgentdClient,
) -> None:
    created = [await client.create_session() for _ in range(3)]
    await client.call("system.ping")
    changes = [e for e in events(client) if e["type"] == "state.changed"]
    assert [e["payload"]["session_id"] for e in changes] == created
    assert [e["payload"]["snapshot"]["sessions"]["ids"] for e in changes] == [
        created[:1],
        created[:2],
        created,
    ]


async def test_creates_written_in_one_go_get_the_latest_snapshot_before_their_answers(
    client: AgentdClient,
) -> None:
    await client.call("system.ping")  # the core loads after the first answer
    written: list[bytes] = []
    client.write_raw = written.append  # type: ignore[method-assign]
    futures = [client.start_request("session.create", {})[1] for _ in range(20)]
    del client.write_raw
    client.write_raw(b"".join(written))  # one write: the daemon reads the 20 creates at once
    answers = await asyncio.wait_for(asyncio.gather(*futures), 10)
    created = [answer["result"]["session_id"] for answer in answers]
    await client.call("system.ping")
    changes = [e for e in events(client) if e["type"] == "state.changed"]
    assert len(changes) == 1, [c["payload"]["snapshot"]["sessions"]["count"] for c in changes]
    assert changes[-1]["payload"]["snapshot"]["sessions"]["ids"] == created
    seqs = [e["seq"] for e in events(client)]
    assert seqs == list(range(1, len(seqs) + 1))
    # every answer comes after a snapshot that lists its session
    seen: set[str] = set()
    for message in client.transcript:
        if message.get("method") == "event" and message["params"]["type"] == "state.changed":
            seen.update(message["params"]["payload"]["snapshot"]["sessions"]["ids"])
        elif "result" in message and "session_id" in message["result"]:
            assert message["result"]["session_id"] in seen
