"""``apply_patch`` calls as ACP diffs, so an editor shows the change (and asks about it) before
it is applied.

Built from the patch alone: each hunk's old and new lines become one ``diff`` item, and each
touched file a location. No file is read, so this stays cheap on the event path; an editor
shows the hunks, without the rest of the file around them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentd.acp.shapes import ToolCallLocation
from agentd.tools.patch.parser import (
    AddFile,
    DeleteFile,
    FileOp,
    PatchError,
    parse_operation,
    parse_patch,
)


def _operations(arguments: Mapping[str, Any]) -> tuple[FileOp, ...]:
    try:
        if isinstance(arguments.get("input"), str):
            return parse_patch(arguments["input"])
        return (parse_operation(arguments),)
    except (PatchError, ValueError, TypeError):
        return ()  # the tool reports the broken patch itself


def patch_view(
    arguments: Mapping[str, Any], cwd: Path
) -> tuple[list[dict[str, Any]], list[ToolCallLocation]]:
    """The ``content`` (diff items) and ``locations`` of an ``apply_patch`` call."""
    content: list[dict[str, Any]] = []
    locations: list[ToolCallLocation] = []

    def absolute(path: str) -> str:
        return str(Path(path) if Path(path).is_absolute() else cwd / path)

    for op in _operations(arguments):
        if isinstance(op, AddFile):
            path = absolute(op.path)
            content.append(
                {"type": "diff", "path": path, "oldText": None, "newText": "\n".join(op.lines)}
            )
        elif isinstance(op, DeleteFile):
            path = absolute(op.path)
        else:
            path = absolute(op.move_to or op.path)
            for hunk in op.hunks:
                content.append(
                    {
                        "type": "diff",
                        "path": path,
                        "oldText": "\n".join(hunk.old),
                        "newText": "\n".join(hunk.new),
                    }
                )
        locations.append({"path": path})
    return content, locations
