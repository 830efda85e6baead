"""``agentd chat`` on a terminal (a pty): line editing, a streamed answer under a status line,
Ctrl-C interrupting the turn, Ctrl-D or a second Ctrl-C exiting, approval questions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .terminal import Terminal

PROMPT = "\n> "


@pytest.fixture
def open_terminal(env: dict[str, str], tmp_path: Path) -> Iterator[object]:
    terminals: list[Terminal] = []

    def start(*args: str) -> Terminal:
        workspace = tmp_path / "workspace"
        workspace.mkdir(exist_ok=True)
        (workspace / "README.md").write_text("hello from the workspace\n")
        terminal = Terminal(["chat", *args], env, cwd=str(workspace))
        terminals.append(terminal)
        terminal.expect("Ctrl-D")
        terminal.expect("> ")
        return terminal

    yield start
    for terminal in terminals:
        terminal.close()


def ask(terminal: Terminal, line: str, answer: str) -> int:
    """Type a prompt; wait for the answer and the next prompt; return where the answer begins."""
    start = len(terminal.text)
    terminal.send(line.encode() + b"\r")
    terminal.expect(answer, start=start)
    terminal.expect(PROMPT, start=terminal.text.index(answer, start))
    return start


def test_a_conversation_then_ctrl_d(open_terminal: object) -> None:
    terminal = open_terminal()  # type: ignore[operator]
    ask(terminal, "hello", "You said: hello")
    start = ask(terminal, "script:tool_call look", "Here is what I found")
    screen = terminal.text[start:]
    assert "thinking..." in screen  # the status line (drawn on stderr, then cleared)
    assert "[tool] read_file" in screen
    assert "Let me look.\n" in screen
    terminal.send(b"\x04")
    assert terminal.wait() == 0


def test_the_session_continues_across_prompts(env: dict[str, str], open_terminal: object) -> None:
    terminal = open_terminal()  # type: ignore[operator]
    ask(terminal, "one", "You said: one")
    ask(terminal, "two", "You said: two")
    terminal.send(b"\x04")
    assert terminal.wait() == 0
    resumed = open_terminal("--continue")  # type: ignore[operator]
    assert "continuing 4 messages" in resumed.text


def test_ctrl_c_interrupts_the_turn_and_the_prompt_comes_back(open_terminal: object) -> None:
    terminal = open_terminal()  # type: ignore[operator]
    start = len(terminal.text)
    terminal.send(b"script:slow a long story\r")
    terminal.expect("This answer", start=start)
    terminal.send(b"\x03")
    terminal.expect("[interrupted]", start=start)
    terminal.expect(PROMPT, start=terminal.text.index("[interrupted]", start))
    ask(terminal, "still here?", "You said: still here?")
    terminal.send(b"\x03")  # Ctrl-C at the prompt exits
    assert terminal.wait() == 130
    assert "Traceback" not in terminal.text


def test_a_second_ctrl_c_exits(open_terminal: object) -> None:
    terminal = open_terminal()  # type: ignore[operator]
    start = len(terminal.text)
    terminal.send(b"script:hang wait\r")
    terminal.expect("thinking...", start=start)
    terminal.send(b"\x03")
    terminal.expect("interrupting...", start=start)
    # the second Ctrl-C lands while the turn ends or at the prompt: either way it exits
    terminal.send(b"\x03")
    assert terminal.wait() == 130
    assert "Traceback" not in terminal.text


def test_approval_questions(open_terminal: object) -> None:
    terminal = open_terminal("--approval-policy", "ask")  # type: ignore[operator]
    start = len(terminal.text)
    terminal.send(b"script:bash run it\r")
    terminal.expect("[N]o: ", start=start)
    assert 'allow bash {"command": "echo hello from bash"}?' in terminal.text[start:]
    terminal.send(b"y\r")
    terminal.expect("hello from bash", start=terminal.text.index("[N]o: ", start) + 6)
    terminal.expect(PROMPT, start=start + 10)

    start = len(terminal.text)
    terminal.send(b"script:bash again\r")
    terminal.expect("[N]o: ", start=start)
    terminal.send(b"n\r")
    terminal.expect("[tool failed] bash: tool call denied", start=start)
    terminal.expect(PROMPT, start=terminal.text.index("[tool failed]", start))

    start = len(terminal.text)
    terminal.send(b"script:bash once more\r")
    terminal.expect("[N]o: ", start=start)
    terminal.send(b"\x03")  # Ctrl-C while asked: the turn ends interrupted
    terminal.expect("[interrupted]", start=start)
    terminal.expect(PROMPT, start=terminal.text.index("[interrupted]", start))
    terminal.send(b"\x04")
    assert terminal.wait() == 0
