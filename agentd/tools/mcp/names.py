"""Provider-safe tool names: ``mcp__<server>__<tool>``, within ``^[A-Za-z0-9_-]{1,64}$``.

That pattern is OpenAI's (the strictest of our providers); an over-long name is cut and given a
short hash of the full name so two long names stay distinct.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def sanitise(part: str) -> str:
    return _UNSAFE.sub("_", part) or "_"


def qualified_name(server: str, tool: str, taken: set[str]) -> str:
    """A unique, safe name for ``tool`` of ``server``; adds it to ``taken``."""
    name = f"mcp__{sanitise(server)}__{sanitise(tool)}"
    if len(name) > MAX_NAME or name in taken:
        digest = hashlib.sha1(f"{server}\0{tool}".encode(errors="replace")).hexdigest()[:8]
        name = f"{name[: MAX_NAME - 9]}_{digest}"
    counter = 1
    base = name
    while name in taken:
        counter += 1
        suffix = f"_{counter}"
        name = base[: MAX_NAME - len(suffix)] + suffix
    taken.add(name)
    return name
