"""Option types and the global options: validated where they are parsed, so a bad value is a
usage error (exit 2) naming the option, never a crash later in the daemon."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any, NamedTuple

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def existing_dir(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"not a directory: {text}")
    return path


def log_level(text: str) -> str:
    level = text.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(LOG_LEVELS)}, got {text!r}")
    return level


class GlobalOption(NamedTuple):
    """An option valid before or after the subcommand (``agentd --log-level debug chat``)."""

    flag: str
    dest: str
    default: Any
    kwargs: dict[str, Any]


GLOBAL_OPTIONS: tuple[GlobalOption, ...] = (
    GlobalOption(
        "--framing",
        "framing",
        "auto",
        {
            "choices": ("auto", "lsp", "ndjson"),
            "help": "wire framing: LSP headers, one JSON value per line, or auto-detect from the "
            "first byte (default: auto)",
        },
    ),
    GlobalOption(
        "--log-level",
        "log_level",
        None,
        {
            "type": log_level,
            "metavar": "LEVEL",
            "help": "daemon log level on stderr: debug, info, warning, error, critical "
            "(default: $AGENTD_LOG_LEVEL, else warning)",
        },
    ),
    GlobalOption(
        "--max-message-size",
        "max_message_size",
        None,
        {
            "type": positive_int,
            "metavar": "BYTES",
            "help": "largest message the daemon accepts, in bytes (default: 64 MiB)",
        },
    ),
    GlobalOption(
        "--scripts-dir",
        "scripts_dir",
        (),
        {
            "type": existing_dir,
            "action": "append",
            "metavar": "DIR",
            "help": "extra directory of scripted-provider scripts, searched before "
            "$AGENTD_SCRIPTS_DIR (repeatable)",
        },
    ),
    GlobalOption(
        "--fsync",
        "fsync",
        "turn",
        {
            "choices": ("always", "turn", "never"),
            "help": "history durability: fsync prompts and turn ends (turn, the default), every "
            "record (always) or nothing (never)",
        },
    ),
    GlobalOption(
        "--approval-timeout",
        "approval_timeout",
        300.0,
        {
            "type": positive_seconds,
            "metavar": "SECONDS",
            "help": "how long a tool call waits for approval before it is denied (default: 300)",
        },
    ),
)
BY_DEST = {option.dest: option for option in GLOBAL_OPTIONS}


def add_global_options(parser: argparse.ArgumentParser, dests: tuple[str, ...], top: bool) -> None:
    """Add the global options named by ``dests``. Defaults are suppressed so that a value given
    before the subcommand is not overwritten by the subcommand's default; ``top`` options land
    under ``top_<dest>`` and are merged by ``merge_globals``."""
    group = parser.add_argument_group("daemon options (valid before or after the command)")
    for dest in dests:
        option = BY_DEST[dest]
        group.add_argument(
            option.flag,
            dest=f"top_{dest}" if top else dest,
            default=argparse.SUPPRESS,
            **option.kwargs,
        )


def merge_globals(args: argparse.Namespace, accepted: tuple[str, ...], command: str) -> str | None:
    """Merge options given before the subcommand into ``args``; fill defaults. Returns an error
    message when an option given before the command does not apply to it."""
    for option in GLOBAL_OPTIONS:
        top = getattr(args, f"top_{option.dest}", None)
        if hasattr(args, f"top_{option.dest}"):
            delattr(args, f"top_{option.dest}")
        if top is not None and option.dest not in accepted:
            return f"{option.flag} does not apply to 'agentd {command}'"
        after = getattr(args, option.dest, None)
        if option.kwargs.get("action") == "append":
            value: Any = tuple(top or ()) + tuple(after or ())
        else:
            value = after if after is not None else top
        setattr(args, option.dest, option.default if value is None else value)
    return None


class NotApplicable(argparse.Action):
    """A global option given after a command it does not apply to: refused by name, instead of
    argparse's generic 'unrecognized arguments' (or, worse, taking its value as a prompt)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        parser.error(f"{option_string} does not apply to '{parser.prog}'")


def refuse_global_options(parser: argparse.ArgumentParser, accepted: tuple[str, ...]) -> None:
    for option in GLOBAL_OPTIONS:
        if option.dest not in accepted:
            parser.add_argument(
                option.flag,
                action=NotApplicable,
                dest=f"refused_{option.dest}",
                default=argparse.SUPPRESS,
                help=argparse.SUPPRESS,
            )
