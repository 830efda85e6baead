"""The ``agentd`` command: ``agentd [serve]`` runs the daemon on stdio; ``agentd chat`` runs one
prompt through a real daemon and streams the answer."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from agentd import __version__


def _add_serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--framing",
        choices=("auto", "lsp", "ndjson"),
        default="auto",
        help="wire framing (default: auto-detect from the first byte)",
    )
    parser.add_argument("--log-level", default=None, help="stderr log level (env AGENTD_LOG_LEVEL)")
    parser.add_argument(
        "--max-message-size", type=int, default=None, help="largest accepted message in bytes"
    )
    parser.add_argument(
        "--scripts-dir",
        action="append",
        type=Path,
        default=[],
        help="extra directory of scripted-provider scripts (repeatable)",
    )
    parser.add_argument(
        "--fsync",
        choices=("always", "turn", "never"),
        default="turn",
        help="history durability: fsync prompts and turn ends (turn), every record, or none",
    )
    parser.add_argument(
        "--approval-timeout",
        type=float,
        default=300.0,
        help="seconds a tool call waits for the client's approval before it is denied",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentd", description=__doc__)
    parser.add_argument("--version", action="version", version=f"agentd {__version__}")
    _add_serve_options(parser)
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve JSON-RPC on stdin/stdout (the default)")
    _add_serve_options(serve)
    commands.add_parser("demo", help="drive a real daemon through a scripted conversation")
    from agentd.history_cli import add_parser as add_history_parser

    add_history_parser(commands)
    chat = commands.add_parser("chat", help="run one prompt and stream the answer")
    chat.add_argument("prompt", nargs="?", default="-", help="the prompt, or - to read stdin")
    chat.add_argument("--json", action="store_true", help="print every event as one JSON line")
    chat.add_argument("--provider", default=None)
    chat.add_argument("--model", default=None, help="model (for scripted: the script name)")
    chat.add_argument("--cwd", default=None, help="workspace root for tools")
    chat.add_argument("--scripts-dir", action="append", type=Path, default=[])
    chat.add_argument(
        "--timeout", type=float, default=600.0, help="give up after this many seconds"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "history":
        from agentd.history_cli import run_history

        return run_history(args)
    if args.command == "demo":
        from agentd.demo import run_demo

        return run_demo()
    if args.command == "chat":
        from agentd.chat import run_chat

        return run_chat(args)
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


if __name__ == "__main__":
    sys.exit(main())
