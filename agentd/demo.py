"""``agentd demo`` (``make run``): a real conversation with a real daemon, offline.

Spawns ``agentd serve`` as a child process, drives it over its pipes with LSP framing on the
scripted provider, and prints what crosses the wire: requests (→), responses (←) and events (·).
It shows a streamed answer, a tool call, a steer, an interrupt and a queued prompt.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from agentd.client import AgentdClient

DIM, BOLD, CYAN, GREEN, YELLOW, RESET = (
    "\033[2m",
    "\033[1m",
    "\033[36m",
    "\033[32m",
    "\033[33m",
    "\033[0m",
)


class Printer:
    """Readable wire log; streamed chunks are printed inline as they arrive."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self.streaming = False

    def _c(self, code: str, text: str) -> str:
        return f"{code}{text}{RESET}" if self.color else text

    def _end_stream(self) -> None:
        if self.streaming:
            print(self._c(DIM, "⏎"))
            self.streaming = False

    def title(self, text: str) -> None:
        self._end_stream()
        print("\n" + self._c(BOLD, f"== {text}"))

    def request(self, method: str, params: Any) -> None:
        self._end_stream()
        print(self._c(CYAN, f"→ {method} {_short(params)}"))

    def response(self, result: Any) -> None:
        self._end_stream()
        print(self._c(GREEN, f"← {_short(result)}"))

    def event(self, event: dict[str, Any]) -> None:
        kind, payload = event["type"], dict(event["payload"])
        payload.pop("session_id", None)
        if kind == "session.stream.chunk":
            chunk = payload["chunk"]
            if not self.streaming:
                print(self._c(DIM, f"· #{event['seq']} stream: "), end="")
                self.streaming = True
            print(chunk["answerText"] or self._c(DIM, "".join(chunk["thoughts"])[-40:]), end="")
            sys.stdout.flush()
            return
        self._end_stream()
        if kind == "session.status":
            text = f"status {payload['status_label']!r}"
        elif kind == "session.message.appended":
            message = payload["message"]
            text = f"{message['kind']} message: {message['text'][:70]!r}"
        elif kind == "state.changed":
            text = f"state.changed ({payload['reason']})"
        else:
            payload.pop("turn_id", None)
            text = f"{kind} {_short(payload)}"
        print(self._c(YELLOW if "tool" in kind else DIM, f"· #{event['seq']} {text}"))


def _short(value: Any, limit: int = 110) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Demo:
    def __init__(self, client: AgentdClient, printer: Printer) -> None:
        self.client = client
        self.out = printer
        self.session_id = ""

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        self.out.request(method, params)
        result = await self.client.call(method, params)
        self.out.response(result)
        return result

    async def show_until_ready(self, turns: int = 1) -> None:
        """Print events until ``turns`` terminal events were followed by ``ready``."""
        ended = 0
        async with asyncio.timeout(30):
            while True:
                event = await self.client.next_event()
                self.out.event(event)
                if event["type"] in ("session.completed", "session.interrupted", "session.error"):
                    ended += 1
                label = event["payload"].get("status_label")
                if ended >= turns and event["type"] == "session.status" and label == "ready":
                    return

    async def wait_for(self, type_: str) -> None:
        async with asyncio.timeout(30):
            while True:
                event = await self.client.next_event()
                self.out.event(event)
                if event["type"] == type_:
                    return

    async def send(self, text: str, **extra: Any) -> Any:
        return await self.call(
            "session.send", {"session_id": self.session_id, "text": text, **extra}
        )

    async def run(self, workspace: Path) -> None:
        out = self.out
        out.title("handshake")
        await self.call("rpc.handshake", {"client_name": "agentd-demo"})
        out.title("create a session (scripted provider: offline, deterministic)")
        created = await self.call("session.create", {"title": "demo", "cwd": str(workspace)})
        self.session_id = created["session_id"]
        await self.wait_for("state.changed")

        out.title("a streamed answer")
        await self.send("Hello agentd, how are you?")
        await self.show_until_ready()

        out.title("a tool call: the model reads a file in the session's workspace")
        await self.send("script:tool_call what does the README say?")
        await self.show_until_ready()

        out.title("a steer: extra input while the turn runs (injected after the tool round)")
        await self.send("script:steer run a slow command")
        await self.wait_for("session.tool.call.started")
        await self.call(
            "session.steer", {"session_id": self.session_id, "text": "also mention cats"}
        )
        await self.show_until_ready()

        out.title("an interrupt, with a prompt queued behind the running turn")
        await self.send("script:slow tell me a long story")
        await self.send("script:echo this prompt waited in the queue", enqueue=True)
        await self.call("session.queue.list", {"session_id": self.session_id})
        for _ in range(8):
            event = await self.client.next_event()
            out.event(event)
        await self.call("session.interrupt", {"session_id": self.session_id})
        await self.show_until_ready(turns=2)

        out.title("the session afterwards")
        state = await self.client.call("session.get", {"session_id": self.session_id})
        print(
            f"  {len(state['messages'])} UI messages, {len(state['history'])} history messages, "
            f"status {state['statusLabel']!r}, context ≈ {state['contextTokenEstimate']} tokens"
        )


async def _main(color: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="agentd-demo-") as tmp:
        workspace = Path(tmp)
        (workspace / "README.md").write_text(
            "# demo workspace\nagentd reads this file through its read_file tool.\n"
        )
        client = await AgentdClient.spawn(env={"AGENTD_HOME": str(workspace / ".agentd-home")})
        try:
            await Demo(client, Printer(color)).run(workspace)
        finally:
            code = await client.close()
        print(f"\ndaemon exited with code {code} after stdin closed")
        return 0 if code == 0 else 1


def run_demo() -> int:
    return asyncio.run(_main(sys.stdout.isatty()))
