"""Helpers for the history tests: real daemons on a private ``AGENTD_HOME``, over real pipes.

Every test here drives ``python -m agentd serve`` as a child process (no mocks) and then looks at
what reached the disk with the store's own reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from agentd.client import AgentdClient, Event
from agentd.store import RecordView, read_record

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_SCRIPTS = ROOT / "fixtures" / "scripts"
TERMINAL = ("session.completed", "session.interrupted", "session.error")
#: Variables that would change which providers or scripts a daemon sees.
_SCRUBBED_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENROUTER_API_KEY",
    "AGENTD_SCRIPTS_DIR",
    "AGENTD_LOG_LEVEL",
    "AGENTD_HOME",
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    (root / "README.md").write_text("alpha\nbeta\n")
    return root


def daemon_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["AGENTD_HOME"] = str(home)
    env.update(extra or {})
    return env


def serve_args(scripts_dirs: Sequence[Path] = ()) -> list[str]:
    args = ["--scripts-dir", str(FIXTURE_SCRIPTS)]
    for directory in scripts_dirs:
        args += ["--scripts-dir", str(directory)]
    return args


async def spawn(
    home: Path,
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    scripts_dirs: Sequence[Path] = (),
    extra_args: Sequence[str] = (),
    stderr: int | None = None,
) -> AgentdClient:
    """A daemon on ``home`` (fixture scripts available); waits until it answers a ping."""
    client = await AgentdClient.spawn(
        [*serve_args(scripts_dirs), *extra_args],
        env=daemon_env(home, env),
        cwd=str(cwd),
        stderr=stderr,
    )
    await client.call("system.ping", timeout=20)
    return client


async def spawn_wrapped(
    home: Path,
    cwd: Path,
    prelude: str,
    *,
    stderr: int | None = None,
) -> AgentdClient:
    """A daemon started through ``python -c PRELUDE`` that then ``execv``s ``agentd serve``:
    the prelude sets process attributes (rlimits, umask) that survive the exec."""
    code = (
        "import os, sys\n"
        f"{prelude}\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'agentd', 'serve', *sys.argv[1:]])\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        *serve_args(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        env=daemon_env(home),
        cwd=str(cwd),
    )
    client = AgentdClient(process, "lsp")
    await client.call("system.ping", timeout=20)
    return client


async def close(client: AgentdClient) -> int:
    """Close stdin and wait (bounded) for a clean exit."""
    return await client.close(timeout=10)


async def new_session(client: AgentdClient, **params: Any) -> str:
    """Create a session and consume its ``state.changed`` event."""
    session_id = await client.create_session(**params)
    await client.events_until(lambda e: e["type"] == "state.changed", timeout=10)
    return session_id


async def run_turn(
    client: AgentdClient, session_id: str, text: str, timeout: float = 20
) -> tuple[str, list[Event]]:
    """Send a prompt and collect the turn's events up to its ``ready``; returns the terminal
    event type and the events."""
    sent = await client.send(session_id, text)
    events = await client.turn_events(sent["turn_id"], timeout=timeout)
    ends = [e for e in events if e["type"] in TERMINAL]
    assert len(ends) == 1, [e["type"] for e in events]
    return ends[0]["type"], events


def record_files(home: Path) -> list[Path]:
    """Every ``rollout-*.jsonl`` under the home's sessions directory."""
    root = home / "sessions"
    return sorted(root.rglob("rollout-*.jsonl")) if root.exists() else []


def only_record(home: Path) -> RecordView:
    files = record_files(home)
    assert len(files) == 1, files
    return read_record(files[0])


def user_texts(view: RecordView) -> list[str]:
    return [m.text for m in view.messages if m.role == "user"]


def complete_lines(data: bytes) -> tuple[list[bytes], bytes]:
    """The newline-terminated lines of a file and the (possibly empty) piece after the last."""
    pieces = data.split(b"\n")
    return pieces[:-1], pieces[-1]


def assert_all_lines_json(path: Path) -> bytes:
    """Every complete line of ``path`` is a JSON object; returns the torn tail (maybe b"")."""
    lines, tail = complete_lines(path.read_bytes())
    for number, line in enumerate(lines, start=1):
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise AssertionError(f"{path}: line {number} is not JSON: {line[:200]!r}") from exc
        assert isinstance(value, dict), (path, number)
    return tail


def process_tree(pid: int) -> list[int]:
    """``pid``'s descendants (children first), from ``/proc``; empty if it is gone."""
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            with contextlib.suppress(OSError):
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
                for child in map(int, children):
                    if child not in found:
                        found.append(child)
                        pending.append(child)
    return found


async def crash(client: AgentdClient, timeout: float = 10) -> None:
    """SIGKILL the daemon, then its leftover tool processes (each runs in its own process group).

    The daemon is stopped first so it cannot start a tool between the listing and the kill; a
    stopped process that is killed dies exactly where it was, like any crash.
    """
    process = client.process
    pid = process.pid
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGSTOP)
        async with asyncio.timeout(timeout):
            while _state(pid) not in ("T", "t", "Z", None):
                await asyncio.sleep(0.002)
    children = process_tree(pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    await asyncio.wait_for(process.wait(), timeout)
    for child in children:
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(child, signal.SIGKILL)
    # every byte the daemon wrote before it died is read before anyone looks at the responses
    await asyncio.wait_for(client.closed.wait(), timeout)
    if client.process.stdin is not None:
        client.process.stdin.close()


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def all_text(paths: Iterable[Path]) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in paths)
