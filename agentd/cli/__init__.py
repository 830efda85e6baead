"""The ``agentd`` command line: ``agentd [serve]`` runs the daemon; the other commands (chat,
history, models, tools, schema, doctor, demo) are for people at a shell.

Kept light: serving imports only argparse here before the daemon's own start-up; each other
command imports what it needs when it runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

#: Exit codes shared by the commands (documented in ``agentd chat --help``).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_INTERRUPTED, EXIT_PIPE = 0, 1, 2, 124, 130, 141

HINT = """agentd serves JSON-RPC on stdin/stdout for editors and scripts; stdin is a terminal here.
  agentd chat            chat interactively (agentd chat "question" for one answer)
  agentd serve           serve anyway (type NDJSON requests by hand)
  agentd doctor          check the set-up
  agentd --help          every command and option"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a Ctrl-C or a closed stdout ends it quietly with the documented code."""
    try:
        return _run(sys.argv[1:] if argv is None else list(argv))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):  # pragma: no cover - stdout already gone
        pass


def _run(argv: list[str]) -> int:
    if not argv and sys.stdin.isatty():
        print(HINT, file=sys.stderr)
        return EXIT_OK
    from agentd.cli.options import merge_globals
    from agentd.cli.parser import BY_NAME, SERVE_OPTIONS, build_parser

    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "serve"
    spec = BY_NAME[command]
    problem = merge_globals(args, spec.options if command != "serve" else SERVE_OPTIONS, command)
    if problem is not None:
        parser.error(problem)
    if command == "serve":
        return _serve(args)
    if command == "acp":
        return _acp(args)
    if command == "chat":
        from agentd.cli.chat import run_chat

        return run_chat(args)
    if command == "history":
        from agentd.cli.history import run_history

        return run_history(args)
    if command == "doctor":
        from agentd.cli.doctor import run_doctor

        return run_doctor(args)
    if command == "demo":
        from agentd.demo import run_demo

        return run_demo()
    from agentd.cli import info

    return info.run(command, args)


def _serve(args: argparse.Namespace) -> int:
    from agentd.config import settings_from_env
    from agentd.server import serve

    settings = settings_from_env(
        framing=args.framing,
        log_level=args.log_level,
        max_message_size=args.max_message_size,
        script_dirs=tuple(args.scripts_dir),
        fsync=args.fsync,
        approval_timeout_s=args.approval_timeout,
    )
    return serve(settings)


def _acp(args: argparse.Namespace) -> int:
    """``agentd acp``: the serve options, with NDJSON framing (ACP's only one)."""
    from agentd.acp_server import serve_acp
    from agentd.config import settings_from_env

    settings = settings_from_env(
        framing="ndjson",
        log_level=args.log_level,
        max_message_size=args.max_message_size,
        script_dirs=tuple(args.scripts_dir),
        fsync=args.fsync,
        approval_timeout_s=args.approval_timeout,
    )
    return serve_acp(settings)


if __name__ == "__main__":
    sys.exit(main())
