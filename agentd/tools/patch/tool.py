"""The ``apply_patch`` tool: a patch in, the files changed (with line counts) out.

The model calls it in one of two forms: ``{"input": "*** Begin Patch ..."}`` (the function tool,
any provider) or a native operation ``{type, path, diff}`` (OpenAI's ``apply_patch`` tool type,
which these models were trained on). ``native_type`` asks the tool set to declare it natively
where the provider can; ``validation_schema`` accepts both argument forms.

With a client that shows files (``ToolContext.read_text`` / ``write_text``: an editor over
ACP), the patch applies to what the editor shows and is written through it; all-or-nothing
then holds up to the writing (a patch that does not apply changes nothing), but the writes
themselves are one request per file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentd.tools.base import ToolContext, ToolResult
from agentd.tools.errors import InvalidToolInput
from agentd.tools.patch.apply import patch_paths, plan_ops, write_files
from agentd.tools.patch.parser import PatchError, parse_operation, parse_patch

DESCRIPTION = """\
Edit files with a patch. Send the whole patch as `input`:

*** Begin Patch
*** Add File: path/new.py
+first line
*** Update File: path/old.py
*** Move to: path/renamed.py
@@ def some_function():
 context line
-removed line
+added line
*** Delete File: path/gone.py
*** End Patch

Paths are relative to the workspace root. In an update, each `@@` section may name a line to find \
first (a function or class header); then give about 3 lines of unchanged context (prefix ' ') \
around the '-' and '+' lines. `*** End of File` after a section anchors it at the file's end. \
The patch applies completely or not at all; the result lists every file changed."""

_OPERATION = {
    "type": "object",
    "properties": {
        "type": {"enum": ["create_file", "update_file", "delete_file"]},
        "path": {"type": "string"},
        "diff": {"type": "string"},
    },
    "required": ["type", "path"],
}


class ApplyPatchTool:
    """Applies ``*** Begin Patch`` patches and native patch operations atomically."""

    name = "apply_patch"
    description = DESCRIPTION
    input_schema: Mapping[str, Any] = {
        "type": "object",
        "properties": {
            "input": {"type": "string", "description": "The whole patch, Begin to End Patch."}
        },
        "required": ["input"],
        "additionalProperties": False,
    }
    validation_schema: Mapping[str, Any] = {"anyOf": [input_schema, _OPERATION]}
    native_type = "apply_patch"
    mutates = True

    async def run(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        try:
            if "input" in arguments:
                ops = parse_patch(arguments["input"])
            else:
                ops = (parse_operation(arguments),)
        except PatchError as exc:
            raise InvalidToolInput(f"invalid patch: {exc}. No file was changed.") from None
        root = context.workspace_root
        sources: dict[Path, str] = {}
        if context.read_text is not None:  # the editor's view: unsaved buffers included
            for path in patch_paths(root, ops):
                text = await context.read_text(path)
                if text is not None:
                    sources[path] = text
        final, changes = await asyncio.to_thread(plan_ops, root, ops, sources)
        if context.write_text is not None:
            # through the editor, file by file (its buffers update); what it does not take
            # (and removals, which it has no request for) goes to the disk
            for path, data in list(final.items()):
                if data is not None and await context.write_text(path, data.decode("utf-8")):
                    del final[path]
        await asyncio.to_thread(write_files, root, final)
        lines = [change.describe() for change in changes]
        return ToolResult(
            ok=True, output="Success. Updated the following files:\n" + "\n".join(lines)
        )
