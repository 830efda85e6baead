"""The argument parser of every ``agentd`` command, built from one table so that all commands
share a shape: global options before or after the command, an environment section in every
help, the same option types everywhere. Help is plain text (no reStructuredText backticks): it is
what a user reads in a terminal."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NamedTuple

from agentd import __version__
from agentd.cli.options import (
    GLOBAL_OPTIONS,
    add_global_options,
    existing_dir,
    non_negative_int,
    positive_int,
    positive_seconds,
    refuse_global_options,
)

ENVIRONMENT: dict[str, str] = {
    "AGENTD_HOME": "where history and config.toml live (default: the platform's user data "
    "directory, e.g. ~/.local/share/agentd)",
    "AGENTD_LOG_LEVEL": "daemon log level on stderr when --log-level is not given",
    "AGENTD_SCRIPTS_DIR": "directories of scripted-provider scripts, separated by ':'",
    "OPENAI_API_KEY": "enables the openai provider",
    "OPENAI_BASE_URL": "an OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp, ...)",
    "AGENTD_OPENAI_API": "which OpenAI wire to speak: responses or chat",
    "OPENROUTER_API_KEY": "enables the openrouter provider",
}
DAEMON_ENV = tuple(ENVIRONMENT)
PROVIDER_ENV = (
    "AGENTD_SCRIPTS_DIR",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AGENTD_OPENAI_API",
    "OPENROUTER_API_KEY",
)

CHAT_EXIT_CODES = """exit codes:
  0    the turn completed (interactive: the session ended normally)
  1    the turn failed (provider error) or the daemon refused a request
  2    usage error (bad option, empty prompt)
  124  no answer within --timeout
  130  interrupted (Ctrl-C)
  141  stdout was closed early (e.g. piped into head)"""


def environment(names: tuple[str, ...]) -> str:
    """The 'environment:' block of a command's help."""
    if not names:
        return "environment:\n  none of agentd's environment variables change this command"
    width = max(len(name) for name in names)
    lines = [f"  {name:<{width}}  {ENVIRONMENT[name]}" for name in names]
    return "environment:\n" + "\n".join(lines)


def epilog(names: tuple[str, ...], extra: str = "") -> str:
    return environment(names) + (f"\n\n{extra}" if extra else "")


DESCRIPTION = """agentd gives any program an LLM agent as a child process: it serves JSON-RPC 2.0
on stdin/stdout (LSP framing or one JSON value per line, auto-detected).

Run with no command it serves; on a terminal it prints a short hint instead."""

SERVE_OPTIONS = tuple(option.dest for option in GLOBAL_OPTIONS)
CHAT_OPTIONS = tuple(dest for dest in SERVE_OPTIONS if dest != "framing")


class Command(NamedTuple):
    name: str
    help: str
    description: str
    options: tuple[str, ...]
    env: tuple[str, ...]
    add_arguments: Callable[[argparse.ArgumentParser], None]
    extra_epilog: str = ""


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """The command takes no arguments of its own."""


def _chat_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "prompt",
        nargs="*",
        help="the prompt (words are joined with spaces); '-' or nothing on a pipe reads stdin; "
        "nothing on a terminal starts an interactive chat",
    )
    parser.add_argument(
        "--json", action="store_true", help="print every event as one JSON line on stdout"
    )
    parser.add_argument(
        "--provider", help="provider of the new session: scripted, openai, openrouter, ..."
    )
    parser.add_argument("--model", help="model of the session (scripted: the script name)")
    parser.add_argument(
        "--approval-policy",
        choices=("auto", "ask", "read_only"),
        help="auto (the default) runs every tool call, including any shell command the model "
        "writes; ask prompts on the terminal before each command or file change; read_only "
        "refuses them",
    )
    parser.add_argument(
        "--cwd", type=existing_dir, metavar="DIR", help="workspace root for tools (default: .)"
    )
    resume = parser.add_mutually_exclusive_group()
    resume.add_argument(
        "-c",
        "--continue",
        dest="continue_last",
        action="store_true",
        help="continue the most recent saved conversation",
    )
    resume.add_argument(
        "--resume", metavar="ID", help="continue the saved conversation ID (or a unique prefix)"
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=600.0,
        metavar="SECONDS",
        help="give up when a request or a turn takes longer (default: 600)",
    )


def _history_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    env = epilog(("AGENTD_HOME",))
    formatter = argparse.RawDescriptionHelpFormatter
    listing = actions.add_parser(
        "list",
        help="saved conversations, newest first",
        description="List saved conversations, newest first.",
        epilog=env,
        formatter_class=formatter,
    )
    listing.add_argument("--limit", type=positive_int, default=20, help="rows per page (20)")
    listing.add_argument(
        "--cursor", type=non_negative_int, default=0, help="rows to skip (from the last page)"
    )
    listing.add_argument("--json", action="store_true", help="print the history.list result")
    show = actions.add_parser(
        "show",
        help="one conversation's messages",
        description="Print one saved conversation.",
        epilog=env,
        formatter_class=formatter,
    )
    show.add_argument("id", help="record id, a unique prefix of one, or 'last'")
    show.add_argument("--json", action="store_true", help="print the history.get result")
    remove = actions.add_parser(
        "rm",
        help="delete saved conversations",
        description="Delete saved conversations (their files). A record that a running agentd "
        "has open is refused.",
        epilog=env,
        formatter_class=formatter,
    )
    remove.add_argument("ids", nargs="+", metavar="ID", help="record id, unique prefix, or 'last'")
    for action in (listing, show, remove):
        refuse_global_options(action, ())


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


COMMANDS: tuple[Command, ...] = (
    Command(
        "serve",
        "serve JSON-RPC on stdin/stdout (the default)",
        "Serve JSON-RPC 2.0 on stdin/stdout until stdin closes or a signal arrives. Logs go to "
        "stderr only.",
        SERVE_OPTIONS,
        DAEMON_ENV,
        _no_arguments,
    ),
    Command(
        "acp",
        "serve the Agent Client Protocol on stdin/stdout (for editors)",
        "Serve the Agent Client Protocol v1 (one JSON-RPC message per line) on stdin/stdout, "
        "for editors such as Zed, JetBrains IDEs, Neovim and Emacs, over the same sessions, "
        "tools, approvals and history as 'agentd serve'. Logs go to stderr only.",
        CHAT_OPTIONS,
        DAEMON_ENV,
        _no_arguments,
    ),
    Command(
        "chat",
        "chat with a model through a real daemon",
        "Run one prompt (from the arguments or stdin) and stream the answer to stdout, or chat "
        "interactively when stdin is a terminal: Ctrl-C interrupts the running turn, a second "
        "Ctrl-C or Ctrl-D exits.",
        CHAT_OPTIONS,
        DAEMON_ENV,
        _chat_arguments,
        CHAT_EXIT_CODES,
    ),
    Command(
        "history",
        "list, show or delete saved conversations",
        "Read the saved conversations under $AGENTD_HOME (no daemon needed).",
        (),
        ("AGENTD_HOME",),
        _history_arguments,
    ),
    Command(
        "models",
        "list the providers and models a session can use",
        "List the configured providers with their default model, and the scripted provider's "
        "scripts (each is a model name for --model).",
        ("scripts_dir",),
        PROVIDER_ENV,
        _json_flag,
    ),
    Command(
        "tools",
        "list the tools the model can call",
        "List the built-in tools (what tools.list answers) with their descriptions.",
        (),
        (),
        _json_flag,
    ),
    Command(
        "schema",
        "print the JSON Schema of the protocol",
        "Print the JSON Schema of every method's params and result and every event payload "
        "(the committed schema/protocol.json).",
        (),
        (),
        _no_arguments,
    ),
    Command(
        "doctor",
        "check the set-up and say how to fix what is wrong",
        "Show what is configured and where files live, start a daemon to check that it answers, "
        "and name every problem found with its fix. Exit code 1 when something is wrong.",
        ("scripts_dir", "log_level"),
        DAEMON_ENV,
        _no_arguments,
    ),
    Command(
        "demo",
        "watch a real daemon drive a scripted conversation (offline)",
        "Spawn a daemon and print what crosses the wire during a scripted conversation: a "
        "streamed answer, a tool call, a steer, an interrupt and a queued prompt.",
        (),
        (),
        _no_arguments,
    ),
)
BY_NAME = {command.name: command for command in COMMANDS}


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="agentd",
        description=DESCRIPTION,
        epilog=epilog(DAEMON_ENV, "Run 'agentd COMMAND --help' for a command's options."),
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"agentd {__version__}")
    add_global_options(parser, SERVE_OPTIONS, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name,
            help=command.help,
            description=command.description,
            epilog=epilog(command.env, command.extra_epilog),
            formatter_class=formatter,
        )
        sub.add_argument("--version", action="version", version=f"agentd {__version__}")
        command.add_arguments(sub)
        if command.options:
            add_global_options(sub, command.options, top=False)
        refuse_global_options(sub, command.options)
    return parser
