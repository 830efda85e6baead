"""``agentd history list|show|rm``: saved conversations, read straight from the store (no
daemon needed). Reading never creates the history directory."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentd.cli import EXIT_FAILED, EXIT_OK
from agentd.config import default_home

if TYPE_CHECKING:
    from agentd.store import HistoryStore


def run_history(args: argparse.Namespace) -> int:
    from agentd.store import HistoryStore, StoreError

    home = default_home()
    if not (home / "sessions").is_dir():
        return _nothing_saved(args)
    store = HistoryStore(home, refresh_interval=0)
    try:
        if args.action == "list":
            result = store.list(args.limit, args.cursor)
            if args.json:
                print(json.dumps(result, indent=2, ensure_ascii=False))
            else:
                _print_list(result)
        elif args.action == "show":
            last = args.id == "last"
            record = store.get(id=None if last else args.id, last=last)
            if args.json:
                print(json.dumps(record, indent=2, ensure_ascii=False))
            else:
                _print_record(record)
        else:
            return _remove(store, args.ids)
    except StoreError as exc:
        print(f"agentd history: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        store.close()
    return EXIT_OK


def _nothing_saved(args: argparse.Namespace) -> int:
    if args.action == "list":
        empty = {"total": 0, "cursor": 0, "limit": args.limit, "sessions": [], "next_cursor": None}
        print(json.dumps(empty, indent=2) if args.json else "(0 of 0)")
        return EXIT_OK
    wanted = [args.id] if args.action == "show" else args.ids
    message = (
        "no saved chat history yet"
        if wanted[0] == "last"
        else f"no saved chat matched id: {wanted[0]}"
    )
    print(f"agentd history: {message}", file=sys.stderr)
    return EXIT_FAILED


def _remove(store: HistoryStore, ids: list[str]) -> int:
    """Delete each record's file; one that a running agentd holds (its lock) is refused."""
    from agentd.store import StoreError

    code = EXIT_OK
    for wanted in ids:
        try:
            record = store.get(last=True) if wanted == "last" else store.get(id=wanted)
        except StoreError as exc:
            print(f"agentd history: {exc.message}", file=sys.stderr)
            code = EXIT_FAILED
            continue
        path = Path(record["rolloutPath"])
        if not _unlink_unless_locked(path):
            print(
                f"agentd history: record {record['id']} is in use by a running agentd; "
                "end that session first",
                file=sys.stderr,
            )
            code = EXIT_FAILED
            continue
        print(f"removed {record['id']}  {record['title']}")
    store.refresh()
    return code


def _unlink_unless_locked(path: Path) -> bool:
    """Take the record's writer lock (as a daemon would) and delete the file while holding it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return True
    finally:
        os.close(fd)


def _print_list(result: dict[str, Any]) -> None:
    for row in result["sessions"]:
        print(f"{row['id'][:8]}  {row['updatedAt']}  {row['messageCount']:>4} msgs  {row['title']}")
    # a cursor past the end shows nothing: never claim more rows than there are
    shown = min(result["cursor"] + len(result["sessions"]), result["total"])
    print(
        f"({shown} of {result['total']}"
        + (f"; next: --cursor {shown})" if result["next_cursor"] else ")")
    )


def _print_record(record: dict[str, Any]) -> None:
    print(f"{record['title']}  ({record['id']}, {record['provider']}/{record['model']})")
    for message in record["messages"]:
        marker = " (failed turn)" if message.get("failed_turn") else ""
        print(f"\n[{message['role']}]{marker}\n{message['text']}")
