"""Scrub API-key-shaped strings from text before it reaches disk.

Defence in depth: keys should never get into history at all, but a user may paste one into a
prompt or a tool may print one. The patterns need a non-token character (or the start) before
them, so a key-like run inside base64 or a longer identifier is left alone.
"""

from __future__ import annotations

import re

_BEFORE = r"(?<![A-Za-z0-9_\-+/])"
_PATTERN = re.compile(
    "|".join(
        (
            _BEFORE + r"(?P<or>sk-or-)[A-Za-z0-9_\-]{16,}",
            _BEFORE + r"(?P<sk>sk-)[A-Za-z0-9_\-]{20,}",
            _BEFORE + r"(?P<aiza>AIza)[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])",
            r"\b(?P<bearer>Bearer\s+)[A-Za-z0-9_\-.~+/]{8,}=*",
        )
    )
)
REDACTED = "[REDACTED]"


def _replace(match: re.Match[str]) -> str:
    prefix = match.group("or") or match.group("sk") or match.group("aiza") or match.group("bearer")
    return f"{prefix}{REDACTED}"


def redact(text: str) -> str:
    """Return ``text`` with anything shaped like an API key or bearer token replaced."""
    if "sk-" not in text and "AIza" not in text and "Bearer" not in text:
        return text  # the common case, without running the regex
    return _PATTERN.sub(_replace, text)
