"""One shape for every command: global options before or after the command, every value
validated (usage errors exit 2 naming the option), help that names the environment."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agentd.cli.parser import COMMANDS, DAEMON_ENV

from .conftest import ROOT, agentd, assert_no_traceback
from .terminal import Terminal

PING = b'{"jsonrpc":"2.0","id":1,"method":"system.ping"}'


def serve(*args: str, env: dict[str, str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "agentd", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=30,
    )


@pytest.mark.parametrize("args", [["--framing", "lsp", "serve"], ["serve", "--framing", "lsp"]])
def test_framing_applies_before_or_after_serve(env: dict[str, str], args: list[str]) -> None:
    # forced LSP: a JSON line is not a header block, so it is answered as a bad header in LSP
    done = serve(*args, env=env, stdin=PING + b"\n")
    assert done.returncode == 0
    assert done.stdout.startswith(b"Content-Length: ")
    assert b"invalid header" in done.stdout


@pytest.mark.parametrize(
    "args", [["--max-message-size", "1000", "serve"], ["serve", "--max-message-size", "1000"]]
)
def test_max_message_size_applies_before_or_after_serve(
    env: dict[str, str], args: list[str]
) -> None:
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "system.ping", "x": "a" * 2000})
    done = serve(*args, env=env, stdin=big.encode() + b"\n" + PING + b"\n")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["error"]["data"]["reason"] == "message_too_large"
    assert lines[1]["result"]["ok"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-message-size", "-1"], "--max-message-size: must be at least 1"),
        (["--max-message-size", "0"], "--max-message-size: must be at least 1"),
        (["serve", "--max-message-size", "lots"], "not a whole number"),
        (["--scripts-dir", "/nonexistent"], "--scripts-dir: not a directory: /nonexistent"),
        (["serve", "--scripts-dir", "/nonexistent"], "not a directory"),
        (["--log-level", "loud"], "--log-level: must be one of"),
        (["--approval-timeout", "0"], "--approval-timeout: must be a positive"),
        (["--approval-timeout", "nan"], "must be a positive"),
        (["--fsync", "sometimes"], "invalid choice"),
        (["chat", "--timeout", "-3", "hi"], "--timeout: must be a positive"),
        (["chat", "--cwd", "/nonexistent", "hi"], "--cwd: not a directory"),
        (["chat", "--approval-policy", "maybe", "hi"], "invalid choice"),
        (["chat", "--continue", "--resume", "x", "hi"], "not allowed with argument"),
        (["history", "list", "--limit", "0"], "--limit: must be at least 1"),
        (["history", "list", "--cursor", "-1"], "--cursor: must be 0 or more"),
        (["--framing", "lsp", "chat", "hi"], "--framing does not apply to 'agentd chat'"),
        (["chat", "--framing", "lsp", "hi"], "--framing does not apply to 'agentd chat'"),
        (["tools", "--log-level", "debug"], "--log-level does not apply to 'agentd tools'"),
        (["--fsync", "never", "history", "list"], "--fsync does not apply to 'agentd history'"),
        (["history", "list", "--scripts-dir", "/tmp"], "--scripts-dir does not apply"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_options_are_usage_errors(env: dict[str, str], args: list[str], message: str) -> None:
    done = agentd(*args, env=env)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert_no_traceback(done.stderr)
    assert done.stdout == ""


def test_global_options_before_and_after_a_command_combine(env: dict[str, str]) -> None:
    before = agentd("--scripts-dir", str(ROOT / "fixtures" / "scripts"), "models", env=env)
    after = agentd("models", "--scripts-dir", str(ROOT / "fixtures" / "scripts"), env=env)
    assert before.returncode == after.returncode == 0, before.stderr
    assert before.stdout == after.stdout
    assert "  two_tools\n" in before.stdout


def test_version(env: dict[str, str]) -> None:
    from agentd import __version__

    for args in (["--version"], ["chat", "--version"], ["history", "--version"]):
        done = agentd(*args, env=env)
        assert (done.returncode, done.stdout) == (0, f"agentd {__version__}\n")


@pytest.mark.parametrize("command", [c.name for c in COMMANDS] + [None])
def test_help_names_the_environment_and_has_no_backticks(
    env: dict[str, str], command: str | None
) -> None:
    done = agentd(*([command] if command else []), "--help", env=env)
    assert done.returncode == 0, done.stderr
    assert "environment:" in done.stdout
    assert "`" not in done.stdout
    if command in (None, "serve", "chat", "doctor"):
        for name in DAEMON_ENV:
            assert name in done.stdout
    if command == "chat":
        assert "exit codes:" in done.stdout and "130" in done.stdout
        words = " ".join(done.stdout.split())  # help is wrapped to the terminal's width
        assert "--approval-policy" in words and "any shell command" in words
    if command == "history":
        assert "AGENTD_HOME" in done.stdout


def test_every_option_has_help(env: dict[str, str]) -> None:
    from agentd.cli.parser import build_parser

    parsers = [build_parser()]
    seen = []
    while parsers:
        parser = parsers.pop()
        seen.append(parser.prog)
        for action in parser._actions:
            if action.choices and hasattr(action.choices, "values"):
                parsers.extend(action.choices.values())  # subcommands
            elif action.option_strings and action.help is None:
                raise AssertionError(f"{parser.prog} {action.option_strings} has no help")
    assert "agentd history rm" in seen


def test_bare_agentd_on_a_pipe_serves(env: dict[str, str]) -> None:
    done = serve(env=env, stdin=PING + b"\n")
    assert done.returncode == 0
    assert json.loads(done.stdout)["result"]["ok"] is True


def test_bare_agentd_on_a_terminal_prints_a_hint(env: dict[str, str]) -> None:
    terminal = Terminal([], env)
    try:
        assert terminal.wait() == 0
    finally:
        terminal.close()
    assert "agentd chat" in terminal.text and "agentd --help" in terminal.text
