"""Issue 10 items 10 and 17: NaN in tool-call arguments, ``images`` of the wrong shape, and
secret shapes in history, logs and tool-output events."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agentd.client import AgentdError
from agentd.text import RedactingFilter, redact
from tests.history.conftest import close, record_files, spawn

SCRIPTS = Path(__file__).parent / "scripts"
SECRETS = {
    "github": "ghp_" + "a1B2" * 9,
    "github_pat": "github_pat_11ABCDEFG0123456789_" + "x" * 40,
    "aws": "AKIA" + "ABCDEFGHIJKLMNOP",
    "anthropic": "sk-ant-api03-" + "Zz9_" * 8,
    "google": "ya29." + "a0AfH6SMB" * 4,
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV",
    "pem": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----",
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_secret_shapes_are_redacted(name: str) -> None:
    secret = SECRETS[name]
    cleaned = redact(f"before {secret} after")
    assert secret not in cleaned and "[REDACTED]" in cleaned
    assert cleaned.startswith("before ")
    assert redact("ghost highway github ask-anything") == "ghost highway github ask-anything"


def test_logs_are_redacted() -> None:
    record = logging.LogRecord(
        "agentd", logging.INFO, __file__, 1, "key %s", (SECRETS["aws"],), None
    )
    assert RedactingFilter().filter(record)
    assert SECRETS["aws"] not in record.getMessage()


async def test_tool_output_events_and_history_are_redacted(tmp_path: Path) -> None:
    home, workspace = tmp_path / "home", tmp_path / "ws"
    workspace.mkdir()
    client = await spawn(home, workspace, scripts_dirs=[SCRIPTS])
    try:
        session_id = await client.create_session(model="leaky_tool")
        sent = await client.send(session_id, "print it")
        events = await client.turn_events(sent["turn_id"], timeout=30)
        completed = [e for e in events if e["type"] == "session.tool.call.completed"]
        assert completed
    finally:
        assert await close(client) == 0
    wire = repr(client.transcript)
    disk = "".join(p.read_text() for p in record_files(home))
    for secret in (
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "AKIAABCDEFGHIJKLMNOP",
        "sk-ant-api03-abcdefghijklmnopqrstuv",
    ):
        assert secret not in wire
        assert secret not in disk


async def test_nan_tool_arguments_keep_every_event(tmp_path: Path) -> None:
    home, workspace = tmp_path / "home", tmp_path / "ws"
    workspace.mkdir()
    (workspace / "a.txt").write_text("alpha\n")
    client = await spawn(home, workspace, scripts_dirs=[SCRIPTS])
    try:
        session_id = await client.create_session(model="nan_args")
        sent = await client.send(session_id, "read")
        events = await client.turn_events(sent["turn_id"], timeout=30)
        types = [e["type"] for e in events]
        assert "session.tool.call.started" in types
        assert "session.tool.call.completed" in types
        assert "session.completed" in types
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # nothing dropped
        state = await client.call("session.get", {"session_id": session_id})
        assert state["pending"] is False
    finally:
        assert await close(client) == 0


@pytest.mark.parametrize("images", ["a.png", {"path": "a.png"}, ["a.png"], [{"path": ""}], [7]])
async def test_images_of_the_wrong_shape_are_invalid_params(tmp_path: Path, images: object) -> None:
    home, workspace = tmp_path / "home", tmp_path / "ws"
    workspace.mkdir()
    client = await spawn(home, workspace)
    try:
        session_id = await client.create_session()
        with pytest.raises(AgentdError) as refused:
            await client.call(
                "session.send", {"session_id": session_id, "text": "x", "images": images}
            )
        assert refused.value.code == -32602
        assert refused.value.data["field"] == "images"
    finally:
        assert await close(client) == 0
