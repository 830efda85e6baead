"""``agentd chat`` and ``agentd demo`` as a user runs them: real processes, real daemons."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from .conftest import FIXTURE_SCRIPTS, agentd


def test_chat_streams_the_answer(env: dict[str, str]) -> None:
    result = agentd("chat", "hello there", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "You said: hello there"


def test_chat_reads_the_prompt_from_stdin(env: dict[str, str]) -> None:
    result = agentd("chat", "-", env=env, stdin="from stdin\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "You said: from stdin"


def test_chat_json_prints_every_event(env: dict[str, str]) -> None:
    result = agentd("chat", "--json", "--model", "tool_call", "look", env=env)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert "session.tool.call.started" in types
    assert types[-2:] == ["session.completed", "session.status"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)


def test_chat_exits_non_zero_on_a_provider_error(env: dict[str, str]) -> None:
    result = agentd("chat", "--model", "error_auth", "hi", env=env)
    assert result.returncode == 1
    assert "[error:auth]" in result.stderr


def test_chat_with_an_empty_prompt_is_refused(env: dict[str, str]) -> None:
    result = agentd("chat", "   ", env=env)
    assert result.returncode == 2
    assert "empty" in result.stderr


def test_chat_reports_request_errors(env: dict[str, str]) -> None:
    result = agentd("chat", "--provider", "openai", "hi", env=env)
    assert result.returncode == 1
    assert "provider_unavailable" in result.stderr


def test_ctrl_c_interrupts_the_turn_cleanly(env: dict[str, str]) -> None:
    chat = subprocess.Popen(
        [sys.executable, "-m", "agentd", "chat", "--model", "slow", "tell me a story"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        env=env,
    )
    assert chat.stdout is not None
    deadline = time.monotonic() + 30
    first = b""
    while not first and time.monotonic() < deadline:
        first = chat.stdout.read(1)  # unbuffered: returns as soon as the answer starts
    chat.send_signal(signal.SIGINT)
    out, err = chat.communicate(timeout=30)
    assert chat.returncode == 130, err
    assert b"[interrupted]" in err
    assert (first + out).startswith(b"This")


def test_demo_runs_offline(env: dict[str, str]) -> None:
    result = agentd("demo", env=env)
    assert result.returncode == 0, result.stderr
    for needle in (
        "session.tool.call.started",
        "steer applied; continuing...",
        "session.interrupted",
        "queued (1)",
        "daemon exited with code 0",
    ):
        assert needle in result.stdout


def test_serve_with_a_scripts_dir(env: dict[str, str]) -> None:
    result = agentd(
        "chat", "--scripts-dir", str(FIXTURE_SCRIPTS), "--model", "two_tools", "go", env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Let me check.")
