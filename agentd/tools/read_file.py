"""``read_file``: numbered lines of a workspace file, a slice at a time.

Numbered ``L<n>:`` lines let the model cite and patch exact lines; the per-line cut keeps one
minified line from flooding the context. Only the reference's ``slice`` mode is implemented.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from agentd.tools.base import ToolContext, ToolResult
from agentd.tools.errors import InvalidToolInput, ToolError
from agentd.tools.workspace import resolve_in_workspace

MAX_LINE_CHARS = 500
DEFAULT_LIMIT = 2000


def _slice(lines: Iterable[bytes], display: str, offset: int, limit: int) -> str:
    collected: list[str] = []
    seen = 0
    for raw in lines:
        seen += 1
        if seen < offset:
            continue
        if len(collected) == limit:
            break
        if raw.endswith(b"\n"):
            raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        text = raw.decode("utf-8", errors="replace")
        collected.append(f"L{seen}: {text[:MAX_LINE_CHARS]}")
    if seen < offset and not (seen == 0 and offset == 1):
        raise ToolError(f"offset exceeds file length ({seen} lines)")
    return "\n".join(collected)


def _read_slice(path: Path, display: str, offset: int, limit: int) -> str:
    if not path.exists():
        raise ToolError(f"file not found: {display}")
    if path.is_dir():
        raise ToolError(f"not a file (a directory): {display}")
    try:
        with path.open("rb") as handle:
            return _slice(handle, display, offset, limit)
    except OSError as exc:
        raise ToolError(f"failed to read file: {display}: {exc.strerror or exc}") from exc


class ReadFileTool:
    """Reads a file inside the workspace with 1-indexed line numbers."""

    name = "read_file"
    description = (
        "Reads a local file with 1-indexed line numbers. Paths are absolute or relative to the "
        "workspace root and must stay inside it. Each line is returned as `L<n>: <text>`, cut at "
        f"{MAX_LINE_CHARS} characters."
    )
    input_schema: Mapping[str, Any] = {
        "type": "object",
        "properties": {
            "file_path": {
                "type": "string",
                "description": "Path to the file (absolute, or relative to the workspace root).",
            },
            "offset": {
                "type": "integer",
                "description": "The line number to start reading from. Must be 1 or greater.",
            },
            "limit": {
                "type": "integer",
                "description": "The maximum number of lines to return.",
            },
            "mode": {
                "type": "string",
                "enum": ["slice"],
                "description": 'Only "slice" (simple line ranges) is supported.',
            },
        },
        "required": ["file_path"],
        "additionalProperties": False,
    }
    mutates = False

    async def run(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        file_path: str = arguments["file_path"]
        offset: int = arguments.get("offset", 1)
        limit: int = arguments.get("limit", DEFAULT_LIMIT)
        if offset < 1:
            raise InvalidToolInput("offset must be a 1-indexed line number")
        if limit < 1:
            raise InvalidToolInput("limit must be greater than zero")
        path = resolve_in_workspace(context.workspace_root, file_path)
        if context.read_text is not None:  # the client's view first: an unsaved buffer
            shown = await context.read_text(path)
            if shown is not None:
                lines = shown.encode("utf-8").splitlines(keepends=True)
                return ToolResult(ok=True, output=_slice(lines, file_path, offset, limit))
        text = await asyncio.to_thread(_read_slice, path, file_path, offset, limit)
        return ToolResult(ok=True, output=text)
