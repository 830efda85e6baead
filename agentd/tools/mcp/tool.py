"""An MCP server's tool as an agentd ``Tool``: arguments in, content blocks mapped out.

Text blocks become the output text; images go to the model as images (``ToolResult.images``)
and appear in the output as a short description, never as base64 text; structured content is
kept as is. A tool counts as mutating unless the server declares ``readOnlyHint``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agentd.tools.base import ToolContext, ToolResult
from agentd.tools.errors import ToolError

if TYPE_CHECKING:
    from agentd.tools.mcp.client import CallOutcome, McpConnection, RemoteTool


def map_outcome(outcome: CallOutcome) -> ToolResult:
    """A ``tools/call`` result as a tool result."""
    texts: list[str] = []
    blocks: list[dict[str, Any]] = []
    images: list[dict[str, str]] = []
    for block in outcome.content:
        kind = block.get("type")
        if kind == "text":
            texts.append(str(block.get("text", "")))
            blocks.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image":
            mime, data = str(block.get("mimeType", "")), str(block.get("data", ""))
            images.append({"mimeType": mime, "dataUrl": f"data:{mime};base64,{data}"})
            blocks.append({"type": "image", "mimeType": mime, "bytes": len(data) * 3 // 4})
        elif kind == "resource":
            resource = block.get("resource") or {}
            if "text" in resource:
                texts.append(str(resource["text"]))
            blocks.append({k: v for k, v in block.items() if k != "blob"})
        else:  # audio, resource links: described, not inlined
            blocks.append({k: v for k, v in block.items() if k != "data"})
    text = "\n".join(texts)
    if outcome.is_error:
        message = text or "the MCP tool reported an error"
        return ToolResult(ok=False, output={"status": "error", "content": blocks}, error=message)
    if outcome.structured is None and len(blocks) == len(texts) and not images:
        return ToolResult(ok=True, output=text)
    output: dict[str, Any] = {"content": blocks}
    if outcome.structured is not None:
        output["structuredContent"] = outcome.structured
    return ToolResult(ok=True, output=output, images=tuple(images))


class McpTool:
    """One tool of one server, under its qualified name."""

    def __init__(self, name: str, server: McpConnection, remote: RemoteTool) -> None:
        self.name = name
        self.server = server
        self.remote = remote
        prefix = f"[MCP server {server.config.name}, tool {remote.name}] "
        self.description = prefix + remote.description
        self.input_schema: Mapping[str, Any] = remote.input_schema
        self.mutates = not remote.read_only

    async def run(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        from agentd.tools.mcp.client import McpServerError

        try:
            outcome = await self.server.call(self.remote.name, arguments)
        except McpServerError as exc:
            raise ToolError(f"MCP server {self.server.config.name}: {exc}") from None
        return map_outcome(outcome)
