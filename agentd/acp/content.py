"""Prompt content blocks → the text and images of one turn.

ACP prompts are lists of content blocks; agentd's turns take a text and image rows. Embedded
resources (a file the editor attached, with its text) are inlined into the prompt so the model
reads them; resource links are named by their URI (the model can read the file with its tools).
Audio is refused: ``initialize`` does not advertise it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

from agentd.protocol.errors import RpcError, invalid_params


class PromptContent:
    """What a prompt's blocks amount to: the turn's text and its image rows."""

    __slots__ = ("images", "text")

    def __init__(self, text: str, images: list[dict[str, Any]]) -> None:
        self.text = text
        self.images = images


def _bad(problem: str) -> RpcError:
    return invalid_params("session/prompt", problem, "prompt")


def _str(block: dict[str, Any], key: str) -> str:
    value = block.get(key)
    if not isinstance(value, str):
        raise _bad(f"a {block.get('type')} block needs a string `{key}`")
    return value


def file_path(uri: str) -> str:
    """The local path of a ``file://`` URI, else the URI unchanged."""
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else uri


def _resource(block: dict[str, Any]) -> str:
    resource = block.get("resource")
    if not isinstance(resource, dict):
        raise _bad("a resource block needs a `resource` object")
    uri = _str(resource, "uri")
    text = resource.get("text")
    if isinstance(text, str):
        return f'\n<context uri="{uri}">\n{text}\n</context>\n'
    return f"\n[attached binary resource: {file_path(uri)}]\n"


def prompt_content(blocks: Any) -> PromptContent:
    """Parse ``session/prompt``'s ``prompt``; ``-32602`` on anything malformed or empty."""
    if not isinstance(blocks, list) or not blocks:
        raise _bad("`prompt` must be a non-empty array of content blocks")
    parts: list[str] = []
    images: list[dict[str, Any]] = []
    for block in blocks:
        if not isinstance(block, dict):
            raise _bad("every content block must be an object")
        kind = block.get("type")
        if kind == "text":
            parts.append(_str(block, "text"))
        elif kind == "image":
            mime = _str(block, "mimeType")
            data = block.get("data")
            if isinstance(data, str) and data:
                images.append({"data_url": f"data:{mime};base64,{data}", "mime_type": mime})
            elif isinstance(block.get("uri"), str):
                images.append({"path": file_path(block["uri"]), "mime_type": mime})
            else:
                raise _bad("an image block needs `data` (base64) or `uri`")
        elif kind == "resource":
            parts.append(_resource(block))
        elif kind == "resource_link":
            uri = _str(block, "uri")
            name = block.get("name")
            parts.append(f"[{name if isinstance(name, str) else uri}]({file_path(uri)})")
        else:
            raise _bad(f"unsupported content block type: {kind!r}")
    text = "\n".join(part for part in parts if part)
    if not text.strip() and not images:
        raise _bad("the prompt has no text and no image")
    return PromptContent(text, images)
