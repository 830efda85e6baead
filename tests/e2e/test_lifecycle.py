"""Process lifecycle (PROTOCOL §3): every way the daemon is told to go, with its exit code.

Each test has its own daemon. Exits are awaited with a bound (``EXIT_TIMEOUT_S``) that is far
looser than the spec's "about a second", so slow machines do not make these tests flaky.
"""

from __future__ import annotations

import asyncio
import signal

import pytest

from agentd.client import AgentdClient
from tests.e2e.helpers import (
    EXIT_TIMEOUT_S,
    Framing,
    Spawn,
    call_error,
    events_of,
    is_response,
    wait_exit,
)

TURN_ENDS = ("session.completed", "session.interrupted", "session.error")


async def test_stdin_eof_exits_zero(client: AgentdClient) -> None:
    await client.call("system.ping")

    assert await client.close(timeout=EXIT_TIMEOUT_S) == 0


async def test_stdin_eof_during_a_turn_with_a_queued_prompt_exits_zero(
    client: AgentdClient,
) -> None:
    session_id = await client.create_session(model="hang")
    await client.send(session_id, "never answered")
    queued = await client.send(session_id, "waits behind it", enqueue=True)
    assert queued["queued"] is True

    assert await client.close(timeout=EXIT_TIMEOUT_S) == 0


@pytest.mark.parametrize(
    ("signum", "reason"),
    [(signal.SIGTERM, "sigterm"), (signal.SIGINT, "sigint")],
    ids=["sigterm", "sigint"],
)
async def test_signal_announces_state_changed_and_exits_zero(
    client: AgentdClient, signum: signal.Signals, reason: str
) -> None:
    await client.call("system.ping")  # the daemon is serving, so its handlers are installed

    client.process.send_signal(signum)

    assert await wait_exit(client) == 0
    changes = events_of(client.transcript, "state.changed")
    assert [c["payload"]["reason"] for c in changes] == [reason]


async def test_signal_during_a_turn_ends_it_as_interrupted(client: AgentdClient) -> None:
    session_id = await client.create_session(model="hang")
    turn = await client.send(session_id, "never answered")

    client.process.send_signal(signal.SIGTERM)

    assert await wait_exit(client) == 0
    interrupted = events_of(client.transcript, "session.interrupted")
    assert [e["payload"]["turn_id"] for e in interrupted] == [turn["turn_id"]]


async def test_lsp_shutdown_then_exit_exits_zero(client: AgentdClient) -> None:
    assert await client.call("shutdown") is None

    client.notify("exit")

    assert await wait_exit(client) == 0


async def test_exit_without_shutdown_exits_one(client: AgentdClient) -> None:
    await client.call("system.ping")

    client.notify("exit")

    assert await wait_exit(client) == 1


async def test_system_shutdown_announces_interrupts_refuses_and_exits_on_eof(
    client: AgentdClient,
) -> None:
    session_id = await client.create_session(model="hang")
    turn = await client.send(session_id, "never answered")
    start = len(client.transcript)

    result = await client.call("system.shutdown", {"reason": "bye"})

    assert result == {"accepted": True, "reason": "bye"}
    after = client.transcript[start:]
    response_at = next(i for i, m in enumerate(after) if is_response(m))
    announced = events_of(after[:response_at], "state.changed")
    assert [a["payload"]["reason"] for a in announced] == ["bye"]
    ends = await client.turn_events(turn["turn_id"])
    assert [e["type"] for e in ends if e["type"] in TURN_ENDS] == ["session.interrupted"]

    error = await call_error(client, "system.ping")  # answered: still running until EOF
    assert error.reason == "shutting_down"

    assert await client.close(timeout=EXIT_TIMEOUT_S) == 0


async def test_parent_death_given_at_initialize_stops_the_daemon(
    spawn: Spawn, framing: Framing
) -> None:
    parent = await asyncio.create_subprocess_exec("sleep", "60")
    try:
        client = await spawn(framing)
        result = await client.call(
            "initialize", {"processId": parent.pid, "clientInfo": {"name": "e2e"}}
        )
        assert result["serverInfo"]["name"] == "agentd"

        parent.kill()
        await parent.wait()

        await wait_exit(client)
    finally:
        if parent.returncode is None:
            parent.kill()
            await parent.wait()
