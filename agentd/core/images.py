"""Image attachments of ``session.send``, with the reference's rules (loaf-behaviour §5.8).

Rows are normalised when the prompt is accepted (invalid rows are dropped, as the reference) and
loaded when its turn starts, so a queued prompt keeps its raw rows and a bad file fails the turn,
not the request.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from pathlib import Path
from typing import Any

from agentd.core.errors import InvalidOption

MAX_IMAGE_BYTES = 8 * 1024 * 1024
_MIME_BY_EXT = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
}
_ALLOWED_MIME = frozenset(_MIME_BY_EXT.values())
_DATA_URL = re.compile(r"^data:([^;,]+);base64,(.*)$", re.DOTALL)


class ImageError(Exception):
    """An attachment that cannot be used; the message is shown to the user."""


_SHAPE = "`images` must be an array of objects with a non-empty `path` or `data_url`"


def normalise_images(raw: Any) -> list[dict[str, Any]]:
    """The image rows of a prompt: objects with a non-empty ``path`` and/or ``data_url``.

    The reference drops anything else silently, so a client's typo loses its images without a
    word; agentd refuses the request instead (``InvalidOption`` → ``-32602``, field ``images``).
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidOption(_SHAPE, "images")
    rows: list[dict[str, Any]] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise InvalidOption(_SHAPE, "images")
        path = entry.get("path")
        data_url = entry.get("data_url", entry.get("dataUrl"))
        mime = entry.get("mime_type", entry.get("mimeType"))
        path = path.strip() if isinstance(path, str) else ""
        data_url = data_url.strip() if isinstance(data_url, str) else ""
        if not path and not data_url:
            raise InvalidOption(_SHAPE, "images")
        row: dict[str, Any] = {"path": path}
        if isinstance(mime, str) and mime.strip():
            row["mime_type"] = mime.strip()
        if data_url:
            row["data_url"] = data_url
        rows.append(row)
    return rows


def with_placeholders(text: str, count: int) -> str:
    """Append ``[Image n]`` labels missing from the text (case-insensitive)."""
    lowered = text.lower()
    missing = [f"[Image {n}]" for n in range(1, count + 1) if f"[image {n}]" not in lowered]
    return " ".join([text, *missing]).strip() if missing else text


def load_image(row: dict[str, Any], cwd: Path) -> dict[str, Any]:
    """``{path, mimeType, dataUrl, byteSize}`` for a normalised row, or ``ImageError``."""
    if row.get("data_url"):
        match = _DATA_URL.match(row["data_url"])
        if match is None:
            raise ImageError("invalid image data_url. expected data:<mime>;base64,<payload>")
        mime = row.get("mime_type") or match.group(1).strip().lower()
        try:
            payload = base64.b64decode(match.group(2), validate=True)
        except (binascii.Error, ValueError):
            raise ImageError(
                "invalid image data_url. expected data:<mime>;base64,<payload>"
            ) from None
        label = row.get("path") or f"rpc-image-{int(time.time() * 1000)}.png"
    else:
        path = Path(row["path"]).expanduser()
        path = path if path.is_absolute() else cwd / path
        if not path.exists():
            raise ImageError(f"file not found: {path}")
        if not path.is_file():
            raise ImageError(f"not a file: {path}")
        if path.stat().st_size > MAX_IMAGE_BYTES:
            raise ImageError(f"image too large ({path.stat().st_size} bytes). max is 8 mb")
        ext = path.suffix.lower()
        if ext not in _MIME_BY_EXT:
            raise ImageError(
                f"unsupported image type: {ext or '(none)'}. supported: png, jpg, jpeg, webp, gif"
            )
        mime = row.get("mime_type") or _MIME_BY_EXT[ext]
        payload = path.read_bytes()
        label = str(path)
    if mime not in _ALLOWED_MIME:
        raise ImageError(f"unsupported image mime type: {mime}")
    if not payload:
        raise ImageError("image payload is empty")
    if len(payload) > MAX_IMAGE_BYTES:
        raise ImageError(f"image too large ({len(payload)} bytes). max is 8 mb")
    encoded = base64.b64encode(payload).decode("ascii")
    return {
        "path": label,
        "mimeType": mime,
        "dataUrl": f"data:{mime};base64,{encoded}",
        "byteSize": len(payload),
    }
