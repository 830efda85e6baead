"""``agentd chat`` and its neighbours under shell habits: pipes closed early, Ctrl-C at any
moment, timeouts, resuming, approvals, exit codes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import agentd, assert_no_traceback


def popen(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "agentd", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        env=env,
    )


def read_some(stream: object, deadline_s: float = 30) -> bytes:
    """Block (bounded) until the child writes its first bytes."""
    assert hasattr(stream, "read")
    deadline = time.monotonic() + deadline_s
    first = b""
    while not first and time.monotonic() < deadline:
        first = stream.read(1)
    return first


def test_rounds_are_separated_by_a_blank_line(env: dict[str, str]) -> None:
    done = agentd("chat", "--model", "tool_call", "look", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Let me look.\n\nHere is what I found:")
    assert "[tool] read_file" in done.stderr


def test_prompt_words_are_joined(env: dict[str, str]) -> None:
    done = agentd("chat", "hello", "there", env=env)
    assert done.stdout == "You said: hello there\n"


def test_an_oversize_prompt_reports_message_too_large(env: dict[str, str]) -> None:
    done = agentd("chat", "--max-message-size", "1000", "a" * 2000, env=env)
    assert done.returncode == 1
    assert "message too large" in done.stderr
    assert_no_traceback(done.stderr)


def test_timeout_gives_up_with_124(env: dict[str, str]) -> None:
    done = agentd("chat", "--timeout", "0.5", "--model", "hang", "wait", env=env)
    assert done.returncode == 124
    assert "no answer within 0.5 s" in done.stderr
    assert_no_traceback(done.stderr)


def test_continue_and_resume(env: dict[str, str]) -> None:
    assert agentd("chat", "-c", "nothing yet", env=env).returncode == 1
    assert agentd("chat", "first", env=env).returncode == 0
    assert agentd("chat", "--continue", "second", env=env).returncode == 0
    shown = json.loads(agentd("history", "show", "last", "--json", env=env).stdout)
    assert [m["text"] for m in shown["messages"] if m["role"] == "user"] == ["first", "second"]
    assert agentd("chat", "--resume", shown["id"][:8], "third", env=env).returncode == 0
    listing = json.loads(agentd("history", "list", "--json", env=env).stdout)
    assert listing["total"] == 1 and listing["sessions"][0]["messageCount"] == 6
    missing = agentd("chat", "--resume", "nosuchid", "hi", env=env)
    assert missing.returncode == 1
    assert "no saved chat matched id: nosuchid (history_not_found)" in missing.stderr


def test_read_only_refuses_commands(env: dict[str, str]) -> None:
    done = agentd("chat", "--approval-policy", "read_only", "--model", "bash", "go", env=env)
    assert done.returncode == 0, done.stderr
    assert "[tool failed] bash" in done.stderr


def test_ask_without_a_terminal_denies(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agentd", "chat", "--approval-policy", "ask", "--model", "bash"],
        input="go",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        start_new_session=True,  # no controlling terminal: /dev/tty cannot be opened
    )
    assert done.returncode == 0, done.stderr
    assert "no terminal to ask for approval" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["chat", "--model", "slow", "story"],
        ["chat", "--json", "--model", "slow", "story"],
        ["history", "list"],
        ["schema"],
        ["models"],
    ],
)
def test_a_closed_pipe_ends_quietly(env: dict[str, str], args: list[str]) -> None:
    for prompt in ("one", "two", "three"):  # history to list
        assert agentd("chat", prompt, env=env).returncode == 0
    piped = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m agentd {" ".join(args)} | head -c 1'],
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert len(piped.stdout) == 1
    assert_no_traceback(piped.stderr)
    assert piped.stderr == b"", piped.stderr


def test_closed_pipe_exit_code(env: dict[str, str]) -> None:
    chat = popen("chat", "--model", "slow", "story", env=env)
    assert chat.stdout is not None and chat.stderr is not None
    assert read_some(chat.stdout)
    chat.stdout.close()
    assert chat.wait(timeout=30) == 141
    assert chat.stderr.read() == b""


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.3, 0.6])
def test_ctrl_c_at_any_moment_never_prints_a_traceback(env: dict[str, str], delay: float) -> None:
    chat = popen("chat", "--model", "slow", "story", env=env)
    time.sleep(delay)  # not an assertion on time: only when the signal lands
    chat.send_signal(signal.SIGINT)
    _, err = chat.communicate(timeout=30)
    # before Python installs its handler, SIGINT kills the interpreter (-2): also quiet
    assert chat.returncode in (130, -signal.SIGINT), err
    assert_no_traceback(err)


def test_a_second_ctrl_c_gives_up(env: dict[str, str], tmp_path: Path) -> None:
    chat = popen("chat", "--model", "hang", "wait", env=env)
    assert chat.stderr is not None
    # the hang script streams nothing: wait until the turn is running by asking the history
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listing = agentd("history", "list", "--json", env=env)
        if json.loads(listing.stdout)["total"]:
            break
    chat.send_signal(signal.SIGINT)
    chat.send_signal(signal.SIGINT)
    _, err = chat.communicate(timeout=30)
    assert chat.returncode == 130
    assert_no_traceback(err)
