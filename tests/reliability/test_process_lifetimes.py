"""Issue 10 items 15 and 16: every process a tool starts ends with its tool and with the daemon,
however the daemon dies; SIGHUP is a clean shutdown; an orphaned daemon notices on its own."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from agentd.client import AgentdClient
from tests.history.conftest import close, daemon_env, record_files, serve_args, spawn

SCRIPTS = Path(__file__).parent / "scripts"
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")


def alive(pid: int) -> bool:
    """Running (a zombie has ended: only its parent's bookkeeping is left)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def until_gone(pid: int, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while alive(pid):
            await asyncio.sleep(0.01)


async def read_pid(path: Path, timeout: float = 10.0) -> int:
    async with asyncio.timeout(timeout):
        while not path.exists() or not path.read_text().strip():
            await asyncio.sleep(0.01)
    return int(path.read_text())


async def test_background_jobs_end_with_their_tool(tmp_path: Path) -> None:
    home, workspace = tmp_path / "home", tmp_path / "ws"
    workspace.mkdir()
    client = await spawn(home, workspace, scripts_dirs=[SCRIPTS])
    try:
        session_id = await client.create_session(model="bash_leaves_jobs")
        sent = await client.send(session_id, "go")
        events = await client.turn_events(sent["turn_id"], timeout=30)
        assert "session.completed" in [e["type"] for e in events]
        for name in ("bg.pid", "escaped.pid"):
            await until_gone(await read_pid(workspace / name))
    finally:
        assert await close(client) == 0


async def test_tools_die_with_a_killed_daemon(tmp_path: Path) -> None:
    home, workspace = tmp_path / "home", tmp_path / "ws"
    workspace.mkdir()
    client = await spawn(home, workspace, scripts_dirs=[SCRIPTS])
    session_id = await client.create_session(model="bash_runs_long")
    await client.send(session_id, "go")
    pids = [await read_pid(workspace / n) for n in ("bg.pid", "main.pid")]
    await client.call("system.ping", timeout=10)  # the spawn has returned: the group is known
    client.process.kill()  # SIGKILL: no handler runs
    await asyncio.wait_for(client.process.wait(), 10)
    for pid in pids:
        await until_gone(pid)


async def test_sighup_is_a_clean_shutdown(tmp_path: Path) -> None:
    home, workspace = tmp_path / "home", tmp_path / "ws"
    workspace.mkdir()
    client = await spawn(home, workspace, scripts_dirs=[SCRIPTS])
    session_id = await client.create_session(model="bash_runs_long")
    await client.send(session_id, "go")
    main = await read_pid(workspace / "main.pid")
    client.process.send_signal(signal.SIGHUP)
    assert await asyncio.wait_for(client.process.wait(), 10) == 0
    await until_gone(main)
    lines = [json.loads(x) for x in record_files(home)[0].read_text().splitlines()]
    assert [x["status"] for x in lines if x["type"] == "turn_end"] == ["interrupted"]


async def test_an_orphaned_daemon_shuts_down(tmp_path: Path) -> None:
    """The parent dies without closing the daemon's stdin (we hold the pipe): it exits anyway."""
    home, workspace = tmp_path / "home", tmp_path / "ws"
    workspace.mkdir()
    pid_file = tmp_path / "daemon.pid"
    code = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-m', 'agentd', 'serve', *sys.argv[2:]])\n"
        "open(sys.argv[1], 'w').write(str(p.pid))\n"
        "import os, time\n"
        "while not os.path.exists(sys.argv[1] + '.go'):\n"
        "    time.sleep(0.01)\n"
    )
    wrapper = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        str(pid_file),
        *serve_args([SCRIPTS]),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=daemon_env(home),
        cwd=str(workspace),
    )
    client = AgentdClient(wrapper, "lsp")
    daemon = await read_pid(pid_file, timeout=20)
    await client.call("system.ping", timeout=20)  # it serves...
    Path(f"{pid_file}.go").touch()  # ...then its parent exits; we keep its pipes open
    await until_gone(wrapper.pid, timeout=20)
    await until_gone(daemon)  # it notices its parent died
    if wrapper.stdin is not None:
        wrapper.stdin.close()
    await asyncio.wait_for(wrapper.wait(), 10)
