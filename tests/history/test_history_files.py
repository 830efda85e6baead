"""What lands on disk: private modes, a rebuildable index, and no secrets anywhere."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from agentd.client import AgentdClient
from agentd.store import read_record

from .conftest import (
    all_text,
    close,
    daemon_env,
    new_session,
    record_files,
    run_turn,
    spawn,
    spawn_wrapped,
    user_texts,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


async def test_history_is_private_even_with_umask_zero(home: Path, workspace: Path) -> None:
    # umask 0: a mode that relied on the umask would come out world-readable
    client = await spawn_wrapped(home, workspace, "os.umask(0)")
    try:
        for n in range(2):
            sid = await new_session(client)
            assert (await run_turn(client, sid, f"private {n}"))[0] == "session.completed"
        index_files = sorted(home.glob("index.sqlite3*"))
        assert home / "index.sqlite3" in index_files
        for path in index_files:  # the WAL and shared-memory files while the daemon runs
            assert mode(path) == 0o600, path
    finally:
        assert await close(client) == 0
    assert len(record_files(home)) == 2
    assert mode(home) == 0o700
    for root, dirs, files in os.walk(home):
        for name in dirs:
            assert mode(Path(root, name)) == 0o700, Path(root, name)
        for name in files:
            assert mode(Path(root, name)) == 0o600, Path(root, name)


async def test_what_agentd_creates_in_an_existing_home_is_private(
    home: Path, workspace: Path
) -> None:
    """A home that already exists (made by the user with 0755) keeps its mode; what agentd
    creates inside it is private."""
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    client = await spawn(home, workspace)
    try:
        sid = await new_session(client)
        await run_turn(client, sid, "hello")
    finally:
        assert await close(client) == 0
    assert mode(home / "sessions") == 0o700
    assert mode(home / "index.sqlite3") == 0o600
    [path] = record_files(home)
    assert mode(path) == 0o600


def damage(index: Path, how: str) -> None:
    if how == "deleted":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{index}{suffix}").unlink(missing_ok=True)
    elif how == "garbage":
        index.write_bytes(os.urandom(64 * 1024))
    elif how == "header":
        data = bytearray(index.read_bytes())
        data[:100] = b"\xff" * 100
        index.write_bytes(bytes(data))
    elif how == "truncated":
        with index.open("r+b") as handle:
            handle.truncate(max(1, index.stat().st_size // 2))
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["deleted", "garbage", "header", "truncated"])
async def test_index_is_rebuilt_from_the_files(home: Path, workspace: Path, how: str) -> None:
    client = await spawn(home, workspace)
    try:
        for n in range(3):
            sid = await new_session(client)
            assert (await run_turn(client, sid, f"kept {n}"))[0] == "session.completed"
        before = (await client.call("history.list"))["sessions"]
    finally:
        assert await close(client) == 0
    index = home / "index.sqlite3"
    assert index.exists()
    damage(index, how)

    client = await spawn(home, workspace, stderr=subprocess.PIPE)
    try:
        after = await client.call("history.list")
        got = await client.call("history.get", {"last": True})
    finally:
        assert await close(client) == 0
    assert client.process.stderr is not None
    logs = (await asyncio.wait_for(client.process.stderr.read(), 10)).decode()
    if how != "deleted":  # a corrupt index is reported, not silently replaced
        assert "is corrupt" in logs and "rebuilding it" in logs, logs
    assert after["total"] == 3
    assert after["sessions"] == before
    assert got["id"] == before[0]["id"]
    assert {s["title"] for s in after["sessions"]} == {"kept 0", "kept 1", "kept 2"}


OPENAI_SECRET = "sk-test-SECRET123"
OPENROUTER_SECRET = "sk-or-SECRET456"
ENV_SCRIPT = {
    "name": "env_dump",
    "description": "Round 1 runs `env` with bash; round 2 answers.",
    "rounds": [
        {
            "steps": [
                {"text": "Listing the environment."},
                {"tool_call": {"name": "bash", "arguments": {"command": "env"}}},
            ]
        },
        {"steps": [{"text": "Done: {last_tool_result}"}]},
    ],
}


async def test_no_secret_reaches_history_events_or_logs(
    home: Path, workspace: Path, tmp_path: Path
) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "env_dump.json").write_text(json.dumps(ENV_SCRIPT))
    client = await AgentdClient.spawn(
        [
            "--scripts-dir",
            str(scripts),
            "--log-level",
            "DEBUG",
        ],
        env=daemon_env(
            home,
            {
                "OPENAI_API_KEY": OPENAI_SECRET,
                "OPENROUTER_API_KEY": OPENROUTER_SECRET,
                "AGENTD_TEST_MARKER": "visible-marker-789",
            },
        ),
        cwd=str(workspace),
        stderr=subprocess.PIPE,
    )
    assert client.process.stderr is not None
    stderr = asyncio.get_running_loop().create_task(client.process.stderr.read())
    try:
        sid = await new_session(client, provider="scripted", model="env_dump")
        end, events = await run_turn(client, sid, "show me the environment")
        assert end == "session.completed"
        end, _ = await run_turn(client, sid, "and again script:bash")
        assert end == "session.completed"
        await client.call("state.get")
        await client.call("history.list")
        await client.call("history.get", {"last": True})
        await client.call("session.get", {"session_id": sid})
    finally:
        code = await close(client)
    assert code == 0
    logs = (await asyncio.wait_for(stderr, 10)).decode("utf-8", "replace")

    # the check is not vacuous: env ran, its output reached events, history and logs exist
    completed = [e for e in events if e["type"] == "session.tool.call.completed"]
    stdout = completed[0]["payload"]["data"]["executed"]["result"]["stdout"]
    assert "AGENTD_TEST_MARKER=visible-marker-789" in stdout
    files = [p for p in home.rglob("*") if p.is_file()]
    on_disk = all_text(files)
    assert "visible-marker-789" in on_disk
    assert logs.strip()
    [record] = record_files(home)
    assert user_texts(read_record(record)) == ["show me the environment", "and again script:bash"]

    transcript = json.dumps(client.transcript, ensure_ascii=False)
    for secret in (OPENAI_SECRET, OPENROUTER_SECRET, "SECRET123", "SECRET456"):
        assert secret not in on_disk
        assert secret not in transcript
        assert secret not in logs
