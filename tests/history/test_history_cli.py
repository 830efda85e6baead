"""``agentd history list|show`` against a home written by a real daemon."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest_asyncio

from .conftest import ROOT, close, daemon_env, new_session, run_turn, spawn


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentd", "history", *args],
        capture_output=True,
        text=True,
        env=daemon_env(home),
        cwd=ROOT,
        timeout=30,
        check=False,
    )


@pytest_asyncio.fixture
async def prepared(home: Path, workspace: Path) -> list[str]:
    """Three records: a tool turn, a failed turn, a plain one (newest); returns ids, oldest
    first."""
    client = await spawn(home, workspace)
    ids = []
    try:
        for prompt in ("first chat script:two_tools", "second chat", "third chat"):
            sid = await new_session(client)
            await run_turn(client, sid, prompt)
            if prompt == "second chat":
                await run_turn(client, sid, "it fails script:error_rate_limited")
            ids.append((await client.call("session.get", {"session_id": sid}))["activeSessionId"])
    finally:
        assert await close(client) == 0
    return ids


def test_list(home: Path, prepared: list[str]) -> None:
    done = cli(home, "list")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line[:8] for line in lines[:3]] == [i[:8] for i in reversed(prepared)]
    assert lines[0].endswith("2 msgs  third chat")
    assert lines[1].endswith("3 msgs  it fails script:error_rate_limited")  # the latest prompt
    assert lines[-1] == "(3 of 3)"

    paged = cli(home, "list", "--limit", "2")
    assert paged.returncode == 0
    assert paged.stdout.splitlines()[-1] == "(2 of 3; next: --cursor 2)"
    rest = cli(home, "list", "--limit", "2", "--cursor", "2")
    assert rest.stdout.splitlines() == [lines[2], "(3 of 3)"]
    past = cli(home, "list", "--cursor", "50")
    assert (past.returncode, past.stdout) == (0, "(3 of 3)\n")

    as_json = json.loads(cli(home, "list", "--json").stdout)
    assert as_json["total"] == 3 and as_json["next_cursor"] is None
    assert [s["id"] for s in as_json["sessions"]] == list(reversed(prepared))


def test_show(home: Path, prepared: list[str]) -> None:
    oldest, failed, newest = prepared
    done = cli(home, "show", oldest[:8])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"first chat script:two_tools  ({oldest}, scripted/echo)\n")
    assert "\n[user]\nfirst chat script:two_tools\n" in done.stdout
    assert "\n[tool]\n" in done.stdout

    shown = cli(home, "show", failed)
    assert "\n[user] (failed turn)\nit fails script:error_rate_limited" in shown.stdout
    assert "\n[user]\nsecond chat\n" in shown.stdout

    last = cli(home, "show", "last")
    assert last.returncode == 0
    assert last.stdout.splitlines()[0] == f"third chat  ({newest}, scripted/echo)"

    record = json.loads(cli(home, "show", oldest, "--json").stdout)
    assert record["id"] == oldest
    assert [m["role"] for m in record["messages"]] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "assistant",
    ]
    assert record["messages"][1]["tool_calls"][0]["name"] == "bash"
    failed_json = json.loads(cli(home, "show", failed, "--json").stdout)
    assert [m.get("failed_turn", False) for m in failed_json["messages"]] == [
        False,
        False,
        True,
    ]


def test_show_unknown_and_empty(home: Path, prepared: list[str]) -> None:
    done = cli(home, "show", "nope")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == "agentd history: no saved chat matched id: nope\n"

    empty = home.parent / "empty-home"
    for args in (("show", "last"), ("show", "last", "--json")):
        done = cli(empty, *args)
        assert done.returncode == 1
        assert done.stderr == "agentd history: no saved chat history yet\n"
    listed = cli(empty, "list")
    assert (listed.returncode, listed.stdout) == (0, "(0 of 0)\n")
