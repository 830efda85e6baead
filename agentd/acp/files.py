"""The editor's files: ``fs/read_text_file`` and ``fs/write_text_file``, when advertised.

Tools read a file as the editor shows it (an unsaved buffer) and write through the editor (its
buffer updates, and it saves), but only when the client said at ``initialize`` that it can
(``clientCapabilities.fs``); otherwise, or when the client answers with an error or not in
time, they use the disk as they would without ACP. These are the runtime's ``file_reader``
and ``file_writer`` ports: the tools never learn that ACP exists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agentd.acp.state import AcpSession
from agentd.rpc.connection import ClientRequestError, Connection

log = logging.getLogger("agentd.acp")

#: Bound on the client's answer to an ``fs/*`` request (then the disk is used instead).
FS_TIMEOUT_S = 10.0


class ClientFiles:
    """File access through the client, for the sessions in ``by_core`` (core id → session)."""

    def __init__(
        self,
        connection: Connection,
        by_core: Mapping[str, AcpSession],
        client_capabilities: Callable[[], Mapping[str, Any]],
    ) -> None:
        self.connection = connection
        self.by_core = by_core
        self.client_capabilities = client_capabilities

    def offers(self, capability: str) -> bool:
        fs = self.client_capabilities().get("fs")
        return isinstance(fs, Mapping) and fs.get(capability) is True

    async def read_text_file(self, session_id: str, path: Path) -> str | None:
        """The file as the editor shows it; ``None``: read the disk."""
        state = self.by_core.get(session_id)
        if state is None or not self.offers("readTextFile"):
            return None
        try:
            answer = await self.connection.request(
                "fs/read_text_file", {"sessionId": state.acp_id, "path": str(path)}, FS_TIMEOUT_S
            )
        except (TimeoutError, ClientRequestError):
            return None
        content = answer.get("content") if isinstance(answer, dict) else None
        return content if isinstance(content, str) else None

    async def write_text_file(self, session_id: str, path: Path, text: str) -> bool:
        """Write through the editor; ``False``: it was not (write the disk)."""
        state = self.by_core.get(session_id)
        if state is None or not self.offers("writeTextFile"):
            return False
        params = {"sessionId": state.acp_id, "path": str(path), "content": text}
        try:
            await self.connection.request("fs/write_text_file", params, FS_TIMEOUT_S)
        except (TimeoutError, ClientRequestError) as exc:
            log.warning("fs/write_text_file %s failed (%s): writing the disk instead", path, exc)
            return False
        return True
