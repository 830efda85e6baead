"""A client that stops reading: agentd neither blocks nor drops anything (PROTOCOL §1)."""

from __future__ import annotations

import asyncio

from agentd.client import AgentdClient

from .conftest import answer_text, new_session, terminal_events


async def test_slow_reader_gets_every_byte_with_chunks_merged(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="flood")
    await daemon.pause_reading()  # nobody reads stdout while the turn streams 40,000 chunks
    send = daemon.pipeline(("session.send", {"session_id": sid, "text": "go"}))[0]
    await asyncio.sleep(2.0)  # the daemon keeps producing while nobody reads
    # the daemon's event loop is still responsive: a ping written now is answered later
    ping = daemon.pipeline(("system.ping", None))[0]
    daemon.resume_reading()
    turn_id = (await asyncio.wait_for(send, 30))["result"]["turn_id"]
    events = await daemon.turn_events(turn_id, timeout=60)
    assert (await asyncio.wait_for(ping, 30))["result"]["ok"] is True
    assert answer_text(events) == "piece " * 40000
    chunks = [e for e in events if e["type"] == "session.stream.chunk"]
    assert len(chunks) < 40000  # merged while the client was not reading
    assert [e["type"] for e in terminal_events(events)] == ["session.completed"]
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
