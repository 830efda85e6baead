"""``agentd chat``: a real daemon as a child process, driven like any client would.

One-shot (a prompt from the arguments or stdin) prints the answer and exits with the turn's
outcome; interactive (stdin is a terminal) reads prompts with a line editor. In both, Ctrl-C
interrupts the running turn and a second Ctrl-C gives up; the daemon runs in its own process
group, so the terminal's Ctrl-C reaches only this process and the turn ends cleanly. Exit codes
are listed in ``agentd.cli.parser.CHAT_EXIT_CODES``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from typing import Any

from agentd.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE
from agentd.cli.approve import TerminalApprover
from agentd.cli.render import Renderer
from agentd.client import AgentdClient, AgentdError, Event
from agentd.config import DEFAULT_MAX_MESSAGE_SIZE

TERMINAL = {"session.completed": EXIT_OK, "session.error": EXIT_FAILED}
TERMINAL["session.interrupted"] = EXIT_INTERRUPTED
#: A session id's length, for sizing a ``session.send`` before the session exists.
_SESSION_ID_PLACEHOLDER = "0" * 36


class TooLarge(ValueError):
    """The prompt does not fit in one message the daemon accepts."""


class DaemonGone(ConnectionError):
    """The daemon closed its output before the turn ended."""


def run_chat(args: argparse.Namespace) -> int:
    interactive = not args.prompt and sys.stdin.isatty() and not args.json
    prompt: str | None = None
    if not interactive:
        prompt = sys.stdin.read() if args.prompt in ([], ["-"]) else " ".join(args.prompt)
        if not prompt.strip():
            print("agentd chat: the prompt is empty", file=sys.stderr)
            return EXIT_USAGE
        try:
            check_size(prompt, _SESSION_ID_PLACEHOLDER, args.max_message_size)
        except TooLarge as exc:
            print(f"agentd chat: {exc}", file=sys.stderr)
            return EXIT_FAILED
    try:
        return asyncio.run(Chat(args).main(prompt))
    except AgentdError as exc:
        print(f"agentd chat: {exc.message} ({exc.reason})", file=sys.stderr)
        return EXIT_FAILED
    except TimeoutError:
        print(f"agentd chat: no answer within {args.timeout:g} s", file=sys.stderr)
        return EXIT_TIMEOUT
    except BrokenPipeError:
        raise  # stdout closed early: main() exits quietly
    except ConnectionError as exc:
        print(f"agentd chat: the daemon stopped unexpectedly ({exc})", file=sys.stderr)
        return EXIT_FAILED
    except asyncio.CancelledError:  # a second Ctrl-C
        return EXIT_INTERRUPTED


def check_size(prompt: str, session_id: str, limit: int | None) -> None:
    """Refuse a prompt whose ``session.send`` would exceed the daemon's message limit (the
    daemon would skip it, and the request would never be answered)."""
    limit = limit or DEFAULT_MAX_MESSAGE_SIZE
    request = {
        "jsonrpc": "2.0",
        "id": 2**31,
        "method": "session.send",
        "params": {"session_id": session_id, "text": prompt},
    }
    size = len(json.dumps(request, ensure_ascii=False).encode())
    if size > limit:
        raise TooLarge(
            f"message too large: the prompt needs {size:,} bytes, the daemon accepts at most "
            f"{limit:,} (--max-message-size)"
        )


def serve_args(args: argparse.Namespace) -> list[str]:
    """The daemon options given to ``agentd chat``, passed on to its daemon."""
    out = ["--fsync", args.fsync, "--approval-timeout", str(args.approval_timeout)]
    if args.log_level:
        out += ["--log-level", args.log_level]
    if args.max_message_size:
        out += ["--max-message-size", str(args.max_message_size)]
    for directory in args.scripts_dir:
        out += ["--scripts-dir", str(directory)]
    return out


class Chat:
    """One daemon, one session, one or more turns."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.renderer = Renderer(status=not args.json and sys.stderr.isatty())
        self.approver = TerminalApprover() if args.approval_policy == "ask" else None
        self.client: AgentdClient | None = None
        self.session_id: str | None = None
        self._presses = 0
        self._task: asyncio.Task[Any] | None = None

    async def main(self, prompt: str | None) -> int:
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        if prompt is not None:
            loop.add_signal_handler(signal.SIGINT, self._on_sigint)
        self.client = await AgentdClient.spawn(serve_args(self.args), new_session=True)
        try:
            if self.approver is not None:
                self.client.request_handler = self._approve
            self.session_id = await self._create(self.client)
            if prompt is not None:
                return await self.turn(prompt)
            return await self.interactive()
        finally:
            await self.client.close()

    async def _create(self, client: AgentdClient) -> str:
        params: dict[str, Any] = {}
        for key in ("provider", "model", "approval_policy"):
            if getattr(self.args, key):
                params[key] = getattr(self.args, key)
        if self.args.cwd:
            params["cwd"] = str(self.args.cwd.resolve())
        if self.args.resume:
            params["resume_id"] = self.args.resume
        elif self.args.continue_last:
            last = await client.call("history.get", {"last": True}, timeout=self.args.timeout)
            params["resume_id"] = last["id"]
        result = await client.call("session.create", params, timeout=self.args.timeout)
        return str(result["session_id"])

    async def _approve(self, method: str, params: Any) -> Any:
        """Ask once the events that came before the question are shown, on a clean line."""
        assert self.client is not None and self.approver is not None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                while not self.client.events.empty():
                    await asyncio.sleep(0.01)
        self.renderer.clear_status()
        self.renderer.end_line()
        return await self.approver(method, params)

    # -- turns ------------------------------------------------------------------------------

    def _on_sigint(self) -> None:
        """First Ctrl-C: interrupt the turn (and deny a pending approval); second: give up."""
        self._presses += 1
        if self._presses == 1 and self.client is not None and self.session_id is not None:
            # a pending approval is cancelled by the daemon ($/cancelRequest); the question is
            # abandoned when the turn ends
            self.client.start_request("session.interrupt", {"session_id": self.session_id})
            return
        if self._task is not None and self._presses <= 2:
            self._task.cancel()

    async def turn(self, prompt: str) -> int:
        assert self.client is not None and self.session_id is not None
        result = await self.client.call(
            "session.send",
            {"session_id": self.session_id, "text": prompt},
            timeout=self.args.timeout,
        )
        return await self._stream(result["turn_id"])

    async def _stream(self, turn_id: str) -> int:
        code: int | None = None
        async with asyncio.timeout(self.args.timeout):
            while True:
                event = await self._next_event()
                type_, payload = event["type"], event["payload"]
                if self.args.json:
                    print(json.dumps(event, ensure_ascii=False), flush=True)
                else:
                    self.renderer.event(type_, payload)
                if type_ in TERMINAL and payload.get("turn_id") == turn_id:
                    code = TERMINAL[type_]
                if code is not None and type_ == "session.status" and not payload["pending"]:
                    break
        if self.approver is not None:
            self.approver.cancel()
        if not self.args.json:
            self.renderer.turn_done()
        assert code is not None
        return code

    async def _next_event(self) -> Event:
        """The next event, or ``DaemonGone`` when the daemon's output ended first."""
        assert self.client is not None
        if not self.client.events.empty():
            return self.client.events.get_nowait()
        get = asyncio.ensure_future(self.client.events.get())
        gone = asyncio.ensure_future(self.client.closed.wait())
        try:
            await asyncio.wait({get, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not get.done():
                get.cancel()
        if get.done() and not get.cancelled():
            return get.result()
        raise DaemonGone("its output ended")

    # -- interactive ------------------------------------------------------------------------

    async def interactive(self) -> int:
        import readline  # noqa: F401 - gives input() line editing and history

        assert self.client is not None and self.session_id is not None
        state = await self.client.call("session.get", {"session_id": self.session_id})
        resumed = f", continuing {len(state['history'])} messages" if state["history"] else ""
        print(
            f"agentd chat: {state['provider']}/{state['model']}{resumed}. "
            "Ctrl-C interrupts a turn; Ctrl-D or a second Ctrl-C exits.",
            file=sys.stderr,
        )
        loop = asyncio.get_running_loop()
        while True:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            try:
                line = input("> ")  # blocks the loop: nothing else runs between turns
            except EOFError:
                print(file=sys.stderr)
                return EXIT_OK
            except KeyboardInterrupt:
                print(file=sys.stderr)
                return EXIT_INTERRUPTED
            if not line.strip():
                continue
            try:
                check_size(line, self.session_id, self.args.max_message_size)
            except TooLarge as exc:
                print(f"agentd chat: {exc}", file=sys.stderr)
                continue
            self._presses = 0
            loop.add_signal_handler(signal.SIGINT, self._on_sigint)
            try:
                await self.turn(line)
            except AgentdError as exc:
                print(f"agentd chat: {exc.message} ({exc.reason})", file=sys.stderr)
            finally:
                loop.remove_signal_handler(signal.SIGINT)
