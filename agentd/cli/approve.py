"""Interactive approvals for ``agentd chat --approval-policy ask``.

The daemon asks with the request ``session.tool.approve {session_id, turn_id, call}``; the
question goes to the controlling terminal (/dev/tty), so it works even when stdin or stdout is a
pipe. Without a terminal every call is denied with a message saying why. The answer is read
without a thread (a reader on the tty's fd), so an interrupt can abandon the question at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from typing import Any

ANSWERS = {"y": "allow", "yes": "allow", "a": "allow_session", "always": "allow_session"}


class TerminalApprover:
    """Answers ``session.tool.approve`` by asking on the terminal; ``cancel()`` denies the
    question being asked (used when the user interrupts the turn)."""

    def __init__(self) -> None:
        self._pending: asyncio.Future[str] | None = None

    @property
    def asking(self) -> bool:
        return self._pending is not None and not self._pending.done()

    def cancel(self) -> None:
        if self._pending is not None and not self._pending.done():
            self._pending.set_result("")

    async def __call__(self, method: str, params: Any) -> dict[str, Any]:
        if method != "session.tool.approve":
            raise ValueError(f"agentd chat does not answer {method}")
        call = params.get("call", {}) if isinstance(params, dict) else {}
        try:
            fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        except OSError:
            return {"decision": "deny", "message": "no terminal to ask for approval"}
        try:
            question = (
                f"allow {call.get('name', '?')} "
                f"{json.dumps(call.get('input', {}), ensure_ascii=False)}?"
                " [y]es / [a]lways this tool / [N]o: "
            )
            os.write(fd, question.encode())
            answer = (await self._read_line(fd)).strip().lower()
        finally:
            os.close(fd)
        decision = ANSWERS.get(answer, "deny")
        return {"decision": decision} | ({} if decision != "deny" else {"message": "denied"})

    async def _read_line(self, fd: int) -> str:
        loop = asyncio.get_running_loop()
        self._pending = loop.create_future()
        buffer = bytearray()

        def readable() -> None:
            assert self._pending is not None
            try:
                data = os.read(fd, 1024)
            except OSError:
                data = b""
            buffer.extend(data)
            if (not data or b"\n" in buffer) and not self._pending.done():
                self._pending.set_result(buffer.decode(errors="replace").partition("\n")[0])

        loop.add_reader(fd, readable)
        try:
            return await self._pending
        finally:
            with contextlib.suppress(Exception):
                loop.remove_reader(fd)
            self._pending = None
