"""``list_dir``: a breadth-first listing of a workspace directory, in the reference's format.

The output is meant for the model: one entry per line, indented two spaces per level, with a type
suffix (``/`` directory, ``@`` symlink, ``?`` other) and a trailer when entries were left out.
Symlinked directories are shown but never entered, which keeps the walk inside the workspace.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from agentd.tools.base import ToolContext, ToolResult
from agentd.tools.errors import InvalidToolInput, ToolError
from agentd.tools.workspace import resolve_in_workspace

MAX_ENTRY_CHARS = 500
INDENT = "  "
DEFAULT_LIMIT = 25
DEFAULT_DEPTH = 2


@attrs.frozen
class _Entry:
    #: Relative path with ``/`` separators: the sort key that puts children under their parent.
    sort_key: str
    name: str
    depth: int
    suffix: str

    def line(self) -> str:
        return f"{INDENT * self.depth}{self.name}{self.suffix}"


def _suffix(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        return "@"
    if entry.is_dir(follow_symlinks=False):
        return "/"
    if entry.is_file(follow_symlinks=False):
        return ""
    return "?"


def _collect(root: Path, depth: int) -> list[_Entry]:
    """All entries down to ``depth`` levels, breadth first, each directory's entries by name."""
    entries: list[_Entry] = []
    queue: deque[tuple[Path, str, int, int]] = deque([(root, "", 0, depth)])
    while queue:
        directory, prefix, level, remaining = queue.popleft()
        try:
            with os.scandir(directory) as scan:
                found = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            if level == 0:
                raise ToolError(f"failed to read directory: {exc.strerror or exc}") from exc
            continue  # An unreadable subdirectory is listed but not entered.
        for item in found:
            relative = f"{prefix}/{item.name}" if prefix else item.name
            suffix = _suffix(item)
            entries.append(
                _Entry(relative[:MAX_ENTRY_CHARS], item.name[:MAX_ENTRY_CHARS], level, suffix)
            )
            if suffix == "/" and remaining > 1:
                queue.append((Path(item.path), relative, level + 1, remaining - 1))
    return entries


def _list(path: Path, display: str, offset: int, limit: int, depth: int) -> str:
    if not path.exists():
        raise ToolError(f"directory not found: {display}")
    if not path.is_dir():
        raise ToolError(f"not a directory: {display}")
    lines = [f"Absolute path: {path}"]
    entries = _collect(path, depth)
    if entries:
        start = offset - 1
        if start >= len(entries):
            raise ToolError("offset exceeds directory entry count")
        end = min(start + limit, len(entries))
        selected = sorted(entries[start:end], key=lambda e: e.sort_key)
        lines.extend(entry.line() for entry in selected)
        if end < len(entries):
            lines.append(f"More than {end - start} entries found")
    return "\n".join(lines)


class ListDirTool:
    """Lists a directory inside the workspace."""

    name = "list_dir"
    description = (
        "Lists entries in a local directory with simple type labels (`/` directory, `@` symlink, "
        "`?` other), indented by depth. Paths are absolute or relative to the workspace root."
    )
    input_schema: Mapping[str, Any] = {
        "type": "object",
        "properties": {
            "dir_path": {
                "type": "string",
                "description": "Directory path (absolute, or relative to the workspace root).",
            },
            "offset": {
                "type": "integer",
                "description": "The entry number to start listing from. Must be 1 or greater.",
            },
            "limit": {
                "type": "integer",
                "description": "The maximum number of entries to return.",
            },
            "depth": {
                "type": "integer",
                "description": "The maximum directory depth to traverse. Must be 1 or greater.",
            },
        },
        "required": ["dir_path"],
        "additionalProperties": False,
    }
    mutates = False

    async def run(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        dir_path: str = arguments["dir_path"]
        offset: int = arguments.get("offset", 1)
        limit: int = arguments.get("limit", DEFAULT_LIMIT)
        depth: int = arguments.get("depth", DEFAULT_DEPTH)
        if offset < 1:
            raise InvalidToolInput("offset must be a 1-indexed entry number")
        if limit < 1:
            raise InvalidToolInput("limit must be greater than zero")
        if depth < 1:
            raise InvalidToolInput("depth must be greater than zero")
        path = resolve_in_workspace(context.workspace_root, dir_path)
        text = await asyncio.to_thread(_list, path, dir_path, offset, limit, depth)
        return ToolResult(ok=True, output=text)
