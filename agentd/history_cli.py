"""``agentd history list|show``: read saved records straight from the store (no daemon needed)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agentd.config import default_home


def add_parser(commands: Any) -> None:
    history = commands.add_parser("history", help="list or show saved conversations")
    actions = history.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="saved conversations, newest first")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--cursor", type=int, default=0)
    listing.add_argument("--json", action="store_true", help="print the history.list result")
    show = actions.add_parser("show", help="one conversation's messages")
    show.add_argument("id", help="record id, unique id prefix, or 'last'")
    show.add_argument("--json", action="store_true", help="print the history.get result")


def run_history(args: argparse.Namespace) -> int:
    from agentd.store import HistoryStore, StoreError

    home = default_home()
    if not (home / "sessions").is_dir():
        return _nothing_saved(args)  # reading must not create the history directory
    store = HistoryStore(home)
    try:
        if args.action == "list":
            result = store.list(args.limit, args.cursor)
            if args.json:
                print(json.dumps(result, indent=2, ensure_ascii=False))
            else:
                _print_list(result)
        else:
            last = args.id == "last"
            record = store.get(id=None if last else args.id, last=last)
            if args.json:
                print(json.dumps(record, indent=2, ensure_ascii=False))
            else:
                _print_record(record)
    except StoreError as exc:
        print(f"agentd history: {exc.message}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0


def _nothing_saved(args: argparse.Namespace) -> int:
    if args.action == "list":
        empty = {"total": 0, "cursor": 0, "limit": args.limit, "sessions": [], "next_cursor": None}
        print(json.dumps(empty, indent=2) if args.json else "(0 of 0)")
        return 0
    message = (
        "no saved chat history yet" if args.id == "last" else f"no saved chat matched id: {args.id}"
    )
    print(f"agentd history: {message}", file=sys.stderr)
    return 1


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
