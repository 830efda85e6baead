"""``agentd chat``: one prompt through a real daemon, the answer streamed to stdout.

Exit codes: 0 when the turn completed, 1 on an error, 130 when interrupted (Ctrl-C interrupts the
turn cleanly; a second Ctrl-C stops waiting).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

from agentd.client import AgentdClient, AgentdError

TERMINAL = {"session.completed": 0, "session.error": 1, "session.interrupted": 130}


def run_chat(args: argparse.Namespace) -> int:
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    if not prompt.strip():
        print("agentd chat: the prompt is empty", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_chat(args, prompt))
    except AgentdError as exc:
        print(f"agentd chat: {exc.message} ({exc.reason})", file=sys.stderr)
        return 1
    except TimeoutError:
        print(f"agentd chat: no answer within {args.timeout:g} s", file=sys.stderr)
        return 1


async def _chat(args: argparse.Namespace, prompt: str) -> int:
    serve_args: list[str] = []
    for directory in args.scripts_dir:
        serve_args += ["--scripts-dir", str(directory)]
    client = await AgentdClient.spawn(serve_args, new_session=True)
    try:
        params: dict[str, Any] = {}
        for key in ("provider", "model", "cwd"):
            if getattr(args, key):
                params[key] = getattr(args, key)
        session_id = await client.create_session(**params)
        result = await client.send(session_id, prompt)
        _install_interrupt(client, session_id)
        return await _stream(client, result["turn_id"], args.json, args.timeout)
    finally:
        await client.close()


def _install_interrupt(client: AgentdClient, session_id: str) -> None:
    loop = asyncio.get_running_loop()
    presses = 0

    def on_sigint() -> None:
        nonlocal presses
        presses += 1
        if presses > 1:
            raise KeyboardInterrupt
        client.start_request("session.interrupt", {"session_id": session_id})

    loop.add_signal_handler(signal.SIGINT, on_sigint)


async def _stream(client: AgentdClient, turn_id: str, as_json: bool, timeout: float) -> int:
    code: int | None = None
    async with asyncio.timeout(timeout):
        while True:
            event = await client.next_event(timeout)
            payload = event["payload"]
            if as_json:
                print(json.dumps(event, ensure_ascii=False), flush=True)
            else:
                _show(event["type"], payload)
            if event["type"] in TERMINAL and payload.get("turn_id") == turn_id:
                code = TERMINAL[event["type"]]
            if (
                code is not None
                and event["type"] == "session.status"
                and payload["status_label"] == "ready"
            ):
                if not as_json:
                    print(flush=True)
                return code


def _show(type_: str, payload: dict[str, Any]) -> None:
    if type_ == "session.stream.chunk":
        sys.stdout.write(payload["chunk"]["answerText"])
        sys.stdout.flush()
    elif type_ == "session.tool.call.started":
        call = payload["data"]["call"]
        print(f"\n[tool] {call['name']} {json.dumps(call['input'])}", file=sys.stderr)
    elif type_ == "session.error":
        print(f"\n[error:{payload.get('kind')}] {payload['message']}", file=sys.stderr)
    elif type_ == "session.interrupted":
        print("\n[interrupted]", file=sys.stderr)
